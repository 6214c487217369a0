// CompleteAndReserve and CompleteBatchAndReserve (SQLite and PostgreSQL): a runner's outcomes
// and its next reservation in one transaction, and the reserve still made when an outcome is
// refused.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"
#include "tests/unit/store/store_backends.h"

namespace robotni::store {
namespace {

// Group-commit counters of either backend: (commits, operations).
std::pair<int64_t, int64_t> WriterCounts(WorkItemStore* s) {
  if (auto* q = dynamic_cast<sqlite::SqliteStore*>(s)) {
    auto st = q->TEST_WriterStats();
    return {st.commits, st.ops};
  }
  auto st = dynamic_cast<postgres::PgStore*>(s)->TEST_WriterStats();
  return {st.commits, st.ops};
}

class CompleteAndReserveTest : public StoreBackendTest {
 protected:
  void SetUp() override {
    StoreBackendTest::SetUp();
    if (HasFatalFailure()) return;
    StoreOptions o;
    o.url = url_;
    auto s = WorkItemStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    for (int i = 0; i < 3; ++i) {
      NewItem it;
      it.queue = "q";
      it.payload_json = "{\"n\": " + std::to_string(i) + "}";
      ASSERT_TRUE(store_->Create(it).ok());
    }
  }
  void CloseStores() override { store_.reset(); }
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

  std::unique_ptr<WorkItemStore> store_;
};

TEST_P(CompleteAndReserveTest, TheOutcomeAndTheNextReservationShareOneCommit) {
  Item first = ReserveOne();
  Completion c;
  c.lease = LeaseOf(first);
  c.result_json = "42";
  auto before = WriterCounts(store_.get());
  auto r = store_->CompleteAndReserve(c, Request());
  auto after = WriterCounts(store_.get());
  ASSERT_TRUE(r.completed.ok()) << r.completed.ToString();
  ASSERT_TRUE(r.reserved.ok()) << r.reserved.status().ToString();
  ASSERT_EQ(r.reserved->size(), 1u);
  EXPECT_NE(r.reserved->front().id, first.id);
  EXPECT_EQ(r.reserved->front().state, State::kReserved);
  EXPECT_EQ(after.first - before.first, 1);    // commits
  EXPECT_EQ(after.second - before.second, 2);  // operations
  auto done = store_->Get(first.id);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, State::kDone);
  EXPECT_EQ(done->result_json, "42");
}

TEST_P(CompleteAndReserveTest, ALostLeaseIsRefusedAndTheNextIsStillReserved) {
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

TEST_P(CompleteAndReserveTest, AnOutcomeRefusedBeforeTheWriterStillReservesTheNext) {
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

TEST_P(CompleteAndReserveTest, ABadRequestIsRefusedAndTheOutcomeStillCommits) {
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

TEST_P(CompleteAndReserveTest, ARunOfOutcomesAndTheNextRunShareOneCommit) {
  ReserveRequest two = Request();
  two.max_items = 2;
  auto held = store_->Reserve(two);
  ASSERT_TRUE(held.ok() && held->size() == 2u);
  std::vector<Completion> cs(2);
  cs[0].lease = LeaseOf((*held)[0]);
  cs[0].result_json = "1";
  cs[1].lease = LeaseOf((*held)[1]);
  cs[1].lease.attempt += 1;  // lost: refused alone, the other still commits
  auto before = WriterCounts(store_.get());
  auto r = store_->CompleteBatchAndReserve(cs, two);
  auto after = WriterCounts(store_.get());
  ASSERT_EQ(r.completed.size(), 2u);
  EXPECT_TRUE(r.completed[0].ok()) << r.completed[0].ToString();
  EXPECT_TRUE(r.completed[1].IsConflict()) << r.completed[1].ToString();
  ASSERT_TRUE(r.reserved.ok()) << r.reserved.status().ToString();
  ASSERT_EQ(r.reserved->size(), 1u);         // the third, the last one left
  EXPECT_EQ(after.first - before.first, 1);  // one commit for all of it
  EXPECT_EQ(store_->Get((*held)[0].id)->state, State::kDone);
  EXPECT_EQ(store_->Get((*held)[1].id)->state, State::kReserved);
}

ROBOTNI_STORE_BACKENDS(CompleteAndReserveTest);

}  // namespace
}  // namespace robotni::store
