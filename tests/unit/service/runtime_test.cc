// The public C++ API (robotni/runtime.h) through librobotni.so, as a host program uses it:
// nothing here includes an internal header.
#include "robotni/runtime.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

namespace robotni {
namespace {

namespace fs = std::filesystem;

void WriteFile(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// A robot in a fresh directory: tasks Hello and Fails, and a Python job type "py.add".
class RuntimeApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("robotni-api-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    WriteFile(dir_ / "robot.yaml",
              "tasks:\n"
              "  Hello:\n"
              "    shell: python -m robocorp.tasks run tasks.py -t hello\n"
              "  Fails:\n"
              "    shell: python -m robocorp.tasks run tasks.py -t fails\n"
              "artifactsDir: output\n");
    WriteFile(dir_ / "tasks.py",
              "import os\n"
              "from robocorp.tasks import task\n\n"
              "@task\n"
              "def hello():\n"
              "    print('hello', os.environ.get('GREETING', 'nobody'))\n\n"
              "@task\n"
              "def fails():\n"
              "    raise ValueError('broken on purpose')\n");
    WriteFile(dir_ / "jobs.py",
              "from robotni import job\n\n"
              "@job('py.add')\n"
              "def add(x, y):\n"
              "    return x + y\n");
  }
  void TearDown() override {
    std::error_code ec;
    fs::current_path(fs::temp_directory_path(), ec);  // Run entered the robot's directory
    fs::remove_all(dir_, ec);
  }

  RuntimeOptions Options() const {
    RuntimeOptions o;
    o.robot = (dir_ / "robot.yaml").string();
    o.store = (dir_ / "workitems.db").string();
    o.log_level = "error";
    return o;
  }

  std::unique_ptr<Runtime> Open(const RuntimeOptions& o) {
    auto rt = Runtime::Open(o);
    EXPECT_TRUE(rt.ok()) << rt.status().ToString();
    return rt.ok() ? std::move(rt).value() : nullptr;
  }

  fs::path dir_;
};

// GET or POST on "127.0.0.1:PORT"; returns the whole response ("" when it cannot connect).
std::string Http(const std::string& addr, const std::string& method, const std::string& path,
                 const std::string& body = "") {
  auto colon = addr.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(addr.substr(colon + 1))));
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd);
    return "";
  }
  std::string req =
      method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
      "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  EXPECT_EQ(write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) reply.append(buf, static_cast<size_t>(n));
  close(fd);
  return reply;
}

TEST_F(RuntimeApiTest, RunTaskReturnsItsOutputAndExitCode) {
  auto rt = Open(Options());
  ASSERT_TRUE(rt);
  auto ok = rt->RunTask("Hello", {{"GREETING", "host"}});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->exit_code, 0);
  EXPECT_NE(ok->stdout_text.find("hello host"), std::string::npos) << ok->stdout_text;

  auto failed = rt->RunTask("Fails");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->exit_code, static_cast<int>(RunExit::kTaskFailed));
  EXPECT_NE((failed->stdout_text + failed->stderr_text).find("broken on purpose"),
            std::string::npos)
      << failed->stdout_text << failed->stderr_text;
  EXPECT_NE(failed->message.find("Fails"), std::string::npos) << failed->message;

  auto missing = rt->RunTask("NoSuchTask");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->exit_code, static_cast<int>(RunExit::kTaskNotFound));
}

TEST_F(RuntimeApiTest, OpenRefusesBadOptionsWithTheirReason) {
  RuntimeOptions o = Options();
  o.isolation = "bogus";
  auto bad = Runtime::Open(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(bad.status().message().find("bogus"), std::string::npos);

  o = Options();
  o.robot = (dir_ / "missing" / "robot.yaml").string();
  auto missing = Runtime::Open(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();

  WriteFile(dir_ / "broken" / "robot.yaml", "tasks: [unclosed\n");
  o.robot = (dir_ / "broken" / "robot.yaml").string();
  auto broken = Runtime::Open(o);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("robot.yaml"), std::string::npos);

  o = Options();
  o.job_modules = {"no_such_module_xyz"};
  auto jobs = Runtime::Open(o);
  ASSERT_FALSE(jobs.ok());
  EXPECT_NE(jobs.status().message().find("no_such_module_xyz"), std::string::npos);
}

TEST_F(RuntimeApiTest, HostAndPythonJobTypesRunSideBySide) {
  RuntimeOptions o = Options();
  o.job_modules = {"jobs.py"};
  auto rt = Open(o);
  ASSERT_TRUE(rt);
  std::atomic<int> calls{0};
  ASSERT_TRUE(rt->RegisterJobType("cpp.len", [&calls](Job& job, std::string* result) {
                  ++calls;
                  *result = std::to_string(job.payload_json().size());
                  return Status::OK();
                }).ok());
  EXPECT_TRUE(rt->RegisterJobType("cpp.len", [](Job&, std::string*) {
                  return Status::OK();
                }).IsInvalidArgument());
  auto types = rt->JobTypes();
  EXPECT_NE(std::find(types.begin(), types.end(), "py.add"), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), "cpp.len"), types.end());

  std::vector<std::pair<std::string, std::string>> want;  // id, result
  for (int i = 0; i < 100; ++i) {
    EnqueueRequest r;
    r.queue = i % 2 ? "py.add" : "cpp.len";
    r.payload_json = "{\"x\": " + std::to_string(i) + ", \"y\": 1}";
    auto id = rt->Enqueue(r);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    want.push_back({*id, i % 2 ? std::to_string(i + 1) : std::to_string(r.payload_json.size())});
  }
  for (const auto& [id, result] : want) {
    auto item = rt->Wait(id, 30);
    ASSERT_TRUE(item.ok()) << item.status().ToString();
    EXPECT_EQ(item->state, "DONE") << item->ToJson();
    EXPECT_EQ(item->result_json, result) << item->ToJson();
  }
  EXPECT_EQ(calls.load(), 50);
}

TEST_F(RuntimeApiTest, HostJobFailuresAreBusinessOrRetried) {
  auto rt = Open(Options());
  ASSERT_TRUE(rt);
  ASSERT_TRUE(rt->RegisterJobType("cpp.reject", [](Job&, std::string*) {
                  return Status::InvalidArgument("bad data");
                }).ok());
  std::atomic<int> attempts{0};
  ASSERT_TRUE(rt->RegisterJobType("cpp.flaky", [&attempts](Job& job, std::string* result) {
                  ++attempts;
                  if (job.attempt() < 2) return Status::IOError("try again");
                  *result = "{\"attempt\": " + std::to_string(job.attempt()) + "}";
                  return Status::OK();
                }).ok());
  ASSERT_TRUE(rt->RegisterJobType("cpp.notjson", [](Job&, std::string* result) {
                  *result = "{not json";
                  return Status::OK();
                }).ok());
  EnqueueRequest r;
  r.queue = "cpp.reject";
  auto reject = rt->Enqueue(r);
  r.queue = "cpp.notjson";
  auto notjson = rt->Enqueue(r);
  r.queue = "cpp.flaky";
  r.max_attempts = 3;
  auto flaky = rt->Enqueue(r);
  ASSERT_TRUE(reject.ok() && notjson.ok() && flaky.ok());

  auto rejected = rt->Wait(*reject, 30);
  ASSERT_TRUE(rejected.ok());
  EXPECT_EQ(rejected->state, "FAILED");
  EXPECT_EQ(rejected->exception_type, "BUSINESS");
  EXPECT_EQ(rejected->error_message, "bad data");
  EXPECT_EQ(rejected->attempt, 1);

  auto bad_result = rt->Wait(*notjson, 30);
  ASSERT_TRUE(bad_result.ok());
  EXPECT_EQ(bad_result->state, "FAILED");
  EXPECT_NE(bad_result->error_message.find("not valid JSON"), std::string::npos);

  // The retry waits for its backoff (about a second), then succeeds on attempt 2.
  auto retried = rt->Wait(*flaky, 30);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->state, "DONE") << retried->ToJson();
  EXPECT_EQ(retried->result_json, "{\"attempt\": 2}");
  EXPECT_EQ(attempts.load(), 2);
}

TEST_F(RuntimeApiTest, GetAndWaitOnUnknownOrUnfinishedItems) {
  auto rt = Open(Options());
  ASSERT_TRUE(rt);
  EXPECT_TRUE(rt->Get("987654321").status().IsNotFound());
  EXPECT_TRUE(rt->Wait("987654321", 0.1).status().IsNotFound());
  EnqueueRequest r;
  r.queue = "nobody.serves.this";
  r.payload_json = "{\"k\": [1, 2]}";
  r.files = {{"note.txt", "hi"}};
  r.priority = 5;
  auto id = rt->Enqueue(r);
  ASSERT_TRUE(id.ok());
  auto t0 = std::chrono::steady_clock::now();
  auto item = rt->Wait(*id, 0.3);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(250));
  ASSERT_TRUE(item.ok());
  EXPECT_FALSE(item->finished());
  EXPECT_EQ(item->state, "PENDING");
  EXPECT_EQ(item->priority, 5);
  EXPECT_EQ(item->files, std::vector<std::string>{"note.txt"});
  EXPECT_NE(item->ToJson().find("\"payload\":{\"k\":[1,2]}"), std::string::npos) << item->ToJson();
  EXPECT_TRUE(rt->Cancel(*id).ok());
  EXPECT_EQ(rt->Get(*id)->state, "CANCELLED");

  r.payload_json = "{broken";
  EXPECT_TRUE(rt->Enqueue(r).status().IsInvalidArgument());
  r.queue.clear();
  EXPECT_TRUE(rt->Enqueue(r).status().IsInvalidArgument());
}

// Whether CPython is initialised in this process (libpython comes with librobotni.so).
bool PythonStarted() {
  auto* fn = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "Py_IsInitialized"));
  return fn && fn() != 0;
}

EnqueueRequest Item(const std::string& queue, const std::string& payload = "{}") {
  EnqueueRequest r;
  r.queue = queue;
  r.payload_json = payload;
  return r;
}

TEST_F(RuntimeApiTest, ManagingWorkItemsDoesNotStartPython) {
  auto rt = Open(Options());
  ASSERT_TRUE(rt);
  ASSERT_TRUE(rt->Enqueue(Item("q")).ok());
  ASSERT_TRUE(rt->List({}).ok());
  ASSERT_TRUE(rt->Stats("").ok());
  EXPECT_FALSE(PythonStarted());
  // The first run starts it; closing the last runtime finalises it again.
  auto ok = rt->RunTask("Hello");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->exit_code, 0) << ok->stderr_text;
  EXPECT_TRUE(PythonStarted());
  EXPECT_TRUE(rt->Close().ok());
  EXPECT_FALSE(PythonStarted());
}

TEST_F(RuntimeApiTest, ARuntimeThatNeverRanPythonKeepsItAliveForTheNext) {
  auto idle = Open(Options());
  auto runner = Open(Options());
  ASSERT_TRUE(idle && runner);
  ASSERT_TRUE(runner->RunTask("Hello").ok());
  ASSERT_TRUE(runner->Close().ok());
  EXPECT_TRUE(PythonStarted());  // `idle` is still open: no finalise and start again
  auto again = idle->RunTask("Hello");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->exit_code, 0) << again->stderr_text;
  EXPECT_TRUE(idle->Close().ok());
  EXPECT_FALSE(PythonStarted());
}

TEST_F(RuntimeApiTest, ListFiltersPagesAndOrdersItems) {
  auto rt = Open(Options());
  ASSERT_TRUE(rt);
  std::vector<std::string> a;
  for (int i = 0; i < 4; ++i)
    a.push_back(*rt->Enqueue(Item("a", "{\"n\":" + std::to_string(i) + "}")));
  std::string b = *rt->Enqueue(Item("b"));
  ASSERT_TRUE(rt->Cancel(a[0]).ok());

  auto all = rt->List({});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ(all->front().id, b);               // newest first
  EXPECT_TRUE(all->front().timeline.empty());  // List leaves timelines out

  ListRequest req;
  req.queue = "a";
  req.state = "pending";
  req.limit = 2;
  req.offset = 1;
  auto page = rt->List(req);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, a[2]);
  EXPECT_EQ((*page)[1].id, a[1]);
  req.newest_first = false;
  req.offset = 0;
  page = rt->List(req);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, a[1]);  // oldest first

  ListRequest revoked;
  revoked.state = "REVOKED";  // another system's name for CANCELLED
  auto cancelled = rt->List(revoked);
  ASSERT_TRUE(cancelled.ok());
  ASSERT_EQ(cancelled->size(), 1u);
  EXPECT_EQ(cancelled->front().id, a[0]);
  EXPECT_EQ(cancelled->front().state, "CANCELLED");

  ListRequest bad;
  bad.state = "sleeping";
  auto refused = rt->List(bad);
  EXPECT_TRUE(refused.status().IsInvalidArgument());
  EXPECT_NE(refused.status().message().find("sleeping"), std::string::npos);
  bad.state.clear();
  bad.limit = -1;
  EXPECT_TRUE(rt->List(bad).status().IsInvalidArgument());

  EXPECT_EQ(*ParseItemState("in_progress"), "RESERVED");
  EXPECT_TRUE(ParseItemState("").status().IsInvalidArgument());
  EXPECT_TRUE(ValidateItemFileName("a.txt").ok());
  EXPECT_TRUE(ValidateItemFileName("../a").IsInvalidArgument());
}

TEST_F(RuntimeApiTest, ItemInfoCarriesEveryFieldAndFilesCanBeRead) {
  auto rt = Open(Options());
  ASSERT_TRUE(rt);
  EnqueueRequest r = Item("orders", "{\"x\":1}");
  r.files = {{"b.bin", std::string("\0\xff", 2)}, {"a.txt", "hi"}};
  r.idempotency_key = "order-1";
  r.run_at_ms = 4102444800000;  // 2100-01-01
  r.max_attempts = 5;
  auto id = rt->Enqueue(r);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto item = rt->Get(*id);
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item->idempotency_key, "order-1");
  EXPECT_EQ(item->not_before_ms, 4102444800000);
  EXPECT_GE(item->updated_ms, item->created_ms);
  EXPECT_EQ(item->max_attempts, 5);
  EXPECT_FALSE(item->cancel_requested);
  EXPECT_TRUE(item->lease_owner.empty());
  EXPECT_EQ(item->files, (std::vector<std::string>{"a.txt", "b.bin"}));
  ASSERT_EQ(item->file_details.size(), 2u);
  EXPECT_EQ(item->file_details[0].name, "a.txt");
  EXPECT_EQ(item->file_details[0].size, 2);
  EXPECT_EQ(item->file_details[0].sha256,
            "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4");
  std::string json = item->ToJson();
  EXPECT_NE(json.find("\"idempotency_key\":\"order-1\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"files\":[\"a.txt\",\"b.bin\"]"), std::string::npos) << json;
  EXPECT_NE(json.find("\"file_details\":[{\"name\":\"a.txt\""), std::string::npos) << json;

  auto bytes = rt->GetFile(*id, "b.bin");
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(*bytes, std::string("\0\xff", 2));
  EXPECT_TRUE(rt->GetFile(*id, "missing.txt").status().IsNotFound());
  EXPECT_TRUE(rt->GetFile("987654321", "a.txt").status().IsNotFound());

  auto timeline = rt->Timeline(*id);
  ASSERT_TRUE(timeline.ok());
  ASSERT_FALSE(timeline->empty());
  EXPECT_EQ(timeline->front().event, "queued");
  EXPECT_TRUE(rt->Timeline("987654321").status().IsNotFound());

  // The same idempotency key gives the first item.
  EXPECT_EQ(*rt->Enqueue(r), *id);
}

TEST_F(RuntimeApiTest, StatsRetryFlushAndPrune) {
  auto rt = Open(Options());
  ASSERT_TRUE(rt);
  std::string first = *rt->Enqueue(Item("a"));
  std::string second = *rt->Enqueue(Item("a"));
  ASSERT_TRUE(rt->Enqueue(Item("b")).ok());
  EnqueueRequest later = Item("a");
  later.run_at_ms = 4102444800000;
  ASSERT_TRUE(rt->Enqueue(later).ok());

  // Retry: only FAILED or CANCELLED items.
  EXPECT_TRUE(rt->Retry(first).IsConflict());
  EXPECT_TRUE(rt->Retry("987654321").IsNotFound());
  ASSERT_TRUE(rt->Cancel(first).ok());
  ASSERT_TRUE(rt->Retry(first).ok());
  EXPECT_EQ(rt->Get(first)->state, "PENDING");

  auto stats = rt->Stats("");
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->size(), 2u);
  EXPECT_EQ((*stats)[0].queue, "a");
  EXPECT_EQ((*stats)[0].pending, 2);
  EXPECT_EQ((*stats)[0].scheduled, 1);
  EXPECT_EQ((*stats)[0].total(), 3);
  auto only_b = rt->Stats("b");
  ASSERT_TRUE(only_b.ok());
  ASSERT_EQ(only_b->size(), 1u);
  EXPECT_EQ(only_b->front().pending, 1);

  // Flush cancels the PENDING items of one queue, the scheduled one too.
  auto flushed = rt->Flush("a");
  ASSERT_TRUE(flushed.ok());
  EXPECT_EQ(*flushed, 3);
  EXPECT_EQ(*rt->Flush("a"), 0);
  EXPECT_TRUE(rt->Flush("").status().IsInvalidArgument());
  EXPECT_EQ(rt->Get(second)->state, "CANCELLED");

  // Prune: finished before the cutoff only.
  EXPECT_EQ(*rt->Prune(1), 0);
  auto pruned = rt->Prune(4102444800000);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 3);
  EXPECT_TRUE(rt->Get(second).status().IsNotFound());
  EXPECT_EQ(rt->List({})->size(), 1u);  // queue b's item
}

TEST_F(RuntimeApiTest, EnqueueBatchIsAllOrNothing) {
  auto rt = Open(Options());
  ASSERT_TRUE(rt);
  std::vector<EnqueueRequest> batch = {Item("q", "1"), Item("q", "2")};
  batch[1].files = {{"../evil", "x"}};
  auto refused = rt->EnqueueBatch(batch);
  EXPECT_TRUE(refused.status().IsInvalidArgument()) << refused.status().ToString();
  EXPECT_TRUE(rt->List({})->empty());
  batch[1].files.clear();
  batch[1].idempotency_key = "k";
  auto ids = rt->EnqueueBatch(batch);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_EQ(ids->size(), 2u);
  EXPECT_EQ(rt->Get((*ids)[1])->payload_json, "2");
  auto again = rt->EnqueueBatch({batch[1]});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, std::vector<std::string>{(*ids)[1]});
  EXPECT_TRUE(rt->EnqueueBatch({}).ok());
  EXPECT_TRUE(rt->EnqueueBatch({Item("")}).status().IsInvalidArgument());
}

TEST_F(RuntimeApiTest, AStoreThatIsNotThereIsNotCreatedWhenAskedSo) {
  RuntimeOptions o = Options();
  o.store = (dir_ / "not" / "there.db").string();
  o.create_store_if_missing = false;
  auto rt = Open(o);
  ASSERT_TRUE(rt);
  EXPECT_EQ(rt->StoreUrl(), o.store);
  Status s = rt->OpenStore();
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find("no work-item store at " + o.store), std::string::npos)
      << s.ToString();
  EXPECT_TRUE(rt->List({}).status().IsNotFound());
  EXPECT_TRUE(rt->Enqueue(Item("q")).status().IsNotFound());
  EXPECT_FALSE(fs::exists(dir_ / "not"));
  ASSERT_TRUE(rt->Close().ok());

  // An existing store opens as usual.
  o.store = (dir_ / "workitems.db").string();
  auto creator = Open(Options());
  ASSERT_TRUE(creator && creator->Enqueue(Item("q")).ok());
  ASSERT_TRUE(creator->Close().ok());
  auto existing = Open(o);
  ASSERT_TRUE(existing);
  EXPECT_TRUE(existing->OpenStore().ok());
  EXPECT_EQ(existing->List({})->size(), 1u);
}

TEST_F(RuntimeApiTest, ServesHttpOnABackgroundThread) {
  RuntimeOptions o = Options();
  o.job_modules = {"jobs.py"};
  auto rt = Open(o);
  ASSERT_TRUE(rt);
  ServeOptions so;
  so.tokens = {"read,write:s3cret-token-for-tests"};
  so.grace = 1;
  auto addr = rt->StartServing(so);
  ASSERT_TRUE(addr.ok()) << addr.status().ToString();
  EXPECT_TRUE(rt->StartServing(so).status().code() == Status::Code::kBusy);
  EXPECT_NE(Http(*addr, "GET", "/healthz").find("200 OK"), std::string::npos);
  // Without the token the API refuses; the job enqueued through the API runs.
  EXPECT_NE(Http(*addr, "GET", "/api/worker/jobs").find("401"), std::string::npos);
  EnqueueRequest r;
  r.queue = "py.add";
  r.payload_json = "{\"x\": 40, \"y\": 2}";
  auto id = rt->Enqueue(r);
  ASSERT_TRUE(id.ok());
  auto item = rt->Wait(*id, 30);
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item->result_json, "42");
  ASSERT_TRUE(rt->StopServing().ok());
  EXPECT_EQ(Http(*addr, "GET", "/healthz"), "");  // the socket is closed
  // Jobs still run without the HTTP service.
  r.payload_json = "{\"x\": 1, \"y\": 1}";
  auto after = rt->Enqueue(r);
  ASSERT_TRUE(after.ok());
  auto later = rt->Wait(*after, 30);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->result_json, "2") << later->ToJson();
  EXPECT_TRUE(rt->Close().ok());
}

// Enqueue to a job type the runtime serves makes a job, which the job API shows; to any
// other queue a work item, which it does not (issue #16: no robot item answers as a job).
TEST_F(RuntimeApiTest, EnqueueOfAServedTypeIsAJobAndOfAQueueAWorkItem) {
  RuntimeOptions o = Options();
  o.job_modules = {"jobs.py"};
  auto rt = Open(o);
  ASSERT_TRUE(rt);
  ServeOptions so;
  so.no_auth = true;
  so.grace = 1;
  auto addr = rt->StartServing(so);
  ASSERT_TRUE(addr.ok()) << addr.status().ToString();
  EnqueueRequest add;
  add.queue = "py.add";
  add.payload_json = "{\"x\": 1, \"y\": 2}";
  auto item = rt->Enqueue(Item("orders"));
  auto job = rt->Enqueue(add);
  auto batch = rt->EnqueueBatch({Item("orders"), add});
  ASSERT_TRUE(item.ok() && job.ok() && batch.ok());
  EXPECT_NE(Http(*addr, "GET", "/api/worker/jobs/" + *job).find("200 OK"), std::string::npos);
  EXPECT_NE(Http(*addr, "GET", "/api/worker/jobs/" + (*batch)[1]).find("200 OK"),
            std::string::npos);
  for (const std::string& id : {*item, (*batch)[0]}) {
    std::string reply = Http(*addr, "GET", "/api/worker/jobs/" + id);
    EXPECT_NE(reply.find("404"), std::string::npos) << reply;
    EXPECT_NE(reply.find("no job " + id), std::string::npos) << reply;
  }
  std::string list = Http(*addr, "GET", "/api/worker/jobs");
  EXPECT_NE(list.find("\"job_id\":\"" + *job + "\""), std::string::npos) << list;
  EXPECT_EQ(list.find("\"job_id\":\"" + *item + "\""), std::string::npos) << list;
  ASSERT_TRUE(rt->StopServing().ok());
  EXPECT_TRUE(rt->Close().ok());
}

TEST_F(RuntimeApiTest, ServesFromTheHostsOwnLoop) {
  auto rt = Open(Options());
  ASSERT_TRUE(rt);
  ServeOptions so;
  so.no_auth = true;
  so.grace = 1;
  auto addr = rt->ServeOnHostLoop(so);
  ASSERT_TRUE(addr.ok()) << addr.status().ToString();
  ASSERT_GE(rt->BackendFd(), 0);
  std::string reply;
  std::atomic<bool> answered{false};
  std::thread client([&] {
    reply = Http(*addr, "GET", "/healthz");
    answered = true;
  });
  int turns = 0;
  bool stop_asked = false;
  while (turns++ < 100000) {
    pollfd p{rt->BackendFd(), POLLIN, 0};
    int timeout = rt->BackendTimeout();
    poll(&p, 1, timeout < 0 || timeout > 50 ? 50 : timeout);
    if (!rt->RunLoopOnce()) break;
    if (answered && !stop_asked) {
      stop_asked = true;
      ASSERT_TRUE(rt->StopServing().ok());
    }
  }
  client.join();
  EXPECT_TRUE(stop_asked);
  EXPECT_FALSE(rt->RunLoopOnce());
  EXPECT_NE(reply.find("200 OK"), std::string::npos) << reply;
}

TEST_F(RuntimeApiTest, TwoRuntimesInOneProcessKeepTheirOwnStores) {
  RuntimeOptions a = Options();
  RuntimeOptions b = Options();
  b.store = (dir_ / "other.db").string();
  auto ra = Open(a);
  auto rb = Open(b);
  ASSERT_TRUE(ra && rb);
  EnqueueRequest r;
  r.queue = "q";
  auto id = ra->Enqueue(r);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(ra->Get(*id).ok());
  auto other = rb->Get(*id);
  EXPECT_TRUE(other.status().IsNotFound()) << other.status().ToString();
  EXPECT_TRUE(ra->Close().ok());
  // The second runtime still runs Python after the first closed.
  auto ok = rb->RunTask("Hello");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->exit_code, 0) << ok->stderr_text;
}

TEST_F(RuntimeApiTest, DiagnosticsGoToTheHostsSinkWhileItsRuntimeLives) {
  auto lines = std::make_shared<std::vector<std::string>>();
  auto mu = std::make_shared<std::mutex>();
  RuntimeOptions o = Options();
  o.log_level = "info";
  o.log = [lines, mu](std::string_view level, std::string_view line) {
    std::lock_guard<std::mutex> l(*mu);
    lines->push_back(std::string(level) + " " + std::string(line));
  };
  auto rt = Open(o);
  ASSERT_TRUE(rt);
  ServeOptions so;
  so.no_auth = true;
  so.grace = 1;
  ASSERT_TRUE(rt->StartServing(so).ok());
  ASSERT_TRUE(rt->Close().ok());
  size_t seen;
  {
    std::lock_guard<std::mutex> l(*mu);
    seen = lines->size();
    bool serving = false;
    for (const auto& line : *lines)
      serving = serving || line.find("info robotni: serving on http://127.0.0.1:") == 0;
    EXPECT_TRUE(serving) << (lines->empty() ? "no lines" : lines->front());
  }
  // A later runtime without a sink does not write to the closed one's.
  RuntimeOptions plain = Options();
  plain.log_level = "info";
  auto rt2 = Open(plain);
  ASSERT_TRUE(rt2);
  ASSERT_TRUE(rt2->StartServing(so).ok());
  ASSERT_TRUE(rt2->Close().ok());
  std::lock_guard<std::mutex> l(*mu);
  EXPECT_EQ(lines->size(), seen);
}

TEST(RuntimeVersionTest, NamesRobotniPythonAndSqlite) {
  std::string v = Runtime::VersionString();
  EXPECT_NE(v.find("robotni "), std::string::npos) << v;
  EXPECT_NE(v.find("Python 3.11"), std::string::npos) << v;
  EXPECT_NE(v.find("SQLite 3."), std::string::npos) << v;
}

}  // namespace
}  // namespace robotni
