// serve's --config file: every key, precedence, and a clear error for every kind of mistake.
#include "config/serve_settings.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "tests/unit/config/config_test_util.h"

namespace robotni::config {
namespace {

using config::testing::TempDir;

class ServeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { unsetenv("ROBOTNI_WEBHOOK_SECRET"); }
  // Applies `yaml` (written to serve.yaml) to defaults; the status and *out.
  Status Apply(const std::string& yaml, ServeFlags* out, std::set<std::string> given = {}) {
    path_ = dir_.Write("conf/serve.yaml", yaml).string();
    return ApplyServeConfig(path_, given, out);
  }
  // The error message for `yaml`, which must be InvalidArgument and leave the flags alone.
  std::string ErrorOf(const std::string& yaml) {
    ServeFlags f;
    Status s = Apply(yaml, &f);
    EXPECT_FALSE(s.ok()) << yaml;
    EXPECT_TRUE(s.IsInvalidArgument()) << s.message();
    EXPECT_EQ(f.listen, ServeFlags().listen);
    EXPECT_EQ(f.concurrency, ServeFlags().concurrency);
    return s.message();
  }
  TempDir dir_;
  std::string path_;
};

TEST_F(ServeConfigTest, ReadsEveryKey) {
  ServeFlags f;
  Status s = Apply(R"(
robot: ../robots/robot.yaml
listen: 0.0.0.0:9000
store: data/wi.db
types: [add, notify.%]
jobs:
  - workers/jobs/jobs.py
  - pkg.more_jobs
concurrency: 4
grace: 2.5
isolation: main
token_file: tokens.txt
no_auth: false
rate_limit: 50
public_metrics: yes
tasks: Consumer,Reporter
task_timeout: 60
log_format: json
log_level: debug
webhooks:
  secret: "s3cret"
  max_attempts: 7
  timeout_seconds: 2.5
)",
                   &f);
  ASSERT_TRUE(s.ok()) << s.message();
  std::string conf_dir = (dir_.path() / "conf").string();
  EXPECT_EQ(f.robot, (dir_.path() / "robots/robot.yaml").string());
  EXPECT_EQ(f.listen, "0.0.0.0:9000");
  EXPECT_EQ(f.store, conf_dir + "/data/wi.db");
  EXPECT_EQ(f.types, (std::vector<std::string>{"add", "notify.%"}));
  EXPECT_EQ(f.jobs, (std::vector<std::string>{"workers/jobs/jobs.py", "pkg.more_jobs"}));
  EXPECT_EQ(f.concurrency, 4);
  EXPECT_DOUBLE_EQ(f.grace, 2.5);
  EXPECT_EQ(f.isolation, "main");
  EXPECT_EQ(f.token_file, conf_dir + "/tokens.txt");
  EXPECT_FALSE(f.no_auth);
  EXPECT_DOUBLE_EQ(f.rate_limit, 50);
  EXPECT_TRUE(f.public_metrics);
  EXPECT_EQ(f.tasks, (std::vector<std::string>{"Consumer", "Reporter"}));
  EXPECT_DOUBLE_EQ(f.task_timeout, 60);
  EXPECT_EQ(f.log_format, "json");
  EXPECT_EQ(f.log_level, "debug");
  EXPECT_EQ(f.webhook_secret, "s3cret");
  EXPECT_EQ(f.webhook_max_attempts, 7);
  EXPECT_DOUBLE_EQ(f.webhook_timeout, 2.5);
  EXPECT_TRUE(ValidateServeFlags(f).ok());
}

TEST_F(ServeConfigTest, ReadsTheHttpLimits) {
  ServeFlags f;
  ASSERT_TRUE(Apply(R"(
http:
  header_timeout_seconds: 5
  request_timeout_seconds: 30.5
  max_connections_per_client: 64
  max_request_bytes: 33554432
  max_unsent_bytes: 262144
  auth_failures_per_minute: 0
)",
                    &f)
                  .ok());
  EXPECT_DOUBLE_EQ(f.header_timeout, 5);
  EXPECT_DOUBLE_EQ(f.request_timeout, 30.5);
  EXPECT_EQ(f.max_connections_per_client, 64);
  EXPECT_EQ(f.max_request_bytes, 32 << 20);
  EXPECT_EQ(f.max_unsent_bytes, 256 << 10);
  EXPECT_DOUBLE_EQ(f.auth_failures_per_minute, 0);
  EXPECT_TRUE(ValidateServeFlags(f).ok());
  for (auto [yaml, want] : std::vector<std::pair<std::string, std::string>>{
           {"http:\n  header_timeout_seconds: 0\n",
            ":2: http.header_timeout_seconds: expected seconds"},
           {"http:\n  request_timeout_seconds: -1\n", ":2: http.request_timeout_seconds: expected"},
           {"http:\n  max_connections_per_client: 0\n", ":2: http.max_connections_per_client"},
           {"http:\n  max_request_bytes: 1000\n", ":2: http.max_request_bytes: expected bytes"},
           {"http:\n  idle: 3\n", ":2: http.idle: unknown key"},
           {"http: 5\n", ":1: http: expected a map"}}) {
    std::string m = ErrorOf(yaml);
    EXPECT_NE(m.find(path_ + want), std::string::npos) << m;
  }
  // The server's limits need a restart; the wrong-token limit is part of a reloaded Auth.
  ServeFlags a, b;
  b.header_timeout = 1;
  b.auth_failures_per_minute = 1;
  EXPECT_EQ(RestartOnlyChanges(a, b), std::vector<std::string>{"http.header_timeout_seconds"});
}

TEST_F(ServeConfigTest, MaxPayloadIsReadAndNeedsARestart) {
  ServeFlags f;
  ASSERT_TRUE(Apply("max_payload: 4194304\n", &f).ok());
  EXPECT_EQ(f.max_payload, 4194304);
  EXPECT_EQ(ServeFlags().max_payload, 1 << 20);
  EXPECT_EQ(RestartOnlyChanges(ServeFlags(), f), std::vector<std::string>{"max_payload"});
  ServeFlags small;
  small.max_payload = 10;
  EXPECT_TRUE(ValidateServeFlags(small).IsInvalidArgument());
}

TEST_F(ServeConfigTest, LeaseAndReserveAheadAreReadCheckedAndNeedARestart) {
  ServeFlags f;
  ASSERT_TRUE(Apply("lease: 5\nreserve_ahead: 0\n", &f).ok());
  EXPECT_DOUBLE_EQ(f.lease, 5);
  EXPECT_DOUBLE_EQ(f.reserve_ahead, 0);
  EXPECT_DOUBLE_EQ(ServeFlags().lease, 60);
  EXPECT_DOUBLE_EQ(ServeFlags().reserve_ahead, 0.01);
  EXPECT_EQ(RestartOnlyChanges(ServeFlags(), f),
            (std::vector<std::string>{"lease", "reserve_ahead"}));
  EXPECT_NE(ErrorOf("lease: 0.5\n").find("expected seconds (a number >= 1), found '0.5'"),
            std::string::npos);
  EXPECT_NE(ErrorOf("lease: soon\n").find("lease"), std::string::npos);
  EXPECT_NE(ErrorOf("reserve_ahead: 2\n").find("expected seconds (a number from 0 to 1)"),
            std::string::npos);
  ServeFlags bad;
  bad.lease = 0;
  EXPECT_TRUE(ValidateServeFlags(bad).IsInvalidArgument());
  bad = ServeFlags();
  bad.reserve_ahead = -1;
  EXPECT_TRUE(ValidateServeFlags(bad).IsInvalidArgument());
}

TEST_F(ServeConfigTest, UrlsAndAbsolutePathsStayAsWritten) {
  ServeFlags f;
  ASSERT_TRUE(Apply("store: sqlite:///var/x.db\ntoken_file: /etc/robotni/tokens\n", &f).ok());
  EXPECT_EQ(f.store, "sqlite:///var/x.db");
  EXPECT_EQ(f.token_file, "/etc/robotni/tokens");
}

TEST_F(ServeConfigTest, CommandLineWinsButTheKeyIsStillChecked) {
  ServeFlags f;
  f.listen = "127.0.0.1:1234";  // from --listen
  ASSERT_TRUE(Apply("listen: 0.0.0.0:80\nconcurrency: 3\n", &f, {"listen"}).ok());
  EXPECT_EQ(f.listen, "127.0.0.1:1234");
  EXPECT_EQ(f.concurrency, 3);
  ServeFlags g;
  EXPECT_FALSE(Apply("listen: [a]\n", &g, {"listen"}).ok());
}

TEST_F(ServeConfigTest, EnvironmentSecretWinsOverTheFile) {
  ServeFlags f;
  ASSERT_TRUE(Apply("webhooks: {secret: from-file}\n", &f).ok());
  EXPECT_EQ(f.webhook_secret, "from-file");
  setenv("ROBOTNI_WEBHOOK_SECRET", "from-env", 1);
  ApplyServeEnvironment({}, &f);
  unsetenv("ROBOTNI_WEBHOOK_SECRET");
  EXPECT_EQ(f.webhook_secret, "from-env");
}

TEST_F(ServeConfigTest, EmptyFileSetsNothing) {
  ServeFlags f;
  ASSERT_TRUE(Apply("# nothing yet\n", &f).ok());
  EXPECT_EQ(f.listen, ServeFlags().listen);
  ASSERT_TRUE(Apply("", &f).ok());
}

TEST_F(ServeConfigTest, UnknownKeyNamesFileLineAndKey) {
  std::string m = ErrorOf("listen: 127.0.0.1:1\n\nconcurrenc: 3\n");
  EXPECT_NE(m.find(path_ + ":3: concurrenc: unknown key"), std::string::npos) << m;
  m = ErrorOf("webhooks:\n  secret: x\n  retries: 3\n");
  EXPECT_NE(m.find(path_ + ":3: webhooks.retries: unknown key"), std::string::npos) << m;
}

TEST_F(ServeConfigTest, WrongTypesNameFileLineAndKey) {
  struct Case {
    const char* yaml;
    const char* expect;
  } cases[] = {
      {"concurrency: \"4\"\n", ":1: concurrency: expected a positive integer, found a string"},
      {"concurrency: four\n", ":1: concurrency: expected a positive integer, found 'four'"},
      {"concurrency: 0\n", ":1: concurrency: expected a positive integer, found '0'"},
      {"concurrency: 1.5\n", ":1: concurrency: expected a positive integer"},
      {"concurrency: [1]\n", ":1: concurrency: expected a positive integer, found a list"},
      {"grace: -1\n", ":1: grace: expected seconds"},
      {"rate_limit: fast\n", ":1: rate_limit: expected requests per second"},
      {"listen: [a, b]\n", ":1: listen: expected a string, found a list"},
      {"listen:\n", ":1: listen: expected a string, found null"},
      {"no_auth: maybe\n", ":1: no_auth: expected true or false, found 'maybe'"},
      {"public_metrics: \"true\"\n", ":1: public_metrics: expected true or false"},
      {"types: {a: 1}\n", ":1: types: expected a list of strings, found a map"},
      {"jobs:\n  - a.py\n  - [b]\n", ":3: jobs[1]: expected a string, found a list"},
      {"isolation: threads\n",
       ":1: isolation: expected process or subinterpreter or main, found 'threads'"},
      {"log_format: xml\n", ":1: log_format: expected text or json, found 'xml'"},
      {"log_level: loud\n", ":1: log_level: expected debug or info or warn or error"},
      {"webhooks: 5\n", ":1: webhooks: expected a map, found a string"},
      {"webhooks:\n  max_attempts: 0\n", ":2: webhooks.max_attempts: expected a positive integer"},
      {"webhooks:\n  timeout_seconds: 0\n", ":2: webhooks.timeout_seconds: expected seconds"},
      {"task_timeout: soon\n", ":1: task_timeout: expected seconds"},
      {"max_payload: 100\n", ":1: max_payload: expected bytes (an integer >= 1024)"},
  };
  for (const auto& c : cases) {
    std::string m = ErrorOf(c.yaml);
    EXPECT_NE(m.find(path_ + c.expect), std::string::npos) << c.yaml << " -> " << m;
  }
}

TEST_F(ServeConfigTest, MalformedYamlNamesFileLineAndKey) {
  std::string m = ErrorOf("listen: 127.0.0.1:1\nwebhooks:\n  secret: [unclosed\n");
  EXPECT_NE(m.find(path_ + ":"), std::string::npos) << m;
  EXPECT_NE(m.find("syntax error"), std::string::npos) << m;
  EXPECT_NE(m.find("webhooks"), std::string::npos) << m;
  m = ErrorOf("- listen\n- store\n");
  EXPECT_NE(m.find(path_ + ":1: config: expected a map of settings, found a list"),
            std::string::npos)
      << m;
  m = ErrorOf("listen: a:1\nlisten: b:2\n");
  EXPECT_NE(m.find(path_ + ":2: listen: duplicate key"), std::string::npos) << m;
}

TEST_F(ServeConfigTest, MissingFileIsAnError) {
  ServeFlags f;
  Status s = ApplyServeConfig((dir_.path() / "nope.yaml").string(), {}, &f);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("nope.yaml"), std::string::npos) << s.message();
}

TEST_F(ServeConfigTest, ValidateChecksTheCommandLineToo) {
  ServeFlags f;
  EXPECT_TRUE(ValidateServeFlags(f).ok());
  f.log_format = "xml";
  EXPECT_NE(ValidateServeFlags(f).message().find("log_format"), std::string::npos);
  f = ServeFlags();
  f.isolation = "thread";
  EXPECT_NE(ValidateServeFlags(f).message().find("isolation"), std::string::npos);
}

TEST_F(ServeConfigTest, RestartOnlySettingsAreReportedAndKept) {
  ServeFlags running, next;
  next.listen = "0.0.0.0:1";
  next.store = "other.db";
  next.rate_limit = 9;
  next.grace = 1;
  next.webhook_secret = "new";
  EXPECT_EQ(RestartOnlyChanges(running, next), (std::vector<std::string>{"listen", "store"}));
  KeepRestartOnly(running, &next);
  EXPECT_TRUE(RestartOnlyChanges(running, next).empty());
  EXPECT_EQ(next.rate_limit, 9);  // reloadable ones keep the new value
  EXPECT_EQ(next.grace, 1);
  EXPECT_EQ(next.webhook_secret, "new");
}

TEST_F(ServeConfigTest, GivenKeysMapFlagsToKeys) {
  auto given = GivenKeys([](const std::string& flag) {
    return flag == "--token-file" || flag == "--listen" || flag == "--robot";
  });
  EXPECT_EQ(given, (std::set<std::string>{"listen", "robot", "token_file"}));
}

TEST_F(ServeConfigTest, DurabilityIsFastOrFullAndNeedsARestart) {
  ServeFlags f;
  ASSERT_TRUE(Apply("durability: full\n", &f).ok());
  EXPECT_EQ(f.durability, "full");
  EXPECT_EQ(ServeFlags().durability, "fast");
  EXPECT_NE(ErrorOf("durability: sometimes\n").find("durability: expected fast or full"),
            std::string::npos);
  ServeFlags running, next;
  next.durability = "full";
  EXPECT_EQ(RestartOnlyChanges(running, next), (std::vector<std::string>{"durability"}));
}

TEST_F(ServeConfigTest, WebhookAllowlistIsCheckedAndTheFlagWins) {
  ServeFlags f;
  ASSERT_TRUE(Apply("webhooks:\n  allow: [127.0.0.1, 10.0.0.0/8, hooks.internal]\n", &f).ok());
  EXPECT_EQ(f.webhook_allow,
            (std::vector<std::string>{"127.0.0.1", "10.0.0.0/8", "hooks.internal"}));
  EXPECT_TRUE(ValidateServeFlags(f).ok());
  EXPECT_NE(ErrorOf("webhooks:\n  allow: [10.0.0.0/40]\n").find("webhooks.allow: '10.0.0.0/40'"),
            std::string::npos);
  ServeFlags given;
  given.webhook_allow = {"::1"};
  ASSERT_TRUE(Apply("webhooks:\n  allow: [10.0.0.0/8]\n", &given, {"webhook_allow"}).ok());
  EXPECT_EQ(given.webhook_allow, (std::vector<std::string>{"::1"}));
  f.webhook_allow = {"not/a/range"};
  EXPECT_FALSE(ValidateServeFlags(f).ok());
  auto keys = GivenKeys(
      [](const std::string& flag) { return flag == "--webhook-allow" || flag == "--durability"; });
  EXPECT_EQ(keys, (std::set<std::string>{"durability", "webhook_allow"}));
}

// Per-type limits (issue #11 point 3): units, and a clear error for each bad value.
TEST_F(ServeConfigTest, ReadsJobTypeLimits) {
  ServeFlags f;
  Status s = Apply(R"(
job_types:
  render: {timeout: 2m, kill_grace: 1.5, memory_limit: 1GiB, max_jobs_per_worker: 10,
           max_output: 64KiB}
  add:
    timeout: 0
    max_output: 100
)",
                   &f);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(f.job_types.size(), 2u);
  const Limits& render = f.job_types["render"];
  EXPECT_EQ(render.timeout, 120);
  EXPECT_EQ(render.kill_grace, 1.5);
  EXPECT_EQ(render.memory_limit_mb, 1024);
  EXPECT_EQ(render.max_runs_per_worker, 10);
  EXPECT_EQ(render.max_output_bytes, 64 * 1024);
  EXPECT_EQ(f.job_types["add"].timeout, 0);
  EXPECT_EQ(f.job_types["add"].max_output_bytes, 100);
  EXPECT_FALSE(f.job_types["add"].memory_limit_mb.has_value());
}

TEST_F(ServeConfigTest, RejectsBadJobTypeLimits) {
  // The error for `yaml`, after the file's path (known once it is written).
  auto error = [&](const std::string& yaml) {
    std::string e = ErrorOf(yaml);
    return e.compare(0, path_.size(), path_) == 0 ? e.substr(path_.size()) : e;
  };
  EXPECT_EQ(error("job_types:\n  add:\n    timeout: -1\n"),
            ":3: job_types.add.timeout: must not be negative, found '-1'");
  EXPECT_EQ(error("job_types:\n  add:\n    memory_limit: lots\n"),
            ":3: job_types.add.memory_limit: expected MiB (an integer >= 0, or with a "
            "unit: MiB, GiB), found 'lots'");
  EXPECT_EQ(error("job_types:\n  add:\n    max_output: 5XB\n"),
            ":3: job_types.add.max_output: unknown unit 'XB' in '5XB': expected bytes (an "
            "integer >= 0, or with a unit: B, KiB, MiB, GiB)");
  EXPECT_EQ(error("job_types:\n  add:\n    max_jobs_per_worker: 1.5\n"),
            ":3: job_types.add.max_jobs_per_worker: expected an integer >= 0, found '1.5'");
  EXPECT_EQ(error("job_types:\n  add:\n    retries: 3\n"),
            ":3: job_types.add.retries: unknown key (limits are timeout, kill_grace, "
            "memory_limit, max_jobs_per_worker, max_output)");
  EXPECT_EQ(error("job_types: [add]\n"),
            ":1: job_types: expected a map of job type name to limits, found a list");
}

}  // namespace
}  // namespace robotni::config
