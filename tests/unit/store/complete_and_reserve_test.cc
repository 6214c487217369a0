// SqliteStore::CompleteAndReserve: a runner's outcome and its next reservation in one
// transaction, and the reserve still made when the outcome is refused.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/sqlite/sqlite_store.h"

namespace robotni::store {
namespace {

namespace fs = std::filesystem;

class CompleteAndReserveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/robotni_car_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    StoreOptions o;
    o.url = "sqlite://" + dir_ + "/workitems.db";
    auto s = sqlite::SqliteStore::Open(o, dir_ + "/workitems.db");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    for (int i = 0; i < 3; ++i) {
      NewItem it;
      it.queue = "q";
      it.payload_json = "{\"n\": " + std::to_string(i) + "}";
      ASSERT_TRUE(store_->Create(it).ok());
    }
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static ReserveRequest Request() {
    ReserveRequest r;
    r.queues = {"q"};
    r.owner = "runner";
    return r;
  }
  Item ReserveOne() {
    auto got = store_->Reserve(Request());
    EXPECT_TRUE(got.ok() && got->size() == 1);
    return got.ok() && !got->empty() ? got->front() : Item{};
  }

  std::string dir_;
  std::unique_ptr<sqlite::SqliteStore> store_;
};

TEST_F(CompleteAndReserveTest, TheOutcomeAndTheNextReservationShareOneCommit) {
  Item first = ReserveOne();
  Completion c;
  c.lease = LeaseOf(first);
  c.result_json = "42";
  auto before = store_->TEST_WriterStats();
  auto r = store_->CompleteAndReserve(c, Request());
  auto after = store_->TEST_WriterStats();
  ASSERT_TRUE(r.completed.ok()) << r.completed.ToString();
  ASSERT_TRUE(r.reserved.ok()) << r.reserved.status().ToString();
  ASSERT_EQ(r.reserved->size(), 1u);
  EXPECT_NE(r.reserved->front().id, first.id);
  EXPECT_EQ(r.reserved->front().state, State::kReserved);
  EXPECT_EQ(after.commits - before.commits, 1);
  EXPECT_EQ(after.ops - before.ops, 2);
  auto done = store_->Get(first.id);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, State::kDone);
  EXPECT_EQ(done->result_json, "42");
}

TEST_F(CompleteAndReserveTest, ALostLeaseIsRefusedAndTheNextIsStillReserved) {
  Item first = ReserveOne();
  Completion c;
  c.lease = LeaseOf(first);
  c.lease.attempt += 1;  // not the attempt that holds it
  auto r = store_->CompleteAndReserve(c, Request());
  EXPECT_TRUE(r.completed.IsConflict()) << r.completed.ToString();
  ASSERT_TRUE(r.reserved.ok()) << r.reserved.status().ToString();
  ASSERT_EQ(r.reserved->size(), 1u);
  EXPECT_NE(r.reserved->front().id, first.id);
  auto held = store_->Get(first.id);
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->state, State::kReserved);  // untouched
}

TEST_F(CompleteAndReserveTest, AnOutcomeRefusedBeforeTheWriterStillReservesTheNext) {
  Item first = ReserveOne();
  Completion c;
  c.lease = LeaseOf(first);
  c.result_json = "{not json";
  auto r = store_->CompleteAndReserve(c, Request());
  EXPECT_TRUE(r.completed.IsInvalidArgument()) << r.completed.ToString();
  ASSERT_TRUE(r.reserved.ok()) << r.reserved.status().ToString();
  ASSERT_EQ(r.reserved->size(), 1u);
  // Nothing is left queued behind a later operation of this thread.
  auto again = store_->Reserve(Request());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 1u);
  auto none = store_->Reserve(Request());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(CompleteAndReserveTest, ABadRequestIsRefusedAndTheOutcomeStillCommits) {
  Item first = ReserveOne();
  Completion c;
  c.lease = LeaseOf(first);
  ReserveRequest bad = Request();
  bad.owner.clear();
  auto r = store_->CompleteAndReserve(c, bad);
  EXPECT_TRUE(r.completed.ok()) << r.completed.ToString();
  EXPECT_TRUE(r.reserved.status().IsInvalidArgument());
  EXPECT_EQ(store_->Get(first.id)->state, State::kDone);
}

}  // namespace
}  // namespace robotni::store
