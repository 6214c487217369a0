// What only the PostgreSQL store has: its URL parameters, processes sharing one schema, a
// broken connection, and its schema checks. On the fixture's server (store_backends.h).
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_store.h"
#include "store/store.h"
#include "tests/unit/store/store_backends.h"

namespace robotni::store {
namespace {

class PgStoreTest : public StoreBackendTest {
 protected:
  std::unique_ptr<WorkItemStore> Open(StoreOptions o = {}) {
    o.url = url_;
    auto s = WorkItemStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  // Runs sql on a connection of its own to the test's database.
  std::string Admin(const std::string& sql) {
    const std::string base = url_.substr(0, url_.find('?'));
    PGconn* c = PQconnectdb(base.c_str());
    EXPECT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    PGresult* r = PQexec(c, sql.c_str());
    EXPECT_TRUE(PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK)
        << PQerrorMessage(c);
    std::string out = PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    PQfinish(c);
    return out;
  }
  std::string Schema() const {
    const size_t at = url_.find("search_path=") + 12;
    return url_.substr(at, url_.find('&', at) - at);
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, PgStoreTest, ::testing::Values(Backend::kPostgres), BackendName);

TEST_P(PgStoreTest, UrlParametersAreRobotnisOwnAndChecked) {
  auto u = postgres::ParsePgUrl(
      "postgresql://me:secret@db:5432/app?sslmode=disable&search_path=flow&read_pool=2");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->conninfo, "postgresql://me:secret@db:5432/app?sslmode=disable");
  EXPECT_EQ(u->schema, "flow");
  EXPECT_EQ(u->read_pool, 2);
  EXPECT_EQ(u->display.find("secret"), std::string::npos);
  EXPECT_EQ(postgres::ParsePgUrl("postgres://db/app")->schema, "public");
  EXPECT_TRUE(
      postgres::ParsePgUrl("postgres://db/app?search_path=a,b").status().IsInvalidArgument());
  EXPECT_TRUE(postgres::ParsePgUrl("postgres://db/app?read_pool=0").status().IsInvalidArgument());
}

TEST_P(PgStoreTest, TheStoreLivesInItsSchemaWithAVersion) {
  auto s = Open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->Create(NewItem{.queue = "q"}).ok());
  EXPECT_EQ(Admin("SELECT count(*) FROM \"" + Schema() + "\".items"), "1");
  EXPECT_EQ(Admin("SELECT max(version) FROM \"" + Schema() + "\".schema_version"), "1");
  s.reset();
  // A second open finds it as it was.
  s = Open();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->Stats("q")->at(0).pending, 1);
}

TEST_P(PgStoreTest, NewerSchemaAndForeignTablesAreRefusedUntouched) {
  Open().reset();
  Admin("UPDATE \"" + Schema() + "\".schema_version SET version = 99");
  StoreOptions o;
  o.url = url_;
  auto newer = WorkItemStore::Open(o);
  EXPECT_TRUE(newer.status().IsInvalidArgument()) << newer.status().ToString();
  EXPECT_NE(newer.status().message().find("newer robotni"), std::string::npos);

  o.url = url_ + "_foreign";
  Admin("CREATE SCHEMA \"" + Schema() + "_foreign\"; CREATE TABLE \"" + Schema() +
        "_foreign\".work_items(id int)");
  auto foreign = WorkItemStore::Open(o);
  EXPECT_TRUE(foreign.status().IsInvalidArgument()) << foreign.status().ToString();
  EXPECT_EQ(Admin("SELECT count(*) FROM pg_tables WHERE schemaname = '" + Schema() + "_foreign'"),
            "1");
  Admin("DROP SCHEMA \"" + Schema() + "_foreign\" CASCADE");

  o.url = url_ + "_missing";
  o.create_if_missing = false;
  EXPECT_TRUE(WorkItemStore::Open(o).status().IsNotFound());
}

TEST_P(PgStoreTest, TwoStoresSharingTheSchemaReserveEachItemOnce) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  constexpr int kItems = 200;
  std::vector<NewItem> items(kItems, NewItem{.queue = "shared"});
  ASSERT_TRUE(a->CreateBatch(items).ok());
  std::mutex mu;
  std::multiset<std::string> seen;
  auto drain = [&](WorkItemStore* s, const std::string& owner) {
    while (true) {
      auto got = s->Reserve(ReserveRequest{.queues = {"shared"}, .owner = owner, .max_items = 7});
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      if (got->empty()) return;
      for (const Item& it : *got) {
        ASSERT_TRUE(s->Complete(Completion{.lease = LeaseOf(it)}).ok());
        std::lock_guard<std::mutex> lk(mu);
        seen.insert(it.id);
      }
    }
  };
  std::thread ta(drain, a.get(), "a"), tb(drain, b.get(), "b");
  ta.join();
  tb.join();
  EXPECT_EQ(seen.size(), static_cast<size_t>(kItems));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size());
  EXPECT_EQ(a->Stats("shared")->at(0).done, kItems);
}

TEST_P(PgStoreTest, AnEndedConnectionFailsAtMostOneWriteAndNoRead) {
  // Its own application_name, so that only this store's connections are ended.
  url_ += "&application_name=" + Schema();
  auto s = Open();
  ASSERT_TRUE(s);
  auto id = s->Create(NewItem{.queue = "q"});
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(s->Get(*id).ok());  // a read connection is open and idle too
  EXPECT_EQ(Admin("SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity WHERE "
                  "application_name = '" +
                  Schema() + "'"),
            "2");
  // The writer's connection: noticed as ended before use (the write succeeds), or the call
  // fails saying so and leaves nothing; the next one reconnects either way.
  Status write = s->Create(NewItem{.queue = "q"}).status();
  if (!write.ok()) {
    EXPECT_TRUE(write.code() == Status::Code::kIOError) << write.ToString();
    EXPECT_NE(write.message().find("PostgreSQL unavailable"), std::string::npos)
        << write.ToString();
  }
  EXPECT_TRUE(s->Create(NewItem{.queue = "q"}).ok());
  // The idle reader was ended too: a read never fails for it (it is replaced).
  EXPECT_TRUE(s->Get(*id).ok());
  EXPECT_EQ(s->Stats("q")->at(0).pending, write.ok() ? 3 : 2);  // a failed create left nothing
}

TEST_P(PgStoreTest, ItemsMadeReadyElsewhereWakeAListeningStore) {
  auto a = Open();
  std::unique_ptr<WorkItemStore> b_store = Open();
  ASSERT_TRUE(a && b_store);
  auto* b = dynamic_cast<postgres::PgStore*>(b_store.get());
  ASSERT_NE(b, nullptr);
  std::mutex mu;
  std::condition_variable cv;
  int wakes = 0;
  b->SetWakeCallback([&] {
    std::lock_guard<std::mutex> lk(mu);
    ++wakes;
    cv.notify_all();
  });
  auto wait_for = [&](int n) {
    std::unique_lock<std::mutex> lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(30), [&] { return wakes >= n; });
  };
  ASSERT_TRUE(wait_for(1));  // listening: the (re)connect wake
  int seen;
  {
    std::lock_guard<std::mutex> lk(mu);
    seen = wakes;
  }
  auto id = a->Create(NewItem{.queue = "q"});  // another store (process) creates
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(wait_for(seen + 1));
  {
    std::lock_guard<std::mutex> lk(mu);
    seen = wakes;
  }
  // An item given back wakes it too.
  auto got = a->Reserve(ReserveRequest{.queues = {"q"}, .owner = "a"});
  ASSERT_TRUE(got.ok() && got->size() == 1);
  ASSERT_TRUE(a->Unreserve(LeaseOf(got->front())).ok());
  ASSERT_TRUE(wait_for(seen + 1));
  b_store.reset();  // stops the listener while it waits
}

}  // namespace
}  // namespace robotni::store
