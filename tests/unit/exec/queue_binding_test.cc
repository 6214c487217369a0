// QueueBinding over a real SQLite store: deferred outputs, fencing, end of run.
#include "exec/queue_binding.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <chrono>
#include <thread>

#include <filesystem>
#include <set>

namespace robotni::exec {
namespace {

namespace fs = std::filesystem;

class QueueBindingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("qb-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    store::StoreOptions opts;
    opts.url = (dir_ / "workitems.db").string();
    auto s = store::WorkItemStore::Open(opts);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  std::unique_ptr<QueueBinding> Bind(const std::string& owner = "test-owner") {
    QueueBindingOptions o;
    o.input_queue = "in";
    o.output_queue = "out";
    o.owner = owner;
    return std::make_unique<QueueBinding>([this] { return store_.get(); }, o);
  }
  void Seed(int n) {
    std::vector<store::NewItem> items(n);
    for (int i = 0; i < n; ++i) {
      items[i].queue = "in";
      items[i].payload_json = "{\"n\":" + std::to_string(i) + "}";
    }
    ASSERT_TRUE(store_->CreateBatch(items).ok());
  }
  int64_t Count(const std::string& queue, store::State state) {
    store::ListFilter f;
    f.queue = queue;
    f.state = state;
    f.limit = 100000;
    auto items = store_->List(f);
    return items.ok() ? static_cast<int64_t>(items->size()) : -1;
  }

  fs::path dir_;
  std::unique_ptr<store::WorkItemStore> store_;
};

TEST_F(QueueBindingTest, OutputsCommitWithTheirParentsRelease) {
  Seed(1);
  auto b = Bind();
  auto id = b->ReserveInput();
  ASSERT_TRUE(id.ok() && id->has_value());
  auto out = b->CreateOutput(**id, "{\"x\":1}");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(b->AddFile(*out, "a.txt", "hello").ok());
  // Visible to the run, not yet to the store.
  EXPECT_EQ(*b->LoadPayload(*out), "{\"x\":1}");
  EXPECT_EQ(*b->GetFile(*out, "a.txt"), "hello");
  EXPECT_EQ(Count("out", store::State::kPending), 0);
  ASSERT_TRUE(b->ReleaseInput(**id, {}).ok());
  ASSERT_TRUE(b->Flush().ok());
  EXPECT_EQ(Count("out", store::State::kPending), 1);
  auto committed = store_->Get(*out);  // the id handed out before the commit is final
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(committed->parent_id, **id);
  EXPECT_EQ(*store_->GetFile(*out, "a.txt"), "hello");
  EXPECT_EQ(store_->Get(**id)->state, store::State::kDone);
}

TEST_F(QueueBindingTest, ReleasingTwiceIsRefused) {
  Seed(1);
  auto b = Bind();
  auto id = b->ReserveInput();
  ASSERT_TRUE(b->ReleaseInput(**id, {}).ok());
  Status again = b->ReleaseInput(**id, {});
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("already released"), std::string::npos);
}

TEST_F(QueueBindingTest, ConsumesAllItemsWithBatchedReservesAndReleases) {
  Seed(500);
  auto b = Bind();
  int n = 0;
  for (;;) {
    auto id = b->ReserveInput();
    ASSERT_TRUE(id.ok());
    if (!id->has_value()) break;
    ASSERT_TRUE(b->CreateOutput(**id, "{}").ok());
    ASSERT_TRUE(b->ReleaseInput(**id, {}).ok());
    ++n;
  }
  ASSERT_TRUE(b->Finish(true).ok());
  EXPECT_EQ(n, 500);
  EXPECT_EQ(Count("in", store::State::kDone), 500);
  EXPECT_EQ(Count("out", store::State::kPending), 500);
}

// Output ids come in blocks (1,024, then doubling, the next asked for ahead on a lane):
// across several blocks every output gets its own id and commits with its parent.
TEST_F(QueueBindingTest, OutputIdsStayUniqueAcrossAllocatedBlocks) {
  Seed(2000);
  auto b = Bind();
  std::set<std::string> ids;
  for (;;) {
    auto id = b->ReserveInput();
    ASSERT_TRUE(id.ok());
    if (!id->has_value()) break;
    for (int k = 0; k < 3; ++k) {
      auto out = b->CreateOutput(**id, "{\"k\":" + std::to_string(k) + "}");
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      EXPECT_TRUE(ids.insert(*out).second) << "id " << *out << " handed out twice";
    }
    ASSERT_TRUE(b->ReleaseInput(**id, {}).ok());
  }
  ASSERT_TRUE(b->Finish(true).ok());
  EXPECT_EQ(ids.size(), 6000u);
  EXPECT_EQ(Count("out", store::State::kPending), 6000);
  EXPECT_EQ(Count("in", store::State::kDone), 2000);
}

// A slow task's release does not wait for a full batch: it is committed within about
// max_completion_delay_ms even when the task releases nothing more for a long time.
TEST_F(QueueBindingTest, AReleaseReachesTheStoreSoonWithoutMoreReleases) {
  Seed(3);
  auto b = Bind();
  auto id = b->ReserveInput();
  ASSERT_TRUE(id.ok() && id->has_value());
  ASSERT_TRUE(b->CreateOutput(**id, "{}").ok());
  ASSERT_TRUE(b->ReleaseInput(**id, {}).ok());
  // The task now "works" on nothing: no Flush, no further call into the binding.
  bool done = false;
  for (int i = 0; i < 100 && !done; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    done = store_->Get(**id)->state == store::State::kDone;
  }
  EXPECT_TRUE(done) << "the release was still not committed after 2 s";
  EXPECT_EQ(Count("out", store::State::kPending), 1);
  ASSERT_TRUE(b->Finish(true).ok());
}

TEST_F(QueueBindingTest, FinishGivesBackPrefetchedAndSettlesHeldItems) {
  Seed(10);
  auto b = Bind();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(**b->ReserveInput());  // prefetches 1+2+4
  ASSERT_TRUE(b->ReleaseInput(ids[0], {}).ok());
  ASSERT_TRUE(b->Finish(/*task_passed=*/false).ok());
  // Released: DONE. Held but never released, task failed: APPLICATION retry.
  EXPECT_EQ(store_->Get(ids[0])->state, store::State::kDone);
  auto held = store_->Get(ids[1]);
  EXPECT_EQ(held->state, store::State::kPending);
  EXPECT_EQ(held->attempt, 1);
  // Prefetched, never handed out: back with the attempt not counted.
  EXPECT_EQ(Count("in", store::State::kReserved), 0);
  store::ListFilter f;
  f.queue = "in";
  f.state = store::State::kPending;
  int untouched = 0;
  auto pending = store_->List(f);
  ASSERT_TRUE(pending.ok());
  for (const auto& it : *pending)
    if (it.attempt == 0) ++untouched;
  EXPECT_EQ(untouched, 10 - 3);
}

TEST_F(QueueBindingTest, AGivenBackInputGoesBackUnspentEvenWhenTheTaskPassed) {
  // A worker's reserve-ahead the task never took: not DONE with the run, PENDING again
  // with its attempt not counted.
  Seed(2);
  auto b = Bind();
  std::string taken = **b->ReserveInput();
  std::string ahead = **b->ReserveInput();
  ASSERT_TRUE(b->ReleaseInput(taken, {}).ok());
  ASSERT_TRUE(b->GiveBack(ahead).ok());
  EXPECT_FALSE(b->GiveBack(ahead).ok()) << "no longer held";
  ASSERT_TRUE(b->Finish(/*task_passed=*/true).ok());
  EXPECT_EQ(store_->Get(taken)->state, store::State::kDone);
  auto back = store_->Get(ahead);
  EXPECT_EQ(back->state, store::State::kPending);
  EXPECT_EQ(back->attempt, 0);
}

TEST_F(QueueBindingTest, RetriedFailureDropsItsOutputs) {
  Seed(1);
  auto b = Bind();
  auto id = **b->ReserveInput();
  ASSERT_TRUE(b->CreateOutput(id, "{}").ok());
  python::WorkItemBackend::Release fail;
  fail.done = false;
  fail.type = store::ExceptionType::kApplication;
  fail.message = "flaky";
  ASSERT_TRUE(b->ReleaseInput(id, fail).ok());
  ASSERT_TRUE(b->Flush().ok());
  EXPECT_EQ(store_->Get(id)->state, store::State::kPending);  // will be retried
  EXPECT_EQ(Count("out", store::State::kPending), 0);         // so no outputs yet
}

TEST_F(QueueBindingTest, BusinessFailureKeepsItsOutputs) {
  Seed(1);
  auto b = Bind();
  auto id = **b->ReserveInput();
  ASSERT_TRUE(b->CreateOutput(id, "{\"status\":\"rejected\"}").ok());
  python::WorkItemBackend::Release fail;
  fail.done = false;
  fail.type = store::ExceptionType::kBusiness;
  fail.code = "BAD";
  ASSERT_TRUE(b->ReleaseInput(id, fail).ok());
  ASSERT_TRUE(b->Flush().ok());
  auto item = store_->Get(id);
  EXPECT_EQ(item->state, store::State::kFailed);
  EXPECT_EQ(item->error_code, "BAD");
  EXPECT_EQ(Count("out", store::State::kPending), 1);
}

TEST_F(QueueBindingTest, StaleHolderCannotCommitAndItsOutputsAreDiscarded) {
  Seed(1);
  auto stale = Bind("stale-owner");
  auto id = **stale->ReserveInput();
  ASSERT_TRUE(stale->CreateOutput(id, "{\"dup\":true}").ok());
  ASSERT_TRUE(stale->Flush().ok());  // its reserve-ahead has finished (found nothing)
  // The holder's process is declared dead; the item goes back and is taken again.
  ASSERT_TRUE(
      store_->ReleaseDeadOwners([](const std::string& o) { return o == "stale-owner"; }).ok());
  auto fresh = Bind("fresh-owner");
  auto reserved = fresh->ReserveInput();
  ASSERT_TRUE(reserved.ok() && reserved->has_value());
  auto again = **reserved;
  ASSERT_EQ(again, id);
  ASSERT_TRUE(fresh->CreateOutput(again, "{\"dup\":false}").ok());
  ASSERT_TRUE(fresh->ReleaseInput(again, {}).ok());
  ASSERT_TRUE(fresh->Flush().ok());
  ASSERT_TRUE(stale->ReleaseInput(id, {}).ok());  // queued...
  Status s = stale->Flush();                      // ...and refused at commit
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_EQ(Count("out", store::State::kPending), 1);
  EXPECT_EQ(store_->Get(id)->attempt, 2);
}

// robocorp's advanced template creates an output before the input loop and saves it after
// the loop released its parent: it commits once, after and fenced by the parent's release.
TEST_F(QueueBindingTest, OutputSavedAfterItsParentsReleaseCommitsOnce) {
  Seed(1);
  auto b = Bind();
  auto id = **b->ReserveInput();
  ASSERT_TRUE(b->ReleaseInput(id, {}).ok());  // still in the unsent batch
  auto out = b->CreateOutput(id, "{\"late\":true}");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(b->AddFile(*out, "late.txt", "x").ok());
  ASSERT_TRUE(b->Finish(true).ok());
  EXPECT_EQ(store_->Get(id)->state, store::State::kDone);
  EXPECT_EQ(Count("out", store::State::kPending), 1);
  EXPECT_EQ(store_->Get(*out)->parent_id, id);
  EXPECT_EQ(*store_->GetFile(*out, "late.txt"), "x");
}

// The parent failed and will be retried: its retry makes the output again, so the late save
// is refused, saying so, and nothing is written.
TEST_F(QueueBindingTest, OutputSavedAfterARetriedReleaseIsRefused) {
  Seed(1);
  auto b = Bind();
  auto id = **b->ReserveInput();
  python::WorkItemBackend::Release fail;
  fail.done = false;
  fail.type = store::ExceptionType::kApplication;
  fail.message = "flaky";
  ASSERT_TRUE(b->ReleaseInput(id, fail).ok());
  auto out = b->CreateOutput(id, "{}");
  EXPECT_TRUE(out.status().IsConflict()) << out.status().ToString();
  EXPECT_NE(out.status().message().find("the retry makes its outputs again"), std::string::npos)
      << out.status().ToString();
  ASSERT_TRUE(b->Finish(true).ok());
  EXPECT_EQ(store_->Get(id)->state, store::State::kPending);
  EXPECT_EQ(Count("out", store::State::kPending), 0);
}

// A holder whose lease was lost (its item taken and finished by another run) cannot add an
// output to that item by saving it late: one output, the other run's.
TEST_F(QueueBindingTest, StaleHoldersLateOutputIsRefused) {
  Seed(1);
  auto stale = Bind("stale-owner");
  auto id = **stale->ReserveInput();
  ASSERT_TRUE(stale->Flush().ok());
  ASSERT_TRUE(
      store_->ReleaseDeadOwners([](const std::string& o) { return o == "stale-owner"; }).ok());
  auto fresh = Bind("fresh-owner");
  auto again = **fresh->ReserveInput();
  ASSERT_EQ(again, id);
  ASSERT_TRUE(fresh->CreateOutput(again, "{\"dup\":false}").ok());
  ASSERT_TRUE(fresh->ReleaseInput(again, {}).ok());
  ASSERT_TRUE(fresh->Flush().ok());
  ASSERT_TRUE(stale->ReleaseInput(id, {}).ok());
  auto late = stale->CreateOutput(id, "{\"dup\":true}");
  EXPECT_TRUE(late.status().IsConflict()) << late.status().ToString();
  EXPECT_NE(late.status().message().find("lost the lease"), std::string::npos);
  EXPECT_TRUE(stale->Flush().IsConflict());  // the refused release is still reported
  EXPECT_EQ(Count("out", store::State::kPending), 1);
}

TEST_F(QueueBindingTest, EntryTaskGetsOneEmptyInputWhenQueueIsEmpty) {
  QueueBindingOptions o;
  o.input_queue = "in";
  o.output_queue = "out";
  o.owner = "o";
  o.seed_empty_input = true;
  QueueBinding b([this] { return store_.get(); }, o);
  auto id = b.ReserveInput();
  ASSERT_TRUE(id.ok() && id->has_value());
  EXPECT_EQ(*b.LoadPayload(**id), "{}");
  ASSERT_TRUE(b.ReleaseInput(**id, {}).ok());
  EXPECT_FALSE(b.ReserveInput()->has_value());
}

TEST_F(QueueBindingTest, BadPayloadAndFileNameAreRefused) {
  Seed(1);
  auto b = Bind();
  auto id = **b->ReserveInput();
  EXPECT_TRUE(b->CreateOutput(id, "{not json").status().IsInvalidArgument());
  EXPECT_TRUE(b->CreateOutput(id, std::string(2 << 20, ' ')).status().IsInvalidArgument());
  auto out = b->CreateOutput(id, "{}");
  EXPECT_TRUE(b->AddFile(*out, "../escape", "x").IsInvalidArgument());
  EXPECT_TRUE(b->AddFile(id, "a/b", "x").IsInvalidArgument());
}

}  // namespace
}  // namespace robotni::exec
