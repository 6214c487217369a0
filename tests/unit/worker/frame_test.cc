// The worker protocol's framing, and how a worker's death is named.
#include "worker/frame.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include "worker/worker_process.h"

namespace robotni::worker {
namespace {

using nlohmann::json;

TEST(FrameTest, RoundTripsWhateverWayTheBytesArrive) {
  std::string a = EncodeFrame({{"t", "run"}, {"payload", "{\"x\":1}"}});
  std::string b = EncodeFrame({{"t", "done"}, {"log", std::string(100000, 'x')}});
  std::string stream = a + b;
  for (size_t step : {size_t{1}, size_t{7}, stream.size()}) {
    FrameReader reader;
    std::vector<json> got;
    for (size_t off = 0; off < stream.size(); off += step) {
      reader.Feed(stream.data() + off, std::min(step, stream.size() - off));
      for (;;) {
        json m;
        bool ok = false;
        ASSERT_TRUE(reader.Next(&m, &ok).ok());
        if (!ok) break;
        got.push_back(m);
      }
    }
    ASSERT_EQ(got.size(), 2u) << "step " << step;
    EXPECT_EQ(got[0]["t"], "run");
    EXPECT_EQ(got[1]["log"].get<std::string>().size(), 100000u);
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(FrameTest, InvalidUtf8InCapturedOutputIsReplacedNotThrown) {
  std::string frame = EncodeFrame({{"t", "done"}, {"log", std::string("ok \xff\xfe end")}});
  FrameReader reader;
  reader.Feed(frame.data(), frame.size());
  json m;
  bool got = false;
  ASSERT_TRUE(reader.Next(&m, &got).ok());
  ASSERT_TRUE(got);
  EXPECT_NE(m["log"].get<std::string>().find("end"), std::string::npos);
}

TEST(FrameTest, MalformedFramesAreErrorsNotCrashes) {
  auto next = [](const std::string& bytes) {
    FrameReader reader;
    reader.Feed(bytes.data(), bytes.size());
    json m;
    bool got = false;
    return reader.Next(&m, &got);
  };
  EXPECT_TRUE(next(std::string("\xff\xff\xff\x7f", 4)).IsInvalidArgument());  // 2 GiB length
  std::string not_json = "{nope";
  std::string len(4, '\0');
  len[0] = static_cast<char>(not_json.size());
  EXPECT_TRUE(next(len + not_json).IsInvalidArgument());
  std::string no_type = "[1,2]";
  len[0] = static_cast<char>(no_type.size());
  EXPECT_TRUE(next(len + no_type).IsInvalidArgument());
}

// A frame nested past the JSON depth limit is refused before anything copies it (a copy
// recurses once per level: 70,000 levels overflow a stack).
TEST(FrameTest, FrameNestedPastTheLimitIsRefused) {
  std::string body =
      R"({"t":"outcome","v":)" + std::string(70000, '[') + std::string(70000, ']') + "}";
  std::string len(4, '\0');
  for (int i = 0; i < 4; ++i) len[i] = static_cast<char>((body.size() >> (8 * i)) & 0xff);
  FrameReader reader;
  std::string bytes = len + body;
  reader.Feed(bytes.data(), bytes.size());
  json m;
  bool got = false;
  Status s = reader.Next(&m, &got);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("nested deeper than 128 levels"), std::string::npos) << s.message();
  EXPECT_FALSE(got);
}

TEST(FrameTest, ReadFrameSaysWhenThePeerClosedOrWasSilent) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_TRUE(WriteFrame(sv[1], {{"t", "hello"}}).ok());
  FrameReader reader;
  json m;
  ASSERT_TRUE(ReadFrame(sv[0], &reader, &m, std::chrono::milliseconds(1000)).ok());
  EXPECT_EQ(m["t"], "hello");
  EXPECT_EQ(ReadFrame(sv[0], &reader, &m, std::chrono::milliseconds(50)).code(),
            Status::Code::kTimeout);
  close(sv[1]);
  EXPECT_EQ(ReadFrame(sv[0], &reader, &m).code(), Status::Code::kCancelled);
  // Writing to a closed peer is an error, never a SIGPIPE that ends the process.
  EXPECT_FALSE(WriteFrame(sv[0], {{"t", "run"}}).ok());
  close(sv[0]);
}

TEST(DescribeExitTest, NamesSignalsAndExitCodes) {
  auto status_of = [](auto body) {
    pid_t pid = fork();  // no Python in this process: a plain fork is fine here
    if (pid == 0) {
      body();
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
  };
  EXPECT_EQ(DescribeExit(status_of([] { _exit(3); })), "exit code 3");
  // (SIGSEGV itself is left to the integration test: a sanitizer would catch it here.)
  EXPECT_EQ(DescribeExit(status_of([] { raise(SIGTERM); })), "signal 15 (SIGTERM)");
  EXPECT_EQ(DescribeExit(status_of([] { raise(SIGKILL); })), "signal 9 (SIGKILL)");
}

}  // namespace
}  // namespace robotni::worker
