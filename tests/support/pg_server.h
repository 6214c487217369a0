#ifndef ROBOTNI_TESTS_SUPPORT_PG_SERVER_H_
#define ROBOTNI_TESTS_SUPPORT_PG_SERVER_H_

// A throwaway PostgreSQL 15 server for tests: initdb into a fresh directory, postgres on
// 127.0.0.1 and a free port, fsync off, trust authentication for the user "robotni", one
// database "robotni_test". One server serves a whole ctest run: the fixture tests
// pg_server_start / pg_server_stop (tests/support/pg_server_main.cc) start and stop it and
// leave its URL in a state file named by ROBOTNI_TEST_PG_STATE; each test uses a schema of
// its own (PgTestUrl), so tests run in parallel.
//
// initdb and postgres refuse to run as root: as root, the server runs as the `postgres`
// system user (Debian's postgresql-15 package creates it) through setpriv, and its data
// directory is owned by that user.

#include <sys/types.h>

#include <string>

namespace robotni::testing {

struct PgServer {
  std::string url;  // postgresql://robotni@127.0.0.1:PORT/robotni_test
  std::string dir;  // the throwaway directory (data/, server.log)
  pid_t pid = 0;    // the postmaster
};

// The directory of initdb and postgres: $ROBOTNI_PG_BINDIR, else the first
// /usr/lib/postgresql/<version>/bin with both (15 preferred). "" when there is none.
std::string FindPgBinDir();

// Starts a server in a new directory under `parent_dir` (which the server's user must be
// able to traverse) and waits until it accepts connections. false with
// *error set (naming what is missing, e.g. the binaries) on failure; nothing is left running.
bool StartPgServer(const std::string& parent_dir, PgServer* server, std::string* error);
// True when the server's postmaster still runs (its pid, for its directory) and answers.
bool PgServerAlive(const PgServer& server);
// Stops the server by pid (fast shutdown, SIGKILL after 30 s) and removes its directory.
bool StopPgServer(const PgServer& server, std::string* error);

// The state file: url, pid and dir, one a line.
bool WritePgState(const std::string& path, const PgServer& server, std::string* error);
bool ReadPgState(const std::string& path, PgServer* server, std::string* error);

// A URL of the fixture's server (ROBOTNI_TEST_PG_STATE) whose search_path is a schema
// unique to this process and call ("t<pid>_<n>_<tag>"); the store creates it. false with
// *error saying why (no fixture server, no state file) otherwise.
bool PgTestUrl(const std::string& tag, std::string* url, std::string* error);
// Drops the schema of a PgTestUrl URL (its search_path), with everything in it, so a long
// ctest run leaves the server small. Quietly nothing when the URL names none or the server
// does not answer.
void DropPgTestSchema(const std::string& url);

}  // namespace robotni::testing

#endif  // ROBOTNI_TESTS_SUPPORT_PG_SERVER_H_
