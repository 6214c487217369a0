// The C API: codes, error ownership, JSON in and out, callbacks and their state.
#include "robotni/robotni.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;

class CApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("robotni-capi-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "robot.yaml")
        << "tasks:\n  Hello:\n    shell: python -c \"print('hi from C')\"\n"
           "  Fails:\n    shell: python -c \"raise SystemExit(4)\"\nartifactsDir: output\n";
  }
  void TearDown() override {
    std::error_code ec;
    fs::current_path(fs::temp_directory_path(), ec);
    fs::remove_all(dir_, ec);
  }
  std::string Options(const std::string& extra = "") const {
    return "{\"robot\": \"" + (dir_ / "robot.yaml").string() + "\", \"store\": \"" +
           (dir_ / "w.db").string() + "\", \"log_level\": \"error\"" + extra + "}";
  }
  robotni_runtime_t* Open() {
    char* err = nullptr;
    robotni_runtime_t* rt = nullptr;
    EXPECT_EQ(robotni_runtime_open(Options().c_str(), &rt, &err), ROBOTNI_OK) << (err ? err : "");
    robotni_free(err);
    return rt;
  }
  fs::path dir_;
};

TEST_F(CApiTest, ErrorsComeBackAsCodesAndOwnedMessages) {
  char* err = nullptr;
  robotni_runtime_t* rt = reinterpret_cast<robotni_runtime_t*>(0x1);
  EXPECT_EQ(robotni_runtime_open("{not json", &rt, &err), ROBOTNI_INVALID_ARGUMENT);
  EXPECT_EQ(rt, nullptr);
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string(err).find("JSON object"), std::string::npos) << err;
  EXPECT_STREQ(robotni_last_error(), err);
  // The same errptr is reused: the earlier message is freed by the next failure.
  EXPECT_EQ(robotni_runtime_open((Options(", \"isolation\": \"bogus\"")).c_str(), &rt, &err),
            ROBOTNI_INVALID_ARGUMENT);
  EXPECT_NE(std::string(err).find("bogus"), std::string::npos) << err;
  EXPECT_EQ(robotni_runtime_open("{\"concurrency\": \"two\"}", &rt, &err),
            ROBOTNI_INVALID_ARGUMENT);
  robotni_free(err);
  EXPECT_EQ(robotni_runtime_open(nullptr, nullptr, nullptr), ROBOTNI_INVALID_ARGUMENT);
  robotni_runtime_close(nullptr);
  EXPECT_STREQ(robotni_version(), ROBOTNI_TEST_VERSION);
}

TEST_F(CApiTest, RunsATaskAndReportsItsExitCode) {
  robotni_runtime_t* rt = Open();
  ASSERT_NE(rt, nullptr);
  int code = -1;
  char* out = nullptr;
  char* err = nullptr;
  ASSERT_EQ(robotni_run_task(rt, "Hello", "{\"X\": \"1\"}", &code, &out, &err), ROBOTNI_OK);
  EXPECT_EQ(code, 0);
  EXPECT_NE(std::string(out).find("hi from C"), std::string::npos) << out;
  robotni_free(out);
  ASSERT_EQ(robotni_run_task(rt, "Fails", nullptr, &code, nullptr, &err), ROBOTNI_OK);
  EXPECT_EQ(code, 10);
  ASSERT_EQ(robotni_run_task(rt, "Nope", nullptr, &code, nullptr, &err), ROBOTNI_OK);
  EXPECT_EQ(code, 3);
  EXPECT_EQ(robotni_run_task(rt, "Hello", "[1]", &code, nullptr, &err), ROBOTNI_INVALID_ARGUMENT);
  robotni_free(err);
  robotni_runtime_close(rt);
}

struct Counter {
  std::atomic<int> calls{0};
  std::atomic<int> destroyed{0};
};

robotni_code Echo(void* state, robotni_job_t* job, const char* payload, char** result,
                  char** error) {
  auto* c = static_cast<Counter*>(state);
  ++c->calls;
  if (std::strstr(payload, "\"fail\"")) {
    *error = strdup("refused by C");
    return ROBOTNI_INVALID_ARGUMENT;
  }
  EXPECT_GE(robotni_job_attempt(job), 1);
  EXPECT_EQ(robotni_job_progress(job, "echoing"), ROBOTNI_OK);
  std::string r = "{\"id\": \"" + std::string(robotni_job_id(job)) + "\", \"in\": " + payload + "}";
  *result = strdup(r.c_str());
  return ROBOTNI_OK;
}

TEST_F(CApiTest, CJobTypesRunWithTheirStateAndItsDestructor) {
  static Counter counter;
  robotni_runtime_t* rt = Open();
  ASSERT_NE(rt, nullptr);
  char* err = nullptr;
  ASSERT_EQ(robotni_register_job_type(
                rt, "c.echo", Echo, &counter,
                [](void* s) { ++static_cast<Counter*>(s)->destroyed; }, nullptr, &err),
            ROBOTNI_OK);
  char* id = nullptr;
  ASSERT_EQ(robotni_enqueue(rt, "c.echo", "{\"n\": 7}", "{\"priority\": 3}", &id, &err),
            ROBOTNI_OK);
  char* item = nullptr;
  ASSERT_EQ(robotni_wait(rt, id, 30, &item, &err), ROBOTNI_OK) << (err ? err : "");
  std::string json = item;
  EXPECT_NE(json.find("\"state\":\"DONE\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"in\":{\"n\":7}"), std::string::npos) << json;
  EXPECT_NE(json.find("echoing"), std::string::npos) << json;  // the progress, on the timeline
  robotni_free(item);
  robotni_free(id);

  ASSERT_EQ(robotni_enqueue(rt, "c.echo", "\"fail\"", nullptr, &id, &err), ROBOTNI_OK);
  ASSERT_EQ(robotni_wait(rt, id, 30, &item, &err), ROBOTNI_OK);
  EXPECT_NE(std::string(item).find("refused by C"), std::string::npos) << item;
  EXPECT_NE(std::string(item).find("BUSINESS"), std::string::npos) << item;
  robotni_free(item);
  robotni_free(id);

  EXPECT_EQ(robotni_item_get(rt, "424242", &item, &err), ROBOTNI_NOT_FOUND);
  ASSERT_EQ(robotni_enqueue(rt, "nobody", "{}", nullptr, &id, &err), ROBOTNI_OK);
  EXPECT_EQ(robotni_wait(rt, id, 0.05, &item, &err), ROBOTNI_TIMEOUT);
  EXPECT_NE(std::string(item).find("PENDING"), std::string::npos);
  EXPECT_EQ(robotni_cancel(rt, id, &err), ROBOTNI_OK);
  robotni_free(item);
  robotni_free(id);
  robotni_free(err);
  EXPECT_EQ(counter.calls.load(), 2);
  EXPECT_EQ(counter.destroyed.load(), 0);
  robotni_runtime_close(rt);
  EXPECT_EQ(counter.destroyed.load(), 1);
}

TEST_F(CApiTest, ServeStartsOnAPortAndStops) {
  robotni_runtime_t* rt = Open();
  ASSERT_NE(rt, nullptr);
  char* addr = nullptr;
  char* err = nullptr;
  ASSERT_EQ(robotni_serve_start(rt, "{\"no_auth\": true, \"grace\": 1}", &addr, &err), ROBOTNI_OK)
      << (err ? err : "");
  EXPECT_EQ(std::string(addr).rfind("127.0.0.1:", 0), 0u) << addr;
  EXPECT_EQ(robotni_serve_start(rt, nullptr, nullptr, &err), ROBOTNI_BUSY);
  EXPECT_EQ(robotni_serve_stop(rt, &err), ROBOTNI_OK);
  EXPECT_EQ(robotni_serve_start(rt, "{\"listen\": \"nonsense\"}", nullptr, &err),
            ROBOTNI_INVALID_ARGUMENT);
  robotni_free(err);
  robotni_free(addr);
  robotni_runtime_close(rt);
}

}  // namespace
