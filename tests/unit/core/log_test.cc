// The logger: exact text lines, JSON lines with ts/level/msg, levels, whole lines from threads.
#include "core/log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace robotni::log {
namespace {

using nlohmann::json;

// Captures what the logger writes, restoring stderr and the defaults afterwards.
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out_ = tmpfile();
    ASSERT_NE(out_, nullptr);
    SetOutput(out_);
  }
  void TearDown() override {
    SetOutput(nullptr);
    SetFormat(Format::kText);
    SetLevel(Level::kInfo);
    fclose(out_);
  }
  std::vector<std::string> Lines() {
    fflush(out_);
    rewind(out_);
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), out_)) > 0) text.append(buf, n);
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    EXPECT_TRUE(text.empty() || text.back() == '\n');
    return lines;
  }
  FILE* out_ = nullptr;
};

TEST_F(LogTest, TextLinesAreTheHumanMessages) {
  EXPECT_EQ(FormatLine(Format::kText, Level::kInfo, "serving on http://127.0.0.1:1 (x)",
                       {{"port", 1}}, 0),
            "robotni: serving on http://127.0.0.1:1 (x)");
  EXPECT_EQ(FormatLine(Format::kText, Level::kWarn, "--no-auth: no tokens", nullptr, 0),
            "robotni: warning: --no-auth: no tokens");
  EXPECT_EQ(FormatLine(Format::kText, Level::kError, "cannot open", nullptr, 0),
            "robotni: cannot open");
}

TEST_F(LogTest, JsonLinesHaveTsLevelMsgThenFields) {
  std::string line =
      FormatLine(Format::kJson, Level::kWarn, "reload failed",
                 {{"event", "reload_failed"}, {"msg", "shadow"}, {"n", 3}}, 1767323045678);
  EXPECT_EQ(
      line.rfind(R"({"ts":"2026-01-02T03:04:05.678Z","level":"warn","msg":"reload failed")", 0), 0u)
      << line;
  json j = json::parse(line);
  EXPECT_EQ(j["event"], "reload_failed");
  EXPECT_EQ(j["msg_"], "shadow");  // a field cannot replace msg
  EXPECT_EQ(j["n"], 3);
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST_F(LogTest, JsonSurvivesNewlinesAndInvalidUtf8) {
  std::string line =
      FormatLine(Format::kJson, Level::kError, "a\nb \xff\xfe", {{"path", "/x/\xc3"}}, 1);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  json j = json::parse(line, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << line;
  EXPECT_EQ(j["level"], "error");
}

TEST_F(LogTest, LevelFiltersAndParsing) {
  Level l;
  Format f;
  EXPECT_TRUE(ParseLevel("warning", &l));
  EXPECT_EQ(l, Level::kWarn);
  EXPECT_FALSE(ParseLevel("loud", &l));
  EXPECT_TRUE(ParseFormat("json", &f));
  EXPECT_FALSE(ParseFormat("xml", &f));
  SetLevel(Level::kWarn);
  Info("dropped");
  Warn("kept");
  Debug("dropped too");
  SetLevel(Level::kDebug);
  Debug("now kept");
  EXPECT_EQ(Lines(), (std::vector<std::string>{"robotni: warning: kept", "robotni: now kept"}));
}

// Write is called from C callbacks and catch handlers: a sink that throws loses its line and
// nothing else.
TEST_F(LogTest, ThrowingSinkDropsTheLineWithoutThrowing) {
  int calls = 0;
  SetSink([&](Level, std::string_view) {
    ++calls;
    throw std::runtime_error("host sink failed");
  });
  EXPECT_NO_THROW(Error("lost"));
  EXPECT_EQ(calls, 1);
  SetSink({});
  Error("kept");
  EXPECT_EQ(Lines(), (std::vector<std::string>{"robotni: kept"}));
}

// A host's sink (RuntimeOptions::log) gets each line whole, without '\n', with its level, in
// the format set; the FILE output gets nothing meanwhile.
TEST_F(LogTest, HostSinkGetsWholeLinesWithTheirLevel) {
  std::vector<std::pair<Level, std::string>> got;
  SetSink([&](Level level, std::string_view line) { got.emplace_back(level, line); });
  Warn("disk low");
  SetFormat(Format::kJson);
  Error("failed", {{"ts", "field"}, {"level", 1}, {"job", "j1"}});
  SetSink({});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(Level::kWarn, std::string("robotni: warning: disk low")));
  EXPECT_EQ(got[1].first, Level::kError);
  EXPECT_EQ(got[1].second.find('\n'), std::string::npos);
  json j = json::parse(got[1].second);
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["msg"], "failed");
  EXPECT_EQ(j["ts_"], "field");  // fields cannot replace ts or level
  EXPECT_EQ(j["level_"], 1);
  EXPECT_EQ(j["job"], "j1");
  EXPECT_EQ(got[1].second.rfind(R"({"ts":")", 0), 0u) << got[1].second;
  EXPECT_TRUE(Lines().empty());
}

TEST_F(LogTest, ThreadsWriteWholeJsonLines) {
  SetFormat(Format::kJson);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < 200; ++i)
        Info("job finished " + std::string(100, 'x'), {{"thread", t}, {"i", i}});
    });
  for (auto& t : threads) t.join();
  auto lines = Lines();
  ASSERT_EQ(lines.size(), 800u);
  std::regex ts(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$)");
  for (const auto& line : lines) {
    json j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_TRUE(std::regex_match(j["ts"].get<std::string>(), ts)) << line;
    EXPECT_EQ(j["level"], "info");
  }
}

// A Batch keeps its thread's lines until it ends, then writes them whole and in order; the
// lines of other threads meanwhile are written at once.
TEST_F(LogTest, ABatchWritesItsThreadsLinesWhenItEnds) {
  {
    Batch batch;
    Info("first");
    {
      Batch nested;  // adds to the outer one
      Warn("second");
    }
    std::thread([] { Info("from another thread"); }).join();
    EXPECT_EQ(Lines(), std::vector<std::string>{"robotni: from another thread"});
  }
  EXPECT_EQ(Lines(), (std::vector<std::string>{"robotni: from another thread", "robotni: first",
                                               "robotni: warning: second"}));
  Info("after");
  EXPECT_EQ(Lines().back(), "robotni: after");
}

}  // namespace
}  // namespace robotni::log
