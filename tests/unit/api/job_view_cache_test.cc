// JobViewCache on a real SQLite store: a view is kept until the store commits, by this
// process or by another one, and a view read across a commit is never kept.
#include "api/job_view_cache.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/sqlite/sqlite_store.h"

namespace robotni::api {
namespace {

namespace fs = std::filesystem;

class JobViewCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/robotni_job_views_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    db_ = dir_ + "/workitems.db";
    store::StoreOptions o;
    o.url = "sqlite://" + db_;
    auto s = store::sqlite::SqliteStore::Open(o, db_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    id_ = CreateJob();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string CreateJob() {
    store::NewItem item;
    item.queue = "add";
    item.kind = store::Kind::kJob;
    item.payload_json = "{}";
    auto id = store_->Create(item);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : "";
  }

  // Keeps a view of id_ read with nothing committed in between.
  void Keep(JobViewCache* cache) {
    cache->Put(cache->Begin(), id_, {"\"r-1\"", "{\"job_id\":\"" + id_ + "\"}"});
  }

  std::string dir_, db_, id_;
  std::unique_ptr<store::WorkItemStore> store_;
};

TEST_F(JobViewCacheTest, KeepsAViewUntilTheStoreCommits) {
  JobViewCache cache(store_.get());
  ASSERT_TRUE(store_->ReadCommitStamp().has_value());
  EXPECT_EQ(cache.Find(id_), nullptr);
  Keep(&cache);
  const JobViewCache::View* v = cache.Find(id_);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->etag, "\"r-1\"");
  EXPECT_NE(cache.Find(id_), nullptr);  // unchanged store: still kept
  EXPECT_EQ(cache.Find("999"), nullptr);

  CreateJob();  // any commit, here this process's own
  EXPECT_EQ(cache.Find(id_), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(JobViewCacheTest, ACommitByAnotherProcessForgetsTheViews) {
  JobViewCache cache(store_.get());
  ASSERT_TRUE(store_->ReadCommitStamp().has_value());
  Keep(&cache);
  ASSERT_NE(cache.Find(id_), nullptr);
  // Another process changes the job through its own SQLite connection.
  std::string cmd =
      "/usr/bin/python3.11 -c \"import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
      "c.execute('UPDATE items SET priority = 7 WHERE id = ' + sys.argv[2]); "
      "c.commit()\" " +
      db_ + " " + id_;
  ASSERT_EQ(system(cmd.c_str()), 0);
  EXPECT_EQ(cache.Find(id_), nullptr);
  auto it = store_->Get(id_);
  ASSERT_TRUE(it.ok());
  EXPECT_EQ(it->priority, 7);  // the commit the cache saw is the one that changed the job
}

TEST_F(JobViewCacheTest, AViewReadAcrossACommitIsNotKept) {
  JobViewCache cache(store_.get());
  uint64_t token = cache.Begin();
  CreateJob();  // commits while the read is "in flight"
  cache.Put(token, id_, {"\"r-1\"", "{}"});
  EXPECT_EQ(cache.Find(id_), nullptr);
  Keep(&cache);  // a read begun after the commit is kept
  EXPECT_NE(cache.Find(id_), nullptr);
}

TEST_F(JobViewCacheTest, KeepsNothingWithoutCommitStamps) {
  JobViewCache cache(nullptr);  // a store without stamps, as PostgreSQL
  Keep(&cache);
  EXPECT_EQ(cache.Find(id_), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

// The stamp is SQLite's own mapping of the WAL-index: it stays valid when another process
// opens and closes the database meanwhile (the first opener of a file re-initialises it).
TEST_F(JobViewCacheTest, OtherProcessesOpeningAndClosingTheStoreLeaveTheStampValid) {
  JobViewCache cache(store_.get());
  Keep(&cache);
  for (int i = 0; i < 3; ++i) {
    std::string cmd =
        "/usr/bin/python3.11 -c \"import sqlite3,sys; "
        "sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM items')"
        ".fetchone()\" " +
        db_;
    ASSERT_EQ(system(cmd.c_str()), 0);
  }
  EXPECT_NE(cache.Find(id_), nullptr);  // reads commit nothing
  CreateJob();
  EXPECT_EQ(cache.Find(id_), nullptr);
}

TEST_F(JobViewCacheTest, HoldsAtMostItsLimit) {
  JobViewCache cache(store_.get(), /*max_views=*/2);
  for (const char* id : {"a", "b", "c"}) cache.Put(cache.Begin(), id, {"\"r\"", "{}"});
  EXPECT_LE(cache.size(), 2u);
  EXPECT_NE(cache.Find("c"), nullptr);  // the newest is kept
}

}  // namespace
}  // namespace robotni::api
