// JobSubmitter on a real loop, WorkQueue and SQLite store: jobs submitted while an insert is
// in flight share one transaction, and a job the store refuses fails alone.
#include "api/job_submitter.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <uv.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/sqlite/sqlite_store.h"

namespace robotni::api {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class Sink : public ResponseSink {
 public:
  explicit Sink(std::vector<Response>* got) : got_(got) {}
  void Send(Response response) noexcept override { got_->push_back(std::move(response)); }

 private:
  std::vector<Response>* got_;
};

class JobSubmitterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/robotni_submitter_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store::StoreOptions o;
    o.url = "sqlite://" + dir_ + "/workitems.db";
    auto s = store::sqlite::SqliteStore::Open(o, dir_ + "/workitems.db");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    ctx_.store = store_.get();
    ctx_.blocking = &blocking_;
    ctx_.poster = loop::LoopPoster::Create(&loop_);
  }
  void TearDown() override {
    uv_loop_close(&loop_);
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static store::NewItem Job(std::string payload) {
    store::NewItem item;
    item.queue = "add";
    item.kind = store::Kind::kJob;
    item.payload_json = std::move(payload);
    return item;
  }

  // Submits `items` in one go on the loop thread, runs the loop until every one is answered.
  std::vector<Response> SubmitAll(std::vector<store::NewItem> items) {
    std::vector<Response> got;
    JobSubmitter submitter(&ctx_);
    const size_t n = items.size();
    for (auto& item : items)
      submitter.Submit(std::move(item), Responder(std::make_shared<Sink>(&got)));
    while (got.size() < n) uv_run(&loop_, UV_RUN_ONCE);
    ctx_.poster->Close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    return got;
  }

  std::string dir_;
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  uv_loop_t loop_;
  exec::WorkQueue blocking_{2};
  WorkerApiContext ctx_;
};

TEST_F(JobSubmitterTest, JobsSubmittedDuringAnInsertShareTheNextTransaction) {
  std::vector<store::NewItem> items;
  for (int i = 0; i < 100; ++i) items.push_back(Job("{\"x\": " + std::to_string(i) + "}"));
  auto before = store_->TEST_WriterStats();
  std::vector<Response> got = SubmitAll(std::move(items));
  ASSERT_EQ(got.size(), 100u);
  std::set<std::string> ids;
  for (const auto& r : got) {
    ASSERT_EQ(r.status, 202) << r.body;
    json body = json::parse(r.body);
    EXPECT_EQ(body["status"], "queued");
    ids.insert(body["job_id"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), 100u);
  // The first goes alone at once; the 99 submitted while it was in flight go together.
  auto after = store_->TEST_WriterStats();
  EXPECT_EQ(after.commits - before.commits, 2);
  for (const auto& id : ids) {
    auto it = store_->Get(id);
    ASSERT_TRUE(it.ok()) << it.status().ToString();
    EXPECT_EQ(it->kind, store::Kind::kJob);
  }
}

TEST_F(JobSubmitterTest, AJobTheStoreRefusesFailsAloneAndTheOthersAreCommitted) {
  std::vector<store::NewItem> items;
  for (int i = 0; i < 5; ++i)
    items.push_back(Job(i == 3 ? "{not json" : "{\"i\": " + std::to_string(i) + "}"));
  std::vector<Response> got = SubmitAll(std::move(items));
  ASSERT_EQ(got.size(), 5u);
  for (size_t i = 0; i < got.size(); ++i) {
    if (i == 3) {
      EXPECT_EQ(got[i].status, 400) << got[i].body;
      continue;
    }
    ASSERT_EQ(got[i].status, 202) << got[i].body;
    auto it = store_->Get(json::parse(got[i].body)["job_id"].get<std::string>());
    ASSERT_TRUE(it.ok());
    EXPECT_EQ(json::parse(it->payload_json)["i"], i);
  }
}

}  // namespace
}  // namespace robotni::api
