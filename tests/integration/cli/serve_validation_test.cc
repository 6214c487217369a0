// `robotni serve` checking job params against their type's JSON Schema (valijson, draft 7) and
// run_at strictly: a 400 that names the field and what was expected, before anything is stored.
// A real server on 127.0.0.1 over tests/fixtures/robots/jobs_validate, a real client.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class ServeValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::path robot = FixtureDir("jobs_validate");
    server_ = std::make_unique<Process>(
        std::vector<std::string>{"serve", "-r", (robot / "robot.yaml").string(), "--jobs",
                                 "jobs.py", "--listen", "127.0.0.1:0", "--store",
                                 (dir_.path() / "wi.db").string(), "--grace", "1", "--no-auth"},
        RunOptions{});
    ASSERT_TRUE(server_->WaitForOutput("serving on", 60)) << server_->output();
    port_ = ServingPort(*server_);
  }
  void TearDown() override {
    if (!server_) return;
    server_->Kill(SIGTERM);
    RunResult r = server_->Wait();
    EXPECT_EQ(r.exit_code, 0) << r;
  }
  // POSTs a job of `type` with `params` (JSON text) and `extra` body fields.
  HttpReply Submit(const std::string& type, const std::string& params,
                   const std::string& extra = "") {
    return SendHttp(port_, "POST", "/api/worker/jobs",
                    R"({"type":")" + type + R"(","params":)" + params + extra + "}");
  }
  // The 400's message, after checking the error's shape (the same as every 400's).
  std::string Refusal(const HttpReply& r) {
    EXPECT_EQ(r.status, 400) << r.raw;
    EXPECT_EQ(r.body["error"]["status"], 400) << r.raw;
    EXPECT_EQ(r.body["error"]["reason"], "Bad Request") << r.raw;
    return r.body["error"].value("message", "");
  }
  json Wait(const HttpReply& submitted) {
    EXPECT_EQ(submitted.status, 202) << submitted.raw;
    if (submitted.status != 202) return json();
    return SendHttp(port_, "GET",
                    "/api/worker/jobs/" + submitted.body["job_id"].get<std::string>() +
                        "/wait?timeout=30")
        .body;
  }

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Process> server_;
};

TEST_F(ServeValidationTest, ConformingParamsRun) {
  json done = Wait(Submit("order", R"({"qty":2,"color":"green","note":"ring twice",
                                        "deliver_at":"2030-01-31T13:45:00+02:00",
                                        "address":{"zip":"12345"}})"));
  EXPECT_EQ(done["status"], "done") << done.dump();
  EXPECT_EQ(done["result"], json({{"qty", 2}, {"color", "green"}, {"zip", "12345"}}));
  done = Wait(Submit("greet", R"({"name":"ann","times":2})"));
  EXPECT_EQ(done["result"], "hello ann hello ann") << done.dump();
  done = Wait(Submit("anything", R"({"b":1,"a":[2]})"));  // **kwargs: any params
  EXPECT_EQ(done["result"], json({"a", "b"})) << done.dump();
}

TEST_F(ServeValidationTest, AnEnumValueOutsideTheEnumIsRefused) {
  EXPECT_EQ(Refusal(Submit("order", R"({"qty":1,"color":"blue"})")),
            R"(params.color: expected one of "red", "green")");
  // An enum made from a Literal annotation (greet has no schema of its own).
  EXPECT_EQ(Refusal(Submit("greet", R"({"name":"ann","tone":"loud"})")),
            R"(params.tone: expected one of "warm", "dry")");
}

TEST_F(ServeValidationTest, AParamTheFunctionDoesNotTakeIsRefused) {
  // Was accepted, then failed three times as a retried TypeError.
  EXPECT_EQ(Refusal(Submit("order", R"({"qty":1,"colour":"red"})")),
            "params.colour: unknown field (known: address, color, deliver_at, note, qty)");
  EXPECT_EQ(Refusal(Submit("greet", R"({"name":"ann","loud":true})")),
            "params.loud: unknown field (known: name, times, tone)");
}

TEST_F(ServeValidationTest, AMissingRequiredParamIsRefused) {
  EXPECT_EQ(Refusal(Submit("order", "{}")), "params.qty: required");
  EXPECT_EQ(Refusal(Submit("greet", R"({"times":1})")), "params.name: required");
}

TEST_F(ServeValidationTest, AWrongTypeIsRefused) {
  EXPECT_EQ(Refusal(Submit("order", R"({"qty":"2"})")), "params.qty: expected integer");
  EXPECT_EQ(Refusal(Submit("order", R"({"qty":2.5})")), "params.qty: expected integer");
  EXPECT_EQ(Refusal(Submit("greet", R"({"name":5})")), "params.name: expected string");
  EXPECT_EQ(Refusal(Submit("order", "[1]")), "params: expected object");
}

TEST_F(ServeValidationTest, NumbersAndLengthsOutOfBoundsAreRefused) {
  EXPECT_EQ(Refusal(Submit("order", R"({"qty":0})")),
            "params.qty: expected an integer >= 1 and <= 100");
  EXPECT_EQ(Refusal(Submit("order", R"({"qty":101})")),
            "params.qty: expected an integer >= 1 and <= 100");
  EXPECT_EQ(Refusal(Submit("order", R"({"qty":1,"note":"more than ten"})")),
            "params.note: expected a string of at most 10 characters");
}

TEST_F(ServeValidationTest, ANestedFieldIsNamedByItsPath) {
  EXPECT_EQ(Refusal(Submit("order", R"({"qty":1,"address":{}})")), "params.address.zip: required");
  EXPECT_EQ(Refusal(Submit("order", R"({"qty":1,"address":{"zip":12345}})")),
            "params.address.zip: expected string");
  EXPECT_EQ(Refusal(Submit("order", R"({"qty":1,"address":{"zip":"1234"}})")),
            R"(params.address.zip: expected a string matching "^[0-9]{5}$")");
}

TEST_F(ServeValidationTest, ADateTimeFormatIsCheckedStrictly) {
  const std::string expected = "params.deliver_at: expected a date-time like 2030-01-31T13:45:00Z";
  for (const char* bad : {"2030-02-31T00:00:00Z", "2031-02-29T00:00:00Z", "2030-01-01T24:00:00Z",
                          "2030-01-01", "soon"})
    EXPECT_EQ(Refusal(Submit("order", std::string(R"({"qty":1,"deliver_at":")") + bad + "\"}")),
              expected)
        << bad;
}

TEST_F(ServeValidationTest, RunAtIsStrictAndTakesOffsets) {
  for (const char* bad : {"2030-02-31T00:00:00Z", "2031-02-29T00:00:00Z", "2030-01-01T24:00:00Z",
                          "2030-01-01T00:00:00+24:00", "2030-01-01T00:00:00"})
    EXPECT_THAT(
        Refusal(Submit("greet", R"({"name":"a"})", std::string(R"(,"run_at":")") + bad + "\"")),
        HasSubstr("run_at: expected an RFC 3339 date-time"))
        << bad;
  auto later = Submit("greet", R"({"name":"a"})", R"(,"run_at":"2030-01-02T05:04:05.250+02:00")");
  ASSERT_EQ(later.status, 202) << later.raw;
  auto job = SendHttp(port_, "GET", "/api/worker/jobs/" + later.body["job_id"].get<std::string>());
  EXPECT_EQ(job.body["timeline"]["timeScheduled"], "2030-01-02T03:04:05.250Z") << job.raw;
}

TEST_F(ServeValidationTest, ABatchNamesTheJobAndTheField) {
  auto r = SendHttp(port_, "POST", "/api/worker/jobs/batch",
                    R"({"jobs":[{"type":"order","params":{"qty":1}},
                                {"type":"order","params":{"qty":1,"address":{"zip":"x"}}}]})");
  EXPECT_EQ(Refusal(r), R"(jobs[1]: params.address.zip: expected a string matching "^[0-9]{5}$")");
  EXPECT_EQ(r.body["error"]["index"], 1);
}

TEST_F(ServeValidationTest, TheSchemasSayTheirDraft) {
  auto types = SendHttp(port_, "GET", "/api/worker/types");
  ASSERT_EQ(types.status, 200) << types.raw;
  std::map<std::string, json> by_name;
  for (const auto& t : types.body["types"]) by_name[t["type"]] = t;
  ASSERT_EQ(by_name.size(), 3u) << types.raw;
  json greet = by_name["greet"]["input_schema"];
  EXPECT_EQ(greet["$schema"], "http://json-schema.org/draft-07/schema#") << greet.dump();
  EXPECT_EQ(greet["additionalProperties"], false) << greet.dump();
  EXPECT_EQ(greet["required"], json({"name"})) << greet.dump();
  EXPECT_EQ(greet["properties"]["times"], json({{"type", "integer"}})) << greet.dump();
  EXPECT_EQ(by_name["order"]["input_schema"]["additionalProperties"], false);
  EXPECT_FALSE(by_name["anything"]["input_schema"].contains("additionalProperties"));
}

// A schema valijson cannot read stops the start with an error naming the job type.
TEST(ServeValidationStart, AnUnreadableSchemaIsAnErrorNamingTheType) {
  TempDir tmp;
  WriteFile(tmp / "robot.yaml", "tasks:\n  A:\n    shell: python -c pass\nartifactsDir: output\n");
  WriteFile(tmp / "jobs.py",
            "from robotni import job\n\n"
            "@job('bad', schema={'type': 'object', 'properties': "
            "{'zip': {'type': 'string', 'pattern': '('}}})\n"
            "def bad(zip):\n    return zip\n");
  RunResult r = RunRobotni({"serve", "--no-auth", "--listen", "127.0.0.1:0", "--jobs", "jobs.py",
                            "--store", (tmp / "wi.db").string()},
                           {.cwd = tmp.path()});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("job type 'bad': schema: pattern \"(\"")) << r;
}

}  // namespace
}  // namespace robotni::testing
