// The API token file of `robotni serve` (--token-file, or the api-token it creates next to the
// store): read only when it is a regular file of this user that nobody else can write, never
// through a symbolic link, and created 0600 without following one. serve refuses to start and
// says why.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

class ServeTokenFileTest : public ::testing::Test {
 protected:
  // --store makes the database file, not its directory: the store's directory is the user's.
  void SetUp() override { fs::create_directories(data()); }
  std::string db() const { return (dir_.path() / "data" / "wi.db").string(); }
  fs::path data() const { return dir_.path() / "data"; }
  fs::path Write(const std::string& name, const std::string& text, mode_t mode) {
    fs::path p = dir_.path() / name;
    std::ofstream(p) << text;
    chmod(p.c_str(), mode);
    return p;
  }
  // serve with `extra` flags; these all refuse to start, so it exits by itself.
  RunResult Serve(std::vector<std::string> extra) {
    return RunRobotni(ServeExampleArgs(db(), std::move(extra)));
  }
  static std::string ReadAll(const fs::path& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  TempDir dir_;
};

TEST_F(ServeTokenFileTest, WritableByOthersIsRefused) {
  fs::path world = Write("world.tokens", "write:abc123\n", 0666);
  RunResult r = Serve({"--token-file", world.string()});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find("is writable by everyone (mode 0666)"), std::string::npos) << r;

  fs::path group = Write("group.tokens", "write:abc123\n", 0620);
  r = Serve({"--token-file", group.string()});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find("is writable by its group (mode 0620)"), std::string::npos) << r;
}

TEST_F(ServeTokenFileTest, SymbolicLinkIsRefusedNotFollowed) {
  // The case from the issue: a link to /etc/debian_version made its text a valid token.
  fs::path target = Write("target.tokens", "12.11\n", 0600);
  fs::path link = dir_.path() / "link.tokens";
  fs::create_symlink(target, link);
  RunResult r = Serve({"--token-file", link.string()});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find("is a symbolic link"), std::string::npos) << r;
}

TEST_F(ServeTokenFileTest, FifoAndDirectoryAreRefused) {
  fs::path fifo = dir_.path() / "fifo.tokens";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  RunResult r = Serve({"--token-file", fifo.string()});
  EXPECT_FALSE(r.timed_out) << "opening a FIFO must not wait for a writer";
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find("is not a regular file"), std::string::npos) << r;

  r = Serve({"--token-file", dir_.path().string()});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find("is not a regular file"), std::string::npos) << r;
}

TEST_F(ServeTokenFileTest, FileOfAnotherUserIsRefused) {
  fs::path other;
  if (geteuid() == 0) {
    other = Write("nobody.tokens", "write:abc123\n", 0600);
    ASSERT_EQ(chown(other.c_str(), 65534, 65534), 0);
  } else {
    other = "/etc/passwd";  // root's, 0644: not this user's
  }
  RunResult r = Serve({"--token-file", other.string()});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find("not by this user"), std::string::npos) << r;
}

TEST_F(ServeTokenFileTest, CreatedTokenFileIsNotFollowedOrReusedWhenUnsafe) {
  fs::create_directories(data());
  fs::path token = data() / "api-token";

  // A link planted where serve keeps its token: neither read through nor written through.
  fs::path target = Write("victim", "12.11\n", 0600);
  fs::create_symlink(target, token);
  RunResult r = Serve({});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find("is a symbolic link"), std::string::npos) << r;
  EXPECT_EQ(ReadAll(target), "12.11\n");

  // A dangling link: serve must not create its target.
  fs::remove(token);
  fs::path absent = dir_.path() / "absent";
  fs::create_symlink(absent, token);
  r = Serve({});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_FALSE(fs::exists(absent)) << "the token was written through the link";

  // A world-writable token file is not reused.
  fs::remove(token);
  std::ofstream(token) << "0123456789abcdef0123456789abcdef\n";
  chmod(token.c_str(), 0666);
  r = Serve({});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find("is writable by everyone"), std::string::npos) << r;
}

TEST_F(ServeTokenFileTest, NewTokenIs256RandomBitsIn0600FileWhateverTheUmask) {
  mode_t old = umask(0);  // serve inherits it
  Process server(ServeExampleArgs(db(), {"--isolation", "subinterpreter"}), RunOptions{});
  umask(old);
  ASSERT_TRUE(server.WaitForOutput("serving on", 30)) << server.output();
  // An answer means the loop runs, with its SIGTERM handler installed.
  EXPECT_EQ(SendHttp(ServingPort(server), "GET", "/healthz").status, 200);
  server.Kill(SIGTERM);
  RunResult r = server.Wait();
  EXPECT_EQ(r.exit_code, 0) << r;
  fs::path token = data() / "api-token";
  struct stat st {};
  ASSERT_EQ(lstat(token.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  std::string text = ReadAll(token);
  ASSERT_EQ(text.size(), 65u) << text;  // 64 hex digits (256 bits) and a newline
  EXPECT_EQ(text.find_first_not_of("0123456789abcdef"), 64u) << text;
}

}  // namespace
}  // namespace robotni::testing
