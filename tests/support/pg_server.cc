#include "tests/support/pg_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace robotni::testing {
namespace {

namespace fs = std::filesystem;

bool Executable(const std::string& p) { return ::access(p.c_str(), X_OK) == 0; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// The user the server runs as: ourselves, or `postgres` when we are root (initdb and
// postgres refuse root). uid 0 = no switch.
struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
};

bool PickUser(RunAs* as, std::string* error) {
  if (::geteuid() != 0) return true;
  passwd* pw = ::getpwnam("postgres");
  if (!pw) {
    *error =
        "running as root, and there is no `postgres` user to run the PostgreSQL test server "
        "as (postgres refuses root): install postgresql-15 (scripts/setup.sh --test)";
    return false;
  }
  as->uid = pw->pw_uid;
  as->gid = pw->pw_gid;
  return true;
}

// fork + exec argv as `as`, stdin from /dev/null, stdout and stderr to `log`, in a session
// of its own (so a ctest run does not wait for the server's output). Returns the pid.
pid_t Spawn(const std::vector<std::string>& argv, const RunAs& as, const std::string& log) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::setsid();
  int in = ::open("/dev/null", O_RDONLY);
  int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (in < 0 || out < 0) _exit(126);
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(out, 2);
  for (int fd = 3; fd < 1024; ++fd) ::close(fd);
  if (as.uid != 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(as.gid) != 0 || ::setuid(as.uid) != 0) _exit(125);
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  _exit(127);
}

bool Run(const std::vector<std::string>& argv, const RunAs& as, const std::string& log,
         std::string* error) {
  pid_t pid = Spawn(argv, as, log);
  int st = 0;
  if (pid < 0 || ::waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    *error = argv[0] + " failed (status " + std::to_string(st) + "): " + ReadFile(log);
    return false;
  }
  return true;
}

bool Alive(pid_t pid) {
  int st = 0;
  if (::waitpid(pid, &st, WNOHANG) == pid) return false;  // our child, and it exited
  return ::kill(pid, 0) == 0 || errno != ESRCH;
}

}  // namespace

std::string FindPgBinDir() {
  std::vector<std::string> dirs = {"/usr/lib/postgresql/15/bin"};
  if (const char* env = std::getenv("ROBOTNI_PG_BINDIR"); env && *env) dirs = {env};
  std::error_code ec;
  if (dirs.size() == 1 && !std::getenv("ROBOTNI_PG_BINDIR")) {
    for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec))
      dirs.push_back(e.path().string() + "/bin");
  }
  for (const std::string& d : dirs) {
    if (Executable(d + "/initdb") && Executable(d + "/postgres")) return d;
  }
  return "";
}

bool StartPgServer(const std::string& parent_dir, PgServer* server, std::string* error) {
  const std::string bin = FindPgBinDir();
  if (bin.empty()) {
    *error =
        "PostgreSQL server binaries not found (initdb and postgres in "
        "/usr/lib/postgresql/<version>/bin, or in $ROBOTNI_PG_BINDIR when set): install "
        "postgresql-15 (scripts/setup.sh --test) or set ROBOTNI_PG_BINDIR";
    return false;
  }
  RunAs as;
  if (!PickUser(&as, error)) return false;
  std::error_code ec;
  fs::create_directories(parent_dir, ec);
  std::string tmpl = parent_dir + "/pgXXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    *error = "mkdtemp " + tmpl + ": " + std::strerror(errno);
    return false;
  }
  const std::string dir = tmpl;
  // The server's user owns its directory (the parents must let it through: the temp
  // directory, not a build tree under a private home).
  if (as.uid != 0 && ::chown(dir.c_str(), as.uid, as.gid) != 0) {
    *error = "chown " + dir + ": " + std::strerror(errno);
    return false;
  }
  const std::string data = dir + "/data", log = dir + "/server.log";
  if (!Run({bin + "/initdb", "-D", data, "-U", "robotni", "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync"},
           as, dir + "/initdb.log", error)) {
    fs::remove_all(dir, ec);
    return false;
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    const int port = FreeLoopbackPort();
    pid_t pid = Spawn(
        {bin + "/postgres", "-D", data, "-p", std::to_string(port), "-c",
         "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + dir, "-c", "fsync=off",
         "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300"},
        as, log);
    if (pid < 0) break;
    const std::string conninfo =
        "host=127.0.0.1 port=" + std::to_string(port) + " user=robotni dbname=postgres";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool ready = false;
    while (Alive(pid) && std::chrono::steady_clock::now() < deadline) {
      if (PQping(conninfo.c_str()) == PQPING_OK) {
        ready = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!ready) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      continue;  // most likely the port was taken meanwhile
    }
    PGconn* c = PQconnectdb(conninfo.c_str());
    PGresult* r = PQexec(c, "CREATE DATABASE robotni_test");
    const bool created = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!created) *error = std::string("CREATE DATABASE: ") + PQerrorMessage(c);
    PQclear(r);
    PQfinish(c);
    server->url = "postgresql://robotni@127.0.0.1:" + std::to_string(port) + "/robotni_test";
    server->dir = dir;
    server->pid = pid;
    if (!created) {
      StopPgServer(*server, error);
      return false;
    }
    return true;
  }
  *error = "postgres did not start: " + ReadFile(log);
  fs::remove_all(dir, ec);
  return false;
}

namespace {

// The pid is this directory's postmaster: a stale pid may have been reused.
bool IsOurPostmaster(const PgServer& server) {
  const std::string cmdline = ReadFile("/proc/" + std::to_string(server.pid) + "/cmdline");
  return server.pid > 0 && !server.dir.empty() && cmdline.find(server.dir) != std::string::npos;
}

}  // namespace

bool PgServerAlive(const PgServer& server) {
  return IsOurPostmaster(server) &&
         PQping((server.url + "?connect_timeout=5").c_str()) == PQPING_OK;
}

bool StopPgServer(const PgServer& server, std::string* error) {
  if (IsOurPostmaster(server)) {
    ::kill(server.pid, SIGINT);  // fast shutdown
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (Alive(server.pid) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (Alive(server.pid)) {
      ::kill(server.pid, SIGKILL);
      ::waitpid(server.pid, nullptr, 0);
    }
  }
  std::error_code ec;
  if (!server.dir.empty()) fs::remove_all(server.dir, ec);
  if (ec) {
    *error = "removing " + server.dir + ": " + ec.message();
    return false;
  }
  return true;
}

bool WritePgState(const std::string& path, const PgServer& server, std::string* error) {
  std::ofstream out(path, std::ios::trunc);
  out << server.url << "\n" << server.pid << "\n" << server.dir << "\n";
  out.close();
  if (!out) *error = "cannot write " + path;
  return static_cast<bool>(out);
}

bool ReadPgState(const std::string& path, PgServer* server, std::string* error) {
  std::ifstream in(path);
  std::string pid;
  if (!in || !std::getline(in, server->url) || !std::getline(in, pid) ||
      !std::getline(in, server->dir) || server->url.empty()) {
    *error = "no PostgreSQL test server: cannot read its state file " + path +
             " (the ctest fixture pg_server_start writes it; run the test through ctest, and "
             "see that test's output for why the server did not start)";
    return false;
  }
  server->pid = static_cast<pid_t>(std::atoll(pid.c_str()));
  return true;
}

bool PgTestUrl(const std::string& tag, std::string* url, std::string* error) {
  const char* state = std::getenv("ROBOTNI_TEST_PG_STATE");
  if (!state || !*state) {
    *error =
        "ROBOTNI_TEST_PG_STATE is not set: PostgreSQL tests run under ctest, whose fixture "
        "pg_server_start starts the server";
    return false;
  }
  PgServer s;
  if (!ReadPgState(state, &s, error)) return false;
  static std::atomic<int> counter{0};
  std::string schema = "t" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_";
  for (char c : tag) {
    if (schema.size() >= 60) break;
    schema += std::isalnum(static_cast<unsigned char>(c))
                  ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                  : '_';
  }
  *url = s.url + "?search_path=" + schema;
  return true;
}

void DropPgTestSchema(const std::string& url) {
  const size_t q = url.find("?search_path=");
  if (q == std::string::npos) return;
  const size_t at = q + 13;
  const std::string schema = url.substr(at, url.find('&', at) - at);
  PGconn* c = PQconnectdb(url.substr(0, q).c_str());
  if (PQstatus(c) == CONNECTION_OK) {
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    PQclear(PQexec(c, ("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE").c_str()));
  }
  PQfinish(c);
}

}  // namespace robotni::testing
