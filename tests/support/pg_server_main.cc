// robotni_pg_server start|stop STATE_FILE: the ctest fixture around the PostgreSQL tests
// (tests/support/pg_server.h). start writes the server's URL, pid and directory to
// STATE_FILE (or reuses the server it names when that still runs); stop reads them, stops that
// server by pid and removes its directory.
#include <cstdio>
#include <filesystem>
#include <string>

#include "tests/support/pg_server.h"

int main(int argc, char** argv) {
  using namespace robotni::testing;
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s start|stop STATE_FILE\n", argv[0]);
    return 2;
  }
  const std::string cmd = argv[1], state = argv[2];
  std::string error;
  if (cmd == "start") {
    PgServer server;
    // A server of this state file that still runs (ctest --repeat runs the fixture's start
    // again before the tests) serves on; a stale one is stopped and replaced.
    if (ReadPgState(state, &server, &error)) {
      if (PgServerAlive(server)) {
        std::printf("PostgreSQL test server %s (pid %d) is running: reused\n", server.url.c_str(),
                    static_cast<int>(server.pid));
        return 0;
      }
      StopPgServer(server, &error);
    }
    server = PgServer();
    std::error_code ec;
    std::filesystem::remove(state, ec);
    std::filesystem::create_directories(std::filesystem::path(state).parent_path(), ec);
    // The data directory goes to the temp directory: the server runs as another user
    // (when we are root), who may not reach a build tree under a private directory.
    const std::string parent = std::filesystem::temp_directory_path().string();
    if (!StartPgServer(parent, &server, &error) || !WritePgState(state, server, &error)) {
      std::fprintf(stderr, "pg_server_start: FAILED: %s\n", error.c_str());
      return 1;
    }
    std::printf("PostgreSQL test server %s (pid %d, %s)\n", server.url.c_str(),
                static_cast<int>(server.pid), server.dir.c_str());
    return 0;
  }
  if (cmd == "stop") {
    PgServer server;
    if (!ReadPgState(state, &server, &error)) {
      std::fprintf(stderr, "pg_server_stop: nothing to stop: %s\n", error.c_str());
      return 0;  // the start failed and said so
    }
    if (!StopPgServer(server, &error)) {
      std::fprintf(stderr, "pg_server_stop: FAILED: %s\n", error.c_str());
      return 1;
    }
    std::filesystem::remove(state);
    std::printf("stopped PostgreSQL test server pid %d\n", static_cast<int>(server.pid));
    return 0;
  }
  std::fprintf(stderr, "unknown command %s\n", cmd.c_str());
  return 2;
}
