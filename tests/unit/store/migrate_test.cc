// MigrateStore (store/migrate.h) and the stores' Restore: every item, whatever its state,
// arrives with every field, its timeline and its files; schedules keep their ticks; a re-run
// writes nothing; held items and id clashes refuse the move before anything is written.
#include "store/migrate.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/unit/store/store_backends.h"

namespace robotni::store {
namespace {

namespace fs = std::filesystem;

// The source is a SQLite store; the target ("to") is the backend of the test's parameter, so
// .../postgresql moves SQLite -> PostgreSQL and, in the round trip, PostgreSQL -> SQLite.
class MigrateTest : public StoreBackendTest {
 protected:
  void SetUp() override {
    StoreBackendTest::SetUp();
    if (HasFatalFailure()) return;
    from_ = Open("from");
    ASSERT_NE(from_, nullptr);
  }
  void CloseStores() override { from_.reset(); }
  std::unique_ptr<WorkItemStore> Open(const std::string& name) {
    StoreOptions o;
    if (name == "to" && IsPostgres()) {
      o.url = url_;
    } else {
      fs::create_directories(dir_ + "/" + name);
      o.url = "sqlite://" + dir_ + "/" + name + "/workitems.db";
    }
    o.retry.base_delay_ms = 0;  // a retried item is due again at once
    o.retry.jitter = 0;
    auto s = WorkItemStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  std::string Add(const std::string& queue, const std::string& payload = "{}") {
    NewItem it;
    it.queue = queue;
    it.payload_json = payload;
    auto id = from_->Create(it);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : "";
  }
  Item Take(const std::string& queue) {
    ReserveRequest r;
    r.queues = {queue};
    r.owner = "runner-1";
    auto got = from_->Reserve(r);
    EXPECT_TRUE(got.ok() && got->size() == 1);
    return got.ok() && !got->empty() ? got->front() : Item{};
  }
  // A store holding nine items, in every state and with every kind of field.
  void Fill() {
    Add("plain", R"({"n":1})");
    NewItem later;
    later.queue = "plain";
    later.not_before_ms = 4102444800000;  // 2100: scheduled
    later.priority = 7;
    later.idempotency_key = "later-1";
    ASSERT_TRUE(from_->Create(later).ok());
    // DONE with a result, an output with a file, a progress line and a changed payload.
    Add("orders", R"({"order":1})");
    Item a = Take("orders");
    ASSERT_TRUE(from_->Progress(LeaseOf(a), "half way").ok());
    Completion done;
    done.lease = LeaseOf(a);
    done.result_json = R"({"total":3})";
    done.payload_json = R"({"order":1,"seen":true})";
    NewItem out;
    out.queue = "invoices";
    out.payload_json = R"({"for":1})";
    out.files.push_back({"invoice.pdf", std::string("%PDF\0binary", 11)});
    done.outputs.push_back(out);
    ASSERT_TRUE(from_->Complete(done).ok());
    // FAILED for business reasons, with a traceback.
    Add("orders", R"({"order":2})");
    Item b = Take("orders");
    Completion bad;
    bad.lease = LeaseOf(b);
    bad.ok = false;
    bad.exception_type = ExceptionType::kBusiness;
    bad.error_code = "NO_STOCK";
    bad.error_message = "none left";
    bad.traceback = "Traceback (most recent call last): ...";
    ASSERT_TRUE(from_->Complete(bad).ok());
    // An application failure retried once, then done: two attempts in its timeline.
    Add("flaky");
    Item c = Take("flaky");
    Completion oops;
    oops.lease = LeaseOf(c);
    oops.ok = false;
    oops.error_message = "timeout";
    ASSERT_TRUE(from_->Complete(oops).ok());
    Item c2 = Take("flaky");
    Completion fine;
    fine.lease = LeaseOf(c2);
    fine.result_json = "1";
    ASSERT_TRUE(from_->Complete(fine).ok());
    // CANCELLED, and a job with meta and a file.
    ASSERT_TRUE(from_->Cancel(Add("plain")).ok());
    NewItem job;
    job.queue = "notify.email.v1";
    job.kind = Kind::kJob;
    job.meta_json = R"({"webhooks":["https://example.com/h"]})";
    job.files.push_back({"job.log", "line 1\n"});
    auto jid = from_->Create(job);
    ASSERT_TRUE(jid.ok());
    ASSERT_TRUE(from_->RecordEvent(*jid, "webhook", "200 in 12 ms").ok());
    Schedule tick;
    tick.name = "nightly";
    tick.queue = "orders";
    tick.cron = "0 2 * * *";
    tick.timezone = "Europe/Helsinki";
    tick.params_json = R"({"full":true})";
    ASSERT_TRUE(from_->DefineSchedules({tick}).ok());
    auto defined = from_->ListSchedules();
    ASSERT_TRUE(defined.ok());
    NewItem fired;
    fired.queue = "orders";
    ASSERT_TRUE(from_
                    ->FireSchedule("nightly", defined->front().last_tick_ms,
                                   defined->front().last_tick_ms + 60000, fired)
                    .ok());
    ASSERT_TRUE(from_->SetSchedulePaused("nightly", true).ok());
  }
  std::vector<Item> All(WorkItemStore& s) {
    ListFilter f;
    f.newest_first = false;
    f.limit = 1000;
    auto items = s.List(f);
    EXPECT_TRUE(items.ok());
    return items.ok() ? *items : std::vector<Item>{};
  }
  // Every field of every item, its timeline and its files' bytes; schedules; counts.
  void ExpectSame(WorkItemStore& a, WorkItemStore& b) {
    std::vector<Item> xs = All(a), ys = All(b);
    ASSERT_EQ(xs.size(), ys.size());
    for (size_t i = 0; i < xs.size(); ++i) {
      const Item &x = xs[i], &y = ys[i];
      SCOPED_TRACE("item " + x.id);
      EXPECT_EQ(x.id, y.id);
      EXPECT_EQ(x.queue, y.queue);
      EXPECT_EQ(x.state, y.state);
      EXPECT_EQ(x.payload_json, y.payload_json);
      EXPECT_EQ(x.priority, y.priority);
      EXPECT_EQ(x.attempt, y.attempt);
      EXPECT_EQ(x.max_attempts, y.max_attempts);
      EXPECT_EQ(x.parent_id, y.parent_id);
      EXPECT_EQ(x.idempotency_key, y.idempotency_key);
      EXPECT_EQ(x.lease_owner, y.lease_owner);
      EXPECT_EQ(x.lease_expires_ms, y.lease_expires_ms);
      EXPECT_EQ(x.created_ms, y.created_ms);
      EXPECT_EQ(x.not_before_ms, y.not_before_ms);
      EXPECT_EQ(x.started_ms, y.started_ms);
      EXPECT_EQ(x.finished_ms, y.finished_ms);
      EXPECT_EQ(x.updated_ms, y.updated_ms);
      EXPECT_EQ(x.result_json, y.result_json);
      EXPECT_EQ(x.exception_type, y.exception_type);
      EXPECT_EQ(x.error_code, y.error_code);
      EXPECT_EQ(x.error_message, y.error_message);
      EXPECT_EQ(x.traceback, y.traceback);
      EXPECT_EQ(x.cancel_requested, y.cancel_requested);
      EXPECT_EQ(x.lease_token, y.lease_token);
      EXPECT_EQ(x.meta_json, y.meta_json);
      EXPECT_EQ(x.kind, y.kind);
      ASSERT_EQ(x.files.size(), y.files.size());
      for (size_t f = 0; f < x.files.size(); ++f) {
        EXPECT_EQ(x.files[f].name, y.files[f].name);
        EXPECT_EQ(x.files[f].size, y.files[f].size);
        EXPECT_EQ(x.files[f].sha256, y.files[f].sha256);
        auto bx = a.GetFile(x.id, x.files[f].name), by = b.GetFile(y.id, y.files[f].name);
        ASSERT_TRUE(bx.ok() && by.ok());
        EXPECT_EQ(*bx, *by);
      }
      auto tx = a.Timeline(x.id), ty = b.Timeline(y.id);
      ASSERT_TRUE(tx.ok() && ty.ok());
      ASSERT_EQ(tx->size(), ty->size());
      for (size_t t = 0; t < tx->size(); ++t) {
        EXPECT_EQ((*tx)[t].at_ms, (*ty)[t].at_ms);
        EXPECT_EQ((*tx)[t].event, (*ty)[t].event);
        EXPECT_EQ((*tx)[t].attempt, (*ty)[t].attempt);
        EXPECT_EQ((*tx)[t].message, (*ty)[t].message);
      }
    }
    auto sa = a.ListSchedules(), sb = b.ListSchedules();
    ASSERT_TRUE(sa.ok() && sb.ok());
    ASSERT_EQ(sa->size(), sb->size());
    for (size_t i = 0; i < sa->size(); ++i) {
      const Schedule &x = (*sa)[i], &y = (*sb)[i];
      EXPECT_EQ(x.name, y.name);
      EXPECT_EQ(x.queue, y.queue);
      EXPECT_EQ(x.cron, y.cron);
      EXPECT_EQ(x.timezone, y.timezone);
      EXPECT_EQ(x.params_json, y.params_json);
      EXPECT_EQ(x.paused, y.paused);
      EXPECT_EQ(x.last_tick_ms, y.last_tick_ms);
      EXPECT_EQ(x.last_job_id, y.last_job_id);
      EXPECT_EQ(x.updated_ms, y.updated_ms);
    }
    auto qa = a.Stats(""), qb = b.Stats("");
    ASSERT_TRUE(qa.ok() && qb.ok());
    ASSERT_EQ(qa->size(), qb->size());
    for (size_t i = 0; i < qa->size(); ++i) {
      EXPECT_EQ((*qa)[i].queue, (*qb)[i].queue);
      for (size_t k = 0; k < 6; ++k)
        EXPECT_EQ(StateCounts((*qa)[i])[k].count, StateCounts((*qb)[i])[k].count)
            << (*qa)[i].queue << " " << StateCounts((*qa)[i])[k].name;
    }
  }

  std::unique_ptr<WorkItemStore> from_;
};

TEST_P(MigrateTest, EveryItemArrivesWithEveryFieldTimelineAndFile) {
  Fill();
  auto to = Open("to");
  ASSERT_NE(to, nullptr);
  MigrateOptions o;
  o.batch_items = 3;  // several transactions
  auto r = MigrateStore(*from_, *to, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->items, 9);
  EXPECT_EQ(r->written, 9);
  EXPECT_EQ(r->files, 2);
  EXPECT_EQ(r->schedules, 1);
  EXPECT_GT(r->timeline_entries, 10);
  ExpectSame(*from_, *to);
  // And back, into a third store: the round trip keeps everything too.
  auto back = Open("back");
  ASSERT_TRUE(MigrateStore(*to, *back).ok());
  ExpectSame(*from_, *back);
}

TEST_P(MigrateTest, ARerunWritesNothingAndFinishesAMoveThatStopped) {
  Fill();
  auto to = Open("to");
  // A move that stopped after its first batch: the target holds the first three items.
  ListFilter first;
  first.newest_first = false;
  first.limit = 3;
  auto head = from_->List(first);
  ASSERT_TRUE(head.ok());
  std::vector<ItemRecord> part;
  for (const Item& it : *head) {
    ItemRecord rec;
    rec.item = it;
    rec.timeline = *from_->Timeline(it.id);
    for (const FileRef& f : it.files) rec.files.push_back({f.name, *from_->GetFile(it.id, f.name)});
    part.push_back(rec);
  }
  ASSERT_TRUE(to->Restore(part).ok());
  auto r = MigrateStore(*from_, *to);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->items, 9);
  EXPECT_EQ(r->written, 6);
  ExpectSame(*from_, *to);
  auto again = MigrateStore(*from_, *to);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->written, 0);
  ExpectSame(*from_, *to);
}

TEST_P(MigrateTest, TheTargetWorksOnAfterwards) {
  Fill();
  auto to = Open("to");
  ASSERT_TRUE(MigrateStore(*from_, *to).ok());
  ReserveRequest r;
  r.queues = {"plain"};
  r.owner = "new-node";
  auto got = to->Reserve(r);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front().id, "1");
  Completion c;
  c.lease = LeaseOf(got->front());
  ASSERT_TRUE(to->Complete(c).ok());
  // New ids go on above every migrated one; an idempotency key moved with its item.
  NewItem fresh;
  fresh.queue = "plain";
  auto id = to->Create(fresh);
  ASSERT_TRUE(id.ok());
  EXPECT_GT(std::stoll(*id), 9);
  NewItem dup;
  dup.queue = "plain";
  dup.idempotency_key = "later-1";
  EXPECT_EQ(*to->Create(dup), "2");
  // The fired schedule's job and its tick came along: the schedule is paused, at its tick.
  auto s = to->ListSchedules();
  ASSERT_TRUE(s.ok() && s->size() == 1);
  EXPECT_TRUE(s->front().paused);
  EXPECT_FALSE(s->front().last_job_id.empty());
  EXPECT_TRUE(to->Get(s->front().last_job_id).ok());
}

TEST_P(MigrateTest, AHeldItemRefusesTheMoveBeforeAnythingIsWritten) {
  Fill();
  Add("busy");
  Take("busy");
  auto to = Open("to");
  auto r = MigrateStore(*from_, *to);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kBusy);
  EXPECT_NE(r.status().message().find("busy (1)"), std::string::npos) << r.status().message();
  EXPECT_TRUE(All(*to).empty());
}

TEST_P(MigrateTest, AnotherItemUnderAMigratedIdIsAConflictAndTheBatchIsNotWritten) {
  Fill();
  auto to = Open("to");
  NewItem other;
  other.queue = "elsewhere";
  ASSERT_TRUE(to->Create(other).ok());  // id 1 in the target, another item
  auto r = MigrateStore(*from_, *to);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsConflict()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("under that id"), std::string::npos);
  EXPECT_EQ(All(*to).size(), 1u);
}

TEST_P(MigrateTest, RestoreRefusesReservedItemsAndBadRecords) {
  auto to = Open("to");
  ItemRecord held;
  held.item.id = "5";
  held.item.queue = "q";
  held.item.payload_json = "{}";
  held.item.state = State::kReserved;
  auto r = to->Restore({held});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("RESERVED"), std::string::npos);
  ItemRecord bad = held;
  bad.item.state = State::kPending;
  bad.item.payload_json = "{not json";
  EXPECT_TRUE(to->Restore({bad}).status().IsInvalidArgument());
  ItemRecord missing = bad;
  missing.item.payload_json = "{}";
  missing.item.files.push_back({"a.txt", 1, "00"});
  EXPECT_TRUE(to->Restore({missing}).status().IsInvalidArgument());
  ItemRecord noid = missing;
  noid.item.files.clear();
  noid.item.id = "x1";
  EXPECT_TRUE(to->Restore({noid}).status().IsInvalidArgument());
  EXPECT_TRUE(All(*to).empty());
}

ROBOTNI_STORE_BACKENDS(MigrateTest);

}  // namespace
}  // namespace robotni::store
