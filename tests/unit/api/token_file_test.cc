// ReadTokenFile / WriteTokenFile on real files: what makes a token file untrustworthy, and that
// a new one is never written through a link.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "api/auth.h"

namespace robotni::api {
namespace {

namespace fs = std::filesystem;

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/robotni_token_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Write(const std::string& name, const std::string& text, mode_t mode) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    chmod(p.c_str(), mode);
    return p;
  }
  std::string dir_;
};

TEST_F(TokenFileTest, ReadsAPrivateRegularFile) {
  auto text = ReadTokenFile(Write("ok", "write:abc\n", 0600));
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, "write:abc\n");
  EXPECT_TRUE(ReadTokenFile(Write("readable", "abc\n", 0644)).ok()) << "readable is fine";
  EXPECT_TRUE(ReadTokenFile(dir_ + "/absent").status().IsNotFound());
}

TEST_F(TokenFileTest, RefusesWhatOthersCanWriteOrRedirect) {
  auto msg = [](const StatusOr<std::string>& r) { return r.ok() ? "" : r.status().message(); };
  EXPECT_NE(msg(ReadTokenFile(Write("world", "abc\n", 0602))).find("writable by everyone"),
            std::string::npos);
  EXPECT_NE(msg(ReadTokenFile(Write("group", "abc\n", 0620))).find("writable by its group"),
            std::string::npos);
  std::string target = Write("target", "12.11\n", 0600);
  fs::create_symlink(target, dir_ + "/link");
  EXPECT_NE(msg(ReadTokenFile(dir_ + "/link")).find("is a symbolic link"), std::string::npos);
  ASSERT_EQ(mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
  EXPECT_NE(msg(ReadTokenFile(dir_ + "/fifo")).find("is not a regular file"), std::string::npos);
  EXPECT_NE(msg(ReadTokenFile(dir_)).find("is not a regular file"), std::string::npos);
  std::string big = Write("big", std::string((1 << 20) + 1, 'a'), 0600);
  EXPECT_NE(msg(ReadTokenFile(big)).find("larger than 1 MiB"), std::string::npos);
  if (geteuid() == 0) {
    std::string theirs = Write("theirs", "abc\n", 0600);
    ASSERT_EQ(chown(theirs.c_str(), 65534, 65534), 0);
    EXPECT_NE(msg(ReadTokenFile(theirs)).find("not by this user"), std::string::npos);
  }
}

TEST_F(TokenFileTest, WriteNeverFollowsOrReplaces) {
  std::string absent = dir_ + "/absent";
  std::string link = dir_ + "/api-token";
  fs::create_symlink(absent, link);
  EXPECT_FALSE(WriteTokenFile(link, "secret").ok());
  EXPECT_FALSE(fs::exists(absent)) << "written through a dangling link";

  std::string existing = Write("existing", "old\n", 0600);
  EXPECT_FALSE(WriteTokenFile(existing, "new").ok());
  auto text = ReadTokenFile(existing);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "old\n");
}

TEST_F(TokenFileTest, NewFileIs0600WhateverTheUmask) {
  mode_t old = umask(0);
  Status s = WriteTokenFile(dir_ + "/new", "secret");
  umask(old);
  ASSERT_TRUE(s.ok()) << s.ToString();
  struct stat st {};
  ASSERT_EQ(lstat((dir_ + "/new").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(*ReadTokenFile(dir_ + "/new"), "secret\n");
}

}  // namespace
}  // namespace robotni::api
