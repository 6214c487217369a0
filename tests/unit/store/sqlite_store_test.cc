// Tests for the work-item store. TEST_P(StoreTest, ...) runs on both backends (a SQLite file
// in a temp directory, a schema on the ctest fixture's PostgreSQL: store_backends.h);
// TEST_F(SqliteStoreTest, ...) tests what only the SQLite store has (its file, WAL, files on
// disk, migrations of its schema, group-commit counters).

#include "store/sqlite/sqlite_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/sha256.h"
#include "store/sqlite/schema.h"
#include "store/store.h"
#include "tests/unit/store/store_backends.h"

namespace robotni::store {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

#define ASSERT_ROBOTNI_OK(expr)                      \
  do {                                               \
    const auto& _s = (expr);                         \
    ASSERT_TRUE(_s.ok()) << StatusOf(_s).ToString(); \
  } while (0)
#define EXPECT_ROBOTNI_OK(expr)                      \
  do {                                               \
    const auto& _s = (expr);                         \
    EXPECT_TRUE(_s.ok()) << StatusOf(_s).ToString(); \
  } while (0)

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const StatusOr<T>& s) {
  return s.status();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/robotni_store_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    db_path_ = dir_ + "/workitems.db";
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
  }

  StoreOptions Options() {
    StoreOptions o;
    o.url = "sqlite://" + db_path_;
    o.now_ms = [this] { return now_.load(); };
    o.retry.base_delay_ms = 1000;
    o.retry.max_delay_ms = 60000;
    o.retry.jitter = 0.2;
    return o;
  }

  void OpenStore(StoreOptions o) {
    auto s = sqlite::SqliteStore::Open(o, db_path_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void OpenStore() { OpenStore(Options()); }

  std::string MustCreate(NewItem item) {
    auto id = store_->Create(item);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : "";
  }
  std::string MustCreate(const std::string& queue, const std::string& payload = "{}",
                         int priority = 0) {
    NewItem it;
    it.queue = queue;
    it.payload_json = payload;
    it.priority = priority;
    return MustCreate(it);
  }

  std::vector<Item> ReserveN(std::vector<std::string> queues, int n,
                             const std::string& owner = "w1", int64_t lease_ms = 30000) {
    ReserveRequest r;
    r.queues = std::move(queues);
    r.owner = owner;
    r.max_items = n;
    r.lease_ms = lease_ms;
    auto items = store_->Reserve(r);
    EXPECT_TRUE(items.ok()) << items.status().ToString();
    return items.ok() ? *items : std::vector<Item>{};
  }
  std::optional<Item> ReserveOne(const std::string& queue, const std::string& owner = "w1",
                                 int64_t lease_ms = 30000) {
    auto v = ReserveN({queue}, 1, owner, lease_ms);
    if (v.empty()) return std::nullopt;
    return v[0];
  }

  Item MustGet(const std::string& id) {
    auto it = store_->Get(id);
    EXPECT_TRUE(it.ok()) << it.status().ToString();
    return it.ok() ? *it : Item{};
  }
  std::vector<std::string> Events(const std::string& id) {
    std::vector<std::string> out;
    auto tl = store_->Timeline(id);
    EXPECT_TRUE(tl.ok());
    if (tl.ok())
      for (auto& e : *tl) out.push_back(e.event);
    return out;
  }

  std::string dir_, db_path_;
  std::atomic<int64_t> now_{1'700'000'000'000};
  std::unique_ptr<sqlite::SqliteStore> store_;
};

// The same helpers on either backend (store_backends.h): the tests below marked TEST_P run
// on SQLite and on PostgreSQL.
class StoreTest : public StoreBackendTest {
 protected:
  void CloseStores() override { store_.reset(); }

  StoreOptions Options() {
    StoreOptions o;
    o.url = url_;
    o.now_ms = [this] { return now_.load(); };
    o.retry.base_delay_ms = 1000;
    o.retry.max_delay_ms = 60000;
    o.retry.jitter = 0.2;
    return o;
  }

  void OpenStore(StoreOptions o) {
    auto s = WorkItemStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void OpenStore() { OpenStore(Options()); }
  // The SQLite store, for what only it has (files on disk); nullptr on PostgreSQL.
  sqlite::SqliteStore* AsSqlite() { return dynamic_cast<sqlite::SqliteStore*>(store_.get()); }

  std::string MustCreate(NewItem item) {
    auto id = store_->Create(item);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : "";
  }
  std::string MustCreate(const std::string& queue, const std::string& payload = "{}",
                         int priority = 0) {
    NewItem it;
    it.queue = queue;
    it.payload_json = payload;
    it.priority = priority;
    return MustCreate(it);
  }

  std::vector<Item> ReserveN(std::vector<std::string> queues, int n,
                             const std::string& owner = "w1", int64_t lease_ms = 30000) {
    ReserveRequest r;
    r.queues = std::move(queues);
    r.owner = owner;
    r.max_items = n;
    r.lease_ms = lease_ms;
    auto items = store_->Reserve(r);
    EXPECT_TRUE(items.ok()) << items.status().ToString();
    return items.ok() ? *items : std::vector<Item>{};
  }
  std::optional<Item> ReserveOne(const std::string& queue, const std::string& owner = "w1",
                                 int64_t lease_ms = 30000) {
    auto v = ReserveN({queue}, 1, owner, lease_ms);
    if (v.empty()) return std::nullopt;
    return v[0];
  }

  Item MustGet(const std::string& id) {
    auto it = store_->Get(id);
    EXPECT_TRUE(it.ok()) << it.status().ToString();
    return it.ok() ? *it : Item{};
  }
  std::vector<std::string> Events(const std::string& id) {
    std::vector<std::string> out;
    auto tl = store_->Timeline(id);
    EXPECT_TRUE(tl.ok());
    if (tl.ok())
      for (auto& e : *tl) out.push_back(e.event);
    return out;
  }

  std::atomic<int64_t> now_{1'700'000'000'000};
  std::unique_ptr<WorkItemStore> store_;
};

ROBOTNI_STORE_BACKENDS(StoreTest);

// ----------------------------------------------------------------------------- names

TEST(StoreNamesTest, StateNamesRoundTripAndAliases) {
  for (State s :
       {State::kPending, State::kReserved, State::kDone, State::kFailed, State::kCancelled}) {
    EXPECT_EQ(ParseState(StateName(s)), s);
  }
  EXPECT_EQ(ParseState("IN_PROGRESS"), State::kReserved);
  EXPECT_EQ(ParseState("inprogress"), State::kReserved);
  EXPECT_EQ(ParseState("success"), State::kDone);
  EXPECT_EQ(ParseState("revoked"), State::kCancelled);
  EXPECT_EQ(ParseState("scheduled"), State::kPending);
  EXPECT_EQ(ParseState("bogus"), std::nullopt);
  EXPECT_STREQ(ExceptionTypeName(ExceptionType::kBusiness), "BUSINESS");
  EXPECT_STREQ(ExceptionTypeName(ExceptionType::kNone), "");
}

TEST(StoreNamesTest, FileNameValidationTable) {
  struct Case {
    std::string name;
    bool ok;
  } cases[] = {
      {"report.pdf", true},
      {"a", true},
      {"..hidden", true},
      {"with space.txt", true},
      {std::string(255, 'x'), true},
      {"", false},
      {".", false},
      {"..", false},
      {"a/b", false},
      {"/etc/passwd", false},
      {"../escape", false},
      {"a\\b", false},
      {std::string("a\0b", 3), false},
      {std::string(256, 'x'), false},
  };
  for (const Case& c : cases) {
    Status s = ValidateFileName(c.name);
    EXPECT_EQ(s.ok(), c.ok) << "'" << c.name << "': " << s.ToString();
    if (!c.ok) {
      EXPECT_TRUE(s.IsInvalidArgument());
    }
  }
}

// ----------------------------------------------------------------------------- open

TEST_F(SqliteStoreTest, OpenByUrlCreatesDatabaseAndReopens) {
  StoreOptions o = Options();
  auto s = WorkItemStore::Open(o);
  ASSERT_ROBOTNI_OK(s);
  auto id = (*s)->Create(NewItem{.queue = "q", .payload_json = R"({"a":1})"});
  ASSERT_ROBOTNI_OK(id);
  s->reset();
  EXPECT_TRUE(fs::exists(db_path_));
  // Plain path works too, and the item survived the restart.
  o.url = db_path_;
  auto again = WorkItemStore::Open(o);
  ASSERT_ROBOTNI_OK(again);
  auto it = (*again)->Get(*id);
  ASSERT_ROBOTNI_OK(it);
  EXPECT_EQ(it->payload_json, R"({"a":1})");
}

TEST_P(StoreTest, OpenRejectsBadUrls) {
  StoreOptions o;
  o.url = "sqlite://relative.db";
  EXPECT_TRUE(WorkItemStore::Open(o).status().IsInvalidArgument());
  o.url = "redis://localhost";
  EXPECT_TRUE(WorkItemStore::Open(o).status().IsInvalidArgument());
  o.url = "";
  EXPECT_TRUE(WorkItemStore::Open(o).status().IsInvalidArgument());
  o.url = url_ + ",other";  // search_path names one schema
  EXPECT_EQ(WorkItemStore::Open(o).status().IsInvalidArgument(), IsPostgres());
}

TEST_F(SqliteStoreTest, NotADatabaseFileIsRefusedAndLeftUntouched) {
  const std::string content = "name,amount\nalice,10\nthis is a CSV, not SQLite\n";
  { std::ofstream(db_path_, std::ios::binary) << content; }
  auto s = sqlite::SqliteStore::Open(Options(), db_path_);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.status().IsInvalidArgument()) << s.status().ToString();
  EXPECT_THAT(s.status().message(), HasSubstr(db_path_));
  EXPECT_THAT(s.status().message(), HasSubstr("not a SQLite database"));
  EXPECT_EQ(ReadAll(db_path_), content);
  EXPECT_FALSE(fs::exists(db_path_ + "-wal"));
  EXPECT_FALSE(fs::exists(db_path_ + "-journal"));
}

TEST_F(SqliteStoreTest, DirectoryPathIsRefused) {
  fs::create_directories(db_path_);
  auto s = sqlite::SqliteStore::Open(Options(), db_path_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr(db_path_));
}

TEST_F(SqliteStoreTest, ReadOnlyFileIsRefusedWithIOError) {
  OpenStore();
  MustCreate("q");
  store_.reset();
  fs::remove(db_path_ + "-wal");
  fs::remove(db_path_ + "-shm");
  std::string before = ReadAll(db_path_);
  ASSERT_EQ(chmod(db_path_.c_str(), 0444), 0);
  auto s = sqlite::SqliteStore::Open(Options(), db_path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kIOError) << s.status().ToString();
  EXPECT_THAT(s.status().message(), HasSubstr(db_path_));
  EXPECT_EQ(ReadAll(db_path_), before);
  // read_only opens it for reading.
  StoreOptions o = Options();
  o.read_only = true;
  auto ro = sqlite::SqliteStore::Open(o, db_path_);
  ASSERT_ROBOTNI_OK(ro);
  auto st = (*ro)->Stats("");
  ASSERT_ROBOTNI_OK(st);
  ASSERT_EQ(st->size(), 1u);
  EXPECT_EQ((*st)[0].pending, 1);
  EXPECT_FALSE((*ro)->Create(NewItem{.queue = "q"}).ok());
}

TEST_F(SqliteStoreTest, ReadOnlyDirectoryIsRefusedWithIOError) {
  std::string ro_dir = dir_ + "/ro";
  fs::create_directories(ro_dir);
  ASSERT_EQ(chmod(ro_dir.c_str(), 0555), 0);
  std::string path = ro_dir + "/workitems.db";
  auto s = sqlite::SqliteStore::Open(Options(), path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kIOError) << s.status().ToString();
  EXPECT_THAT(s.status().message(), HasSubstr(ro_dir));
  EXPECT_FALSE(fs::exists(path));
}

// Another program's database (here an Action Server's work_items table) is not taken over:
// refused with what it is, and left as it was.
TEST_F(SqliteStoreTest, ForeignDatabaseIsRefusedAndLeftIntact) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE work_items(id TEXT PRIMARY KEY, state TEXT);"
                         "INSERT INTO work_items VALUES('a', 'PENDING')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto s = sqlite::SqliteStore::Open(Options(), db_path_);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.status().IsInvalidArgument());
  EXPECT_THAT(s.status().message(), HasSubstr("is not a robotni work-item store"));
  EXPECT_THAT(s.status().message(), HasSubstr("Action Server"));
  EXPECT_THAT(s.status().message(), HasSubstr("robotni items import --from-action-server"));
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT (SELECT count(*) FROM sqlite_master WHERE type='table'), "
                               "(SELECT state FROM work_items)",
                               -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 1);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)), "PENDING");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, NewerSchemaVersionIsRefusedAndLeftIntact) {
  OpenStore();
  std::string id = MustCreate("q", R"({"keep":true})");
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto s = sqlite::SqliteStore::Open(Options(), db_path_);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.status().IsInvalidArgument());
  EXPECT_THAT(s.status().message(), HasSubstr("was written by a newer robotni (schema 99"));
  EXPECT_THAT(s.status().message(),
              HasSubstr("this build knows " + std::to_string(sqlite::CurrentSchemaVersion())));

  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT (SELECT version FROM schema_version), "
                               "(SELECT payload FROM items WHERE id = 1)",
                               -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 99);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)), R"({"keep":true})");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// ----------------------------------------------------------------------------- create

TEST_P(StoreTest, CreateAndGet) {
  OpenStore();
  NewItem n;
  n.queue = "invoices";
  n.payload_json = R"({"invoice":42})";
  n.priority = 5;
  n.max_attempts = 4;
  std::string id = MustCreate(n);
  EXPECT_EQ(id, "1");
  Item it = MustGet(id);
  EXPECT_EQ(it.queue, "invoices");
  EXPECT_EQ(it.state, State::kPending);
  EXPECT_EQ(it.payload_json, R"({"invoice":42})");
  EXPECT_EQ(it.priority, 5);
  EXPECT_EQ(it.max_attempts, 4);
  EXPECT_EQ(it.attempt, 0);
  EXPECT_EQ(it.created_ms, now_.load());
  EXPECT_EQ(Events(id), std::vector<std::string>{"queued"});
  EXPECT_TRUE(store_->Get("999").status().IsNotFound());
  EXPECT_TRUE(store_->Get("abc").status().IsNotFound());
}

TEST_P(StoreTest, CreateRejectsInvalidPayload) {
  OpenStore();
  for (const char* bad : {"", "{", "{'a':1}", "[1,2", "nope"}) {
    auto s = store_->Create(NewItem{.queue = "q", .payload_json = bad});
    EXPECT_TRUE(s.status().IsInvalidArgument()) << bad;
    EXPECT_THAT(s.status().message(), HasSubstr("not valid JSON"));
  }
  EXPECT_TRUE(store_->Create(NewItem{.queue = ""}).status().IsInvalidArgument());
  EXPECT_TRUE(
      store_->Create(NewItem{.queue = "q", .max_attempts = 0}).status().IsInvalidArgument());
  for (const char* good : {"{}", "[]", "1", "\"s\"", "null"}) {
    EXPECT_ROBOTNI_OK(store_->Create(NewItem{.queue = "q", .payload_json = good}));
  }
}

TEST_P(StoreTest, PayloadTooLargeIsRefused) {
  StoreOptions o = Options();
  o.max_payload_bytes = 100;
  OpenStore(o);
  std::string big = "\"" + std::string(200, 'x') + "\"";
  auto s = store_->Create(NewItem{.queue = "q", .payload_json = big});
  EXPECT_TRUE(s.status().IsInvalidArgument());
  EXPECT_THAT(s.status().message(), HasSubstr("limit is 100"));
  auto st = store_->Stats("");
  ASSERT_ROBOTNI_OK(st);
  EXPECT_TRUE(st->empty());
}

// Deep nesting costs a stack frame a level wherever a value is copied or dumped: the store
// refuses it for payloads, results and outputs alike (core/json_limits.h).
TEST_P(StoreTest, JsonNestedPastTheLimitIsRefusedEverywhere) {
  OpenStore();
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  auto s = store_->Create(NewItem{.queue = "q", .payload_json = nested(70000)});
  EXPECT_TRUE(s.status().IsInvalidArgument());
  EXPECT_THAT(s.status().message(), HasSubstr("payload is nested deeper than 128 levels"));
  EXPECT_ROBOTNI_OK(store_->Create(NewItem{.queue = "q", .payload_json = nested(128)}));
  EXPECT_TRUE(store_->Create(NewItem{.queue = "q", .payload_json = nested(129)})
                  .status()
                  .IsInvalidArgument());
  auto it = ReserveOne("q");
  ASSERT_TRUE(it);
  Status r = store_->Complete(Completion{.lease = LeaseOf(*it), .result_json = nested(1000)});
  EXPECT_TRUE(r.IsInvalidArgument()) << r.ToString();
  EXPECT_THAT(r.message(), HasSubstr("result is nested deeper than 128 levels"));
  Completion with_output{.lease = LeaseOf(*it)};
  with_output.outputs.push_back(NewItem{.queue = "out", .payload_json = nested(500)});
  EXPECT_TRUE(store_->Complete(with_output).IsInvalidArgument());
  EXPECT_EQ(MustGet(it->id).state, State::kReserved);  // nothing of the refused outcomes kept
}

TEST_P(StoreTest, CreateBatchIsAllOrNothing) {
  OpenStore();
  std::vector<NewItem> items(5, NewItem{.queue = "q"});
  auto ids = store_->CreateBatch(items);
  ASSERT_ROBOTNI_OK(ids);
  EXPECT_EQ(*ids, (std::vector<std::string>{"1", "2", "3", "4", "5"}));
  items[3].payload_json = "{broken";
  auto bad = store_->CreateBatch(items);
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_THAT(bad.status().message(), HasSubstr("items[3]"));
  auto st = store_->Stats("q");
  ASSERT_ROBOTNI_OK(st);
  EXPECT_EQ((*st)[0].pending, 5);
}

// Batches go to PostgreSQL as arrays in one statement: every character of their text must
// come back as it went in, and items with a key or files keep their place among the others.
TEST_P(StoreTest, BatchesKeepEveryCharacterOfTheirText) {
  OpenStore();
  const std::string tricky = R"({"s": "q\"uote \\ back {brace}, comma NULL ,\"\" é \u0000 \t"})";
  const std::string meta = R"({"m": "{\"nested\": [1, 2]}, NULL"})";
  std::vector<NewItem> items = {
      NewItem{.queue = "q", .payload_json = tricky, .meta_json = meta, .kind = Kind::kJob},
      NewItem{.queue = "q", .payload_json = "{}", .idempotency_key = "key,\"1\""},
      NewItem{.queue = "q", .payload_json = R"(["NULL", null, "\\"])", .priority = -3},
      NewItem{.queue = "q", .payload_json = "{}", .idempotency_key = "key,\"1\""},
  };
  auto ids = store_->CreateBatch(items);
  ASSERT_ROBOTNI_OK(ids);
  ASSERT_EQ(ids->size(), 4u);
  EXPECT_EQ((*ids)[1], (*ids)[3]);
  EXPECT_LT(std::stoll((*ids)[0]), std::stoll((*ids)[1]));
  EXPECT_LT(std::stoll((*ids)[1]), std::stoll((*ids)[2]));
  Item first = MustGet((*ids)[0]);
  EXPECT_EQ(first.payload_json, tricky);
  EXPECT_EQ(first.meta_json, meta);
  EXPECT_EQ(first.kind, Kind::kJob);
  EXPECT_EQ(MustGet((*ids)[1]).idempotency_key, "key,\"1\"");
  EXPECT_EQ(MustGet((*ids)[2]).payload_json, R"(["NULL", null, "\\"])");
  EXPECT_EQ(MustGet((*ids)[2]).priority, -3);
  EXPECT_EQ(MustGet((*ids)[2]).kind, Kind::kItem);

  auto held = ReserveN({"q"}, 3);
  ASSERT_EQ(held.size(), 3u);
  std::vector<Completion> cs;
  for (const Item& it : held) cs.push_back(Completion{.lease = LeaseOf(it)});
  cs[0].result_json = tricky;
  cs[0].payload_json = R"({"after": "\\\"x\""})";
  cs[0].outputs.push_back(NewItem{.queue = "out", .payload_json = tricky, .meta_json = meta});
  cs[1].result_json = "";  // no result: NULL, not an empty string
  cs[2].result_json = R"("NULL")";
  auto res = store_->CompleteBatch(cs);
  for (const Status& r : res) EXPECT_ROBOTNI_OK(r);
  Item done = MustGet(held[0].id);
  EXPECT_EQ(done.state, State::kDone);
  EXPECT_EQ(done.result_json, tricky);
  EXPECT_EQ(done.payload_json, R"({"after": "\\\"x\""})");
  EXPECT_EQ(MustGet(held[1].id).result_json, "");
  EXPECT_EQ(MustGet(held[1].id).payload_json, held[1].payload_json);
  EXPECT_EQ(MustGet(held[2].id).result_json, R"("NULL")");
  auto out = ReserveN({"out"}, 2);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload_json, tricky);
  EXPECT_EQ(out[0].meta_json, meta);
  EXPECT_EQ(out[0].parent_id, held[0].id);
}

TEST_P(StoreTest, IdempotencyKeyReturnsTheFirstItem) {
  OpenStore();
  NewItem n{.queue = "q", .payload_json = R"({"v":1})", .idempotency_key = "order-7"};
  std::string first = MustCreate(n);
  n.payload_json = R"({"v":2})";
  EXPECT_EQ(MustCreate(n), first);
  EXPECT_EQ(MustGet(first).payload_json, R"({"v":1})");
  EXPECT_EQ(MustGet(first).idempotency_key, "order-7");
  // Same key twice inside one batch, and a fresh key.
  auto ids = store_->CreateBatch({NewItem{.queue = "q", .idempotency_key = "k2"},
                                  NewItem{.queue = "q", .idempotency_key = "k2"},
                                  NewItem{.queue = "q", .idempotency_key = "order-7"}});
  ASSERT_ROBOTNI_OK(ids);
  EXPECT_EQ((*ids)[0], (*ids)[1]);
  EXPECT_EQ((*ids)[2], first);
  auto st = store_->Stats("q");
  EXPECT_EQ((*st)[0].pending, 2);
}

// ----------------------------------------------------------------------------- reserve

TEST_P(StoreTest, ReserveHighestPriorityThenOldest) {
  OpenStore();
  std::string low1 = MustCreate("q", "{}", 0);
  std::string high1 = MustCreate("q", "{}", 10);
  std::string low2 = MustCreate("q", "{}", 0);
  std::string high2 = MustCreate("q", "{}", 10);
  std::string mid = MustCreate("q", "{}", 5);
  std::vector<std::string> order;
  while (auto it = ReserveOne("q")) order.push_back(it->id);
  EXPECT_EQ(order, (std::vector<std::string>{high1, high2, mid, low1, low2}));
}

TEST_P(StoreTest, ReserveSetsLeaseAttemptAndTimeline) {
  OpenStore();
  std::string id = MustCreate("q");
  auto it = ReserveOne("q", "host:1:exec", 5000);
  ASSERT_TRUE(it);
  EXPECT_EQ(it->id, id);
  EXPECT_EQ(it->state, State::kReserved);
  EXPECT_EQ(it->lease_owner, "host:1:exec");
  EXPECT_EQ(it->attempt, 1);
  EXPECT_EQ(it->lease_expires_ms, now_.load() + 5000);
  EXPECT_EQ(it->started_ms, now_.load());
  EXPECT_EQ(Events(id), (std::vector<std::string>{"queued", "started"}));
  EXPECT_FALSE(ReserveOne("q"));
}

TEST_P(StoreTest, ReserveBatchTakesUpToMaxItemsInOrder) {
  OpenStore();
  for (int i = 0; i < 10; ++i) MustCreate("q", "{}", i % 3);
  auto items = ReserveN({"q"}, 4);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].priority, 2);
  EXPECT_EQ(items[3].priority, 1);
  for (size_t i = 1; i < items.size(); ++i) {
    EXPECT_TRUE(items[i - 1].priority > items[i].priority ||
                std::stoll(items[i - 1].id) < std::stoll(items[i].id));
  }
  EXPECT_EQ(ReserveN({"q"}, 100).size(), 6u);
}

TEST_P(StoreTest, ReservePrefixRouting) {
  OpenStore();
  std::string email = MustCreate("notify.email", "{}", 1);
  std::string sms = MustCreate("notify.sms", "{}", 5);
  std::string other = MustCreate("notifyx", "{}", 9);
  std::string billing = MustCreate("billing", "{}", 9);
  auto items = ReserveN({"notify.%"}, 10);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].id, sms);  // higher priority first across queues
  EXPECT_EQ(items[1].id, email);
  // Mixed exact names and prefixes; '%' alone matches every queue.
  auto rest = ReserveN({"billing", "notify%"}, 10);
  ASSERT_EQ(rest.size(), 2u);
  std::set<std::string> got{rest[0].id, rest[1].id};
  EXPECT_EQ(got, (std::set<std::string>{other, billing}));
  MustCreate("zzz");
  EXPECT_EQ(ReserveN({"%"}, 10).size(), 1u);
  ReserveRequest bad{.queues = {"no%tprefix"}, .owner = "w"};
  EXPECT_TRUE(store_->Reserve(bad).status().IsInvalidArgument());
}

// A claim over several queues takes the top of them all by (priority, age), a head of each
// queue's items; the rest stay pending.
TEST_P(StoreTest, ReserveAcrossQueuesTakesTheMergedTop) {
  OpenStore();
  std::string a5 = MustCreate("a", "{}", 5);
  std::string a1 = MustCreate("a", "{}", 1);
  std::string b3 = MustCreate("b", "{}", 3);
  std::string b3_later = MustCreate("b", "{}", 3);
  std::string a1_later = MustCreate("a", "{}", 1);
  auto items = ReserveN({"a", "b"}, 3);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].id, a5);
  EXPECT_EQ(items[1].id, b3);
  EXPECT_EQ(items[2].id, b3_later);
  auto rest = ReserveN({"a", "b"}, 10);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].id, a1);
  EXPECT_EQ(rest[1].id, a1_later);
}

TEST_P(StoreTest, ScheduledItemsAreSkippedUntilDue) {
  OpenStore();
  NewItem later{.queue = "q", .priority = 100, .not_before_ms = now_ + 60000};
  std::string sched = MustCreate(later);
  std::string now_item = MustCreate("q");
  auto st = store_->Stats("q");
  ASSERT_ROBOTNI_OK(st);
  EXPECT_EQ((*st)[0].pending, 1);
  EXPECT_EQ((*st)[0].scheduled, 1);
  auto a = ReserveOne("q");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, now_item);
  EXPECT_FALSE(ReserveOne("q"));
  now_ += 60000;
  auto b = ReserveOne("q");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->id, sched);
}

// ----------------------------------------------------------------------------- leases

TEST_P(StoreTest, HeartbeatExtendsLeaseAndConflictsWhenLost) {
  OpenStore();
  MustCreate("q");
  auto it = ReserveOne("q", "w1", 1000);
  ASSERT_TRUE(it);
  now_ += 900;
  ASSERT_ROBOTNI_OK(store_->Heartbeat(LeaseOf(*it), 1000));
  EXPECT_EQ(MustGet(it->id).lease_expires_ms, now_.load() + 1000);
  now_ += 500;
  auto reaped = store_->ReapExpired(now_);
  ASSERT_ROBOTNI_OK(reaped);
  EXPECT_EQ(*reaped, 0);  // heartbeat kept it alive
  Lease wrong = LeaseOf(*it);
  wrong.owner = "w2";
  EXPECT_TRUE(store_->Heartbeat(wrong, 1000).IsConflict());
  wrong = LeaseOf(*it);
  wrong.attempt = 7;
  EXPECT_TRUE(store_->Heartbeat(wrong, 1000).IsConflict());
  now_ += 2000;
  EXPECT_EQ(*store_->ReapExpired(now_), 1);
  EXPECT_TRUE(store_->Heartbeat(LeaseOf(*it), 1000).IsConflict());
  Status batch = store_->HeartbeatBatch({LeaseOf(*it)}, 1000);
  EXPECT_TRUE(batch.IsConflict());
}

TEST_P(StoreTest, CompleteDoneCommitsResultAndOutputs) {
  OpenStore();
  std::string id = MustCreate("in");
  auto it = ReserveOne("in");
  ASSERT_TRUE(it);
  Completion c;
  c.lease = LeaseOf(*it);
  c.ok = true;
  c.result_json = R"({"sum":3})";
  c.payload_json = R"({"changed":true})";
  c.outputs.push_back(
      NewItem{.queue = "out", .payload_json = R"({"n":1})", .files = {NewFile{"o.txt", "output"}}});
  c.outputs.push_back(NewItem{.queue = "out", .payload_json = R"({"n":2})"});
  ASSERT_ROBOTNI_OK(store_->Complete(c));
  Item done = MustGet(id);
  EXPECT_EQ(done.state, State::kDone);
  EXPECT_EQ(done.result_json, R"({"sum":3})");
  EXPECT_EQ(done.payload_json, R"({"changed":true})");
  EXPECT_EQ(done.finished_ms, now_.load());
  EXPECT_EQ(Events(id), (std::vector<std::string>{"queued", "started", "finished"}));
  auto outs = ReserveN({"out"}, 10);
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_EQ(outs[0].parent_id, id);
  ASSERT_EQ(outs[0].files.size(), 1u);
  EXPECT_EQ(outs[0].files[0].sha256, core::Sha256Hex("output"));
  EXPECT_EQ(*store_->GetFile(outs[0].id, "o.txt"), "output");
  // Completing twice is a lost lease.
  EXPECT_TRUE(store_->Complete(c).IsConflict());
}

TEST_P(StoreTest, StaleHolderIsFencedAfterReapAndReReserve) {
  OpenStore();
  std::string id = MustCreate("q");
  auto first = ReserveOne("q", "w1", 1000);
  ASSERT_TRUE(first);
  now_ += 5000;
  ASSERT_EQ(*store_->ReapExpired(now_), 1);
  Item reaped = MustGet(id);
  EXPECT_EQ(reaped.state, State::kPending);
  EXPECT_GT(reaped.not_before_ms, now_.load());
  now_ = reaped.not_before_ms;
  auto second = ReserveOne("q", "w1", 1000);  // same owner name, new attempt
  ASSERT_TRUE(second);
  EXPECT_EQ(second->attempt, 2);

  Completion stale;
  stale.lease = LeaseOf(*first);
  stale.outputs.push_back(NewItem{.queue = "out", .files = {NewFile{"f.bin", "x"}}});
  Status s = store_->Complete(stale);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_TRUE(store_->UpdatePayload(LeaseOf(*first), "{}").IsConflict());
  EXPECT_TRUE(store_->Progress(LeaseOf(*first), "50%").IsConflict());
  EXPECT_TRUE(store_->Stats("out")->empty());  // outputs not written
  EXPECT_EQ(MustGet(id).state, State::kReserved);

  Completion fresh;
  fresh.lease = LeaseOf(*second);
  fresh.outputs.push_back(NewItem{.queue = "out"});
  ASSERT_ROBOTNI_OK(store_->Complete(fresh));
  EXPECT_EQ((*store_->Stats("out"))[0].pending, 1);
  EXPECT_THAT(Events(id),
              ::testing::ElementsAre("queued", "started", "reaped", "started", "finished"));
  // No staged temp files left behind.
  if (auto* sq = AsSqlite()) EXPECT_TRUE(fs::is_empty(sq->files_dir() + "/.staging"));
}

TEST_P(StoreTest, LeaseTokenFencesAcrossManualRetry) {
  OpenStore();
  std::string id = MustCreate(NewItem{.queue = "q", .max_attempts = 1});
  auto first = ReserveOne("q", "host:1", 100);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->lease_token, 1);
  now_ += 200;
  ASSERT_EQ(*store_->ReapExpired(now_), 1);
  ASSERT_EQ(MustGet(id).state, State::kFailed);
  ASSERT_ROBOTNI_OK(store_->Retry(id));
  auto second = ReserveOne("q", "host:1", 100);  // same owner, attempt 1 again
  ASSERT_TRUE(second);
  EXPECT_EQ(second->attempt, first->attempt);
  EXPECT_EQ(second->lease_token, 2);
  Completion stale{.lease = LeaseOf(*first), .outputs = {NewItem{.queue = "out"}}};
  EXPECT_TRUE(store_->Complete(stale).IsConflict());
  EXPECT_TRUE(store_->Heartbeat(LeaseOf(*first), 1000).IsConflict());
  EXPECT_TRUE(store_->IsCancelRequested(LeaseOf(*first)).status().IsConflict());
  EXPECT_TRUE(store_->Stats("out")->empty());
  ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(*second)}));
}

TEST_P(StoreTest, BusinessFailureIsFinal) {
  OpenStore();
  std::string id = MustCreate("q");
  auto it = ReserveOne("q");
  Completion c{.lease = LeaseOf(*it),
               .ok = false,
               .exception_type = ExceptionType::kBusiness,
               .error_code = "BAD_DATA",
               .error_message = "missing field",
               .traceback = "Traceback..."};
  ASSERT_ROBOTNI_OK(store_->Complete(c));
  Item f = MustGet(id);
  EXPECT_EQ(f.state, State::kFailed);
  EXPECT_EQ(f.exception_type, ExceptionType::kBusiness);
  EXPECT_EQ(f.error_code, "BAD_DATA");
  EXPECT_EQ(f.error_message, "missing field");
  EXPECT_EQ(f.traceback, "Traceback...");
  EXPECT_EQ(f.attempt, 1);
  now_ += 1'000'000;
  EXPECT_FALSE(ReserveOne("q"));
}

TEST_P(StoreTest, ApplicationFailureRetriesWithBoundedBackoff) {
  OpenStore();  // base 1000 ms, jitter 20%, max 60 s
  // Many items so jitter bounds are exercised on both sides.
  for (int i = 0; i < 50; ++i) MustCreate("q");
  int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < 50; ++i) {
    auto it = ReserveOne("q");
    ASSERT_TRUE(it);
    Completion c{.lease = LeaseOf(*it), .ok = false, .error_message = "flaky"};
    ASSERT_ROBOTNI_OK(store_->Complete(c));
    Item p = MustGet(it->id);
    ASSERT_EQ(p.state, State::kPending);
    EXPECT_EQ(p.exception_type, ExceptionType::kApplication);
    EXPECT_EQ(p.lease_owner, "");
    int64_t d = p.not_before_ms - now_;
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_GE(lo, 800);
  EXPECT_LE(hi, 1200);
  EXPECT_LT(lo, hi);  // jittered
  // Second attempt doubles: 2000 +- 20%.
  now_ += 1200;
  auto again = ReserveOne("q");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attempt, 2);
  ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(*again), .ok = false}));
  int64_t d2 = MustGet(again->id).not_before_ms - now_;
  EXPECT_GE(d2, 1600);
  EXPECT_LE(d2, 2400);
  EXPECT_THAT(Events(again->id),
              ::testing::ElementsAre("queued", "started", "retry", "started", "retry"));
}

TEST_P(StoreTest, TimelineKeepsEveryAttemptAcrossManualRetry) {
  OpenStore();
  std::string id = MustCreate("q");
  now_ += 10;
  auto first = ReserveOne("q");
  now_ += 10;
  ASSERT_ROBOTNI_OK(store_->Complete(Completion{
      .lease = LeaseOf(*first), .ok = false, .exception_type = ExceptionType::kBusiness}));
  now_ += 10;
  ASSERT_ROBOTNI_OK(store_->Retry(id));
  now_ += 10;
  auto second = ReserveOne("q");
  now_ += 10;
  ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(*second)}));
  auto tl = store_->Timeline(id);
  ASSERT_ROBOTNI_OK(tl);
  std::vector<std::tuple<std::string, int, int64_t>> got;
  for (const auto& e : *tl) got.emplace_back(e.event, e.attempt, e.at_ms - (now_ - 50));
  EXPECT_THAT(got, ::testing::ElementsAre(
                       std::make_tuple("queued", 0, 0), std::make_tuple("started", 1, 10),
                       std::make_tuple("finished", 1, 20), std::make_tuple("retry", 0, 30),
                       std::make_tuple("started", 1, 40), std::make_tuple("finished", 1, 50)));
}

TEST_F(SqliteStoreTest, TimelineRowsOfOlderVersionsAreNotRepeated) {
  OpenStore();
  std::string id = MustCreate("q");
  auto it = ReserveOne("q");
  ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(*it)}));
  // Before schema 3 these three were rows; the same entries must not appear twice.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
  std::string sql =
      "INSERT INTO timeline(item_id, at, event, attempt, message) VALUES"
      "(" +
      id + ", " + std::to_string(now_) +
      ", 'queued', 0, ''),"
      "(" +
      id + ", " + std::to_string(now_) +
      ", 'started', 1, 'x'),"
      "(" +
      id + ", " + std::to_string(now_) + ", 'finished', 1, 'DONE')";
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(Events(id), (std::vector<std::string>{"queued", "started", "finished"}));
}

TEST_P(StoreTest, BackoffIsCappedAtMaxDelay) {
  StoreOptions o = Options();
  o.retry = RetryPolicy{.base_delay_ms = 1000, .max_delay_ms = 3000, .jitter = 0};
  OpenStore(o);
  MustCreate(NewItem{.queue = "q", .max_attempts = 10});
  std::vector<int64_t> delays;
  for (int i = 0; i < 5; ++i) {
    auto it = ReserveOne("q");
    ASSERT_TRUE(it);
    ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(*it), .ok = false}));
    Item p = MustGet(it->id);
    delays.push_back(p.not_before_ms - now_);
    now_ = p.not_before_ms;
  }
  EXPECT_EQ(delays, (std::vector<int64_t>{1000, 2000, 3000, 3000, 3000}));
}

TEST_P(StoreTest, MaxAttemptsExhaustedEndsFailed) {
  OpenStore();
  std::string id = MustCreate(NewItem{.queue = "q", .max_attempts = 2});
  auto a1 = ReserveOne("q");
  ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(*a1), .ok = false}));
  now_ += 10'000;
  auto a2 = ReserveOne("q");
  ASSERT_TRUE(a2);
  ASSERT_ROBOTNI_OK(store_->Complete(
      Completion{.lease = LeaseOf(*a2), .ok = false, .error_message = "still broken"}));
  Item f = MustGet(id);
  EXPECT_EQ(f.state, State::kFailed);
  EXPECT_EQ(f.attempt, 2);
  EXPECT_EQ(f.error_message, "still broken");
  now_ += 1'000'000;
  EXPECT_FALSE(ReserveOne("q"));
}

TEST_P(StoreTest, ReapExpiredFailsAfterMaxAttempts) {
  OpenStore();
  std::string id = MustCreate(NewItem{.queue = "q", .max_attempts = 2});
  for (int attempt = 1; attempt <= 2; ++attempt) {
    auto it = ReserveOne("q", "w", 100);
    ASSERT_TRUE(it) << attempt;
    now_ += 100;                                   // exactly at expiry
    EXPECT_EQ(*store_->ReapExpired(now_ - 1), 0);  // not yet expired at expiry - 1
    EXPECT_EQ(*store_->ReapExpired(now_), 1);
    now_ += 10'000;
  }
  Item f = MustGet(id);
  EXPECT_EQ(f.state, State::kFailed);
  EXPECT_EQ(f.exception_type, ExceptionType::kApplication);
  EXPECT_EQ(f.error_message, "lease expired");
}

// A lean reserve fills what consumers use, the same as a full one, and the lease works.
TEST_P(StoreTest, LeanReserveFillsWhatConsumersUse) {
  OpenStore();
  std::string plain =
      MustCreate(NewItem{.queue = "q", .payload_json = R"({"a":1})", .priority = 5});
  std::string with_file =
      MustCreate(NewItem{.queue = "q", .files = {NewFile{"in.csv", "a,b\n1,2\n"}}});
  std::string other = MustCreate(NewItem{.queue = "r", .payload_json = R"({"r":2})"});
  // Two queues: the claim goes row by row (claim_by_id); one queue: one statement.
  ReserveRequest req{.queues = {"q", "r"}, .owner = "lean-owner", .lease_ms = 5000, .max_items = 5};
  req.lean = true;
  auto got = store_->Reserve(req);
  ASSERT_ROBOTNI_OK(got);
  ASSERT_EQ(got->size(), 3u);
  for (const Item& it : *got) {
    Item full = MustGet(it.id);
    EXPECT_EQ(it.queue, full.queue);
    EXPECT_EQ(it.state, State::kReserved);
    EXPECT_EQ(it.payload_json, full.payload_json);
    EXPECT_EQ(it.priority, full.priority);
    EXPECT_EQ(it.attempt, full.attempt);
    EXPECT_EQ(it.max_attempts, full.max_attempts);
    EXPECT_EQ(it.lease_owner, "lean-owner");
    EXPECT_EQ(it.lease_token, full.lease_token);
    EXPECT_EQ(it.lease_expires_ms, full.lease_expires_ms);
    EXPECT_EQ(it.files.size(), full.files.size());
  }
  EXPECT_EQ((*got)[0].id, plain);  // priority first
  ASSERT_EQ((*got)[1].files.size(), 1u);
  EXPECT_EQ((*got)[1].files[0].name, "in.csv");
  EXPECT_EQ((*got)[2].id, other);
  for (const Item& it : *got)
    EXPECT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(it), .result_json = "1"}));
  EXPECT_EQ(MustGet(with_file).state, State::kDone);

  MustCreate(NewItem{.queue = "q", .payload_json = R"({"b":2})"});
  auto one = store_->Reserve(ReserveRequest{
      .queues = {"q"}, .owner = "lean-owner", .lease_ms = 5000, .max_items = 5, .lean = true});
  ASSERT_ROBOTNI_OK(one);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].payload_json, R"({"b":2})");
  EXPECT_EQ((*one)[0].lease_token, MustGet((*one)[0].id).lease_token);
}

TEST_P(StoreTest, CompleteBatchReportsEachCompletion) {
  OpenStore();
  for (int i = 0; i < 3; ++i) MustCreate("q");
  auto items = ReserveN({"q"}, 3);
  ASSERT_EQ(items.size(), 3u);
  std::vector<Completion> cs;
  for (auto& it : items) cs.push_back(Completion{.lease = LeaseOf(it), .result_json = "1"});
  cs[1].lease.attempt = 9;          // stale
  cs[2].result_json = "{not json";  // invalid
  auto res = store_->CompleteBatch(cs);
  ASSERT_EQ(res.size(), 3u);
  EXPECT_ROBOTNI_OK(res[0]);
  EXPECT_TRUE(res[1].IsConflict());
  EXPECT_TRUE(res[2].IsInvalidArgument());
  EXPECT_EQ(MustGet(items[0].id).state, State::kDone);
  EXPECT_EQ(MustGet(items[1].id).state, State::kReserved);
  EXPECT_EQ(MustGet(items[2].id).state, State::kReserved);
}

TEST_P(StoreTest, HeartbeatBatchExtendsEveryHeldLeaseAndNamesTheLost) {
  OpenStore();
  for (int i = 0; i < 3; ++i) MustCreate("q");
  auto items = ReserveN({"q"}, 3, "w", 1000);
  ASSERT_EQ(items.size(), 3u);
  std::vector<Lease> leases;
  for (const Item& it : items) leases.push_back(LeaseOf(it));
  now_ += 500;
  ASSERT_ROBOTNI_OK(store_->HeartbeatBatch(leases, 1000));
  for (const Item& it : items) EXPECT_EQ(MustGet(it.id).lease_expires_ms, now_.load() + 1000);
  leases[1].attempt = 7;  // not the attempt that holds it
  now_ += 500;
  Status s = store_->HeartbeatBatch(leases, 1000);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(items[1].id));
  EXPECT_THAT(s.message(), Not(HasSubstr(items[0].id)));
  EXPECT_EQ(MustGet(items[0].id).lease_expires_ms, now_.load() + 1000);
  EXPECT_EQ(MustGet(items[2].id).lease_expires_ms, now_.load() + 1000);
  EXPECT_EQ(MustGet(items[1].id).lease_expires_ms, now_.load() - 500 + 1000);
}

// A runner that claimed jobs ahead starts them later: the completion records the handler's
// start, for DONE (one statement for the batch) and for a failed attempt's timeline.
TEST_P(StoreTest, ACompletionRecordsItsHandlersStart) {
  OpenStore();
  MustCreate("q");
  MustCreate("q");
  const int64_t claimed = now_.load();
  auto held = ReserveN({"q"}, 2);
  ASSERT_EQ(held.size(), 2u);
  now_ += 100;
  std::vector<Completion> cs(2);
  cs[0].lease = LeaseOf(held[0]);
  cs[0].started_ms = claimed + 40;
  cs[1].lease = LeaseOf(held[1]);
  cs[1].ok = false;
  cs[1].error_message = "boom";
  cs[1].started_ms = claimed + 70;
  auto res = store_->CompleteBatch(cs);
  for (const Status& r : res) EXPECT_ROBOTNI_OK(r);
  EXPECT_EQ(MustGet(held[0].id).started_ms, claimed + 40);
  EXPECT_EQ(MustGet(held[1].id).state, State::kPending);
  auto tl = store_->Timeline(held[1].id);
  ASSERT_ROBOTNI_OK(tl);
  bool seen = false;
  for (const auto& e : *tl)
    if (e.event == "started" && e.attempt == 1) {
      EXPECT_EQ(e.at_ms, claimed + 70);
      seen = true;
    }
  EXPECT_TRUE(seen);
  // 0 keeps the claim's time.
  MustCreate("q");
  auto again = ReserveOne("q");
  ASSERT_TRUE(again);
  const int64_t claimed_again = now_.load();
  now_ += 100;
  ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(*again)}));
  EXPECT_EQ(MustGet(again->id).started_ms, claimed_again);
}

TEST_P(StoreTest, UpdatePayloadAndProgress) {
  OpenStore();
  std::string id = MustCreate("q");
  auto it = ReserveOne("q");
  ASSERT_ROBOTNI_OK(store_->UpdatePayload(LeaseOf(*it), R"({"step":2})"));
  EXPECT_TRUE(store_->UpdatePayload(LeaseOf(*it), "{bad").IsInvalidArgument());
  ASSERT_ROBOTNI_OK(store_->Progress(LeaseOf(*it), "half way"));
  EXPECT_EQ(MustGet(id).payload_json, R"({"step":2})");
  auto tl = store_->Timeline(id);
  ASSERT_ROBOTNI_OK(tl);
  ASSERT_EQ(tl->size(), 3u);
  EXPECT_EQ((*tl)[2].event, "progress");
  EXPECT_EQ((*tl)[2].message, "half way");
  EXPECT_EQ((*tl)[2].attempt, 1);
  EXPECT_TRUE(store_->Timeline("12345").status().IsNotFound());
}

TEST_P(StoreTest, MetaIsKeptWithTheItemAndMustBeAnObject) {
  OpenStore();
  std::string id = MustCreate(NewItem{.queue = "q", .meta_json = R"({"hook":"http://x/"})"});
  EXPECT_EQ(MustGet(id).meta_json, R"({"hook":"http://x/"})");
  auto reserved = ReserveOne("q");
  ASSERT_TRUE(reserved.has_value());
  EXPECT_EQ(reserved->meta_json, R"({"hook":"http://x/"})");
  EXPECT_EQ(MustGet(MustCreate("q")).meta_json, "");
  for (const char* bad : {"[1]", " 1", "\"s\"", "{bad"}) {
    auto s = store_->Create(NewItem{.queue = "q", .meta_json = bad});
    EXPECT_TRUE(s.status().IsInvalidArgument()) << bad;
    EXPECT_THAT(s.status().message(), HasSubstr("meta")) << bad;
  }
}

TEST_P(StoreTest, RecordEventNeedsNoLease) {
  OpenStore();
  std::string id = MustCreate("q");
  ASSERT_ROBOTNI_OK(store_->RecordEvent(id, "webhook", R"({"status":200})"));
  auto it = ReserveOne("q");
  ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(*it)}));
  ASSERT_ROBOTNI_OK(store_->RecordEvent(id, "webhook", "after the end"));
  auto tl = store_->Timeline(id);
  ASSERT_ROBOTNI_OK(tl);
  std::vector<std::pair<std::string, int>> got;
  for (const auto& e : *tl) got.emplace_back(e.event, e.attempt);
  EXPECT_THAT(got, ::testing::Contains(std::pair<std::string, int>("webhook", 0)));
  EXPECT_THAT(got, ::testing::Contains(std::pair<std::string, int>("webhook", 1)));
  EXPECT_TRUE(store_->RecordEvent("999", "webhook", "").IsNotFound());
  EXPECT_TRUE(store_->RecordEvent(id, "", "").IsInvalidArgument());
}

// ----------------------------------------------------------------------------- cancel

TEST_P(StoreTest, CancelPendingAndRequestCancelOfReserved) {
  OpenStore();
  std::string pending = MustCreate("q");
  std::string running = MustCreate("q");
  auto it = ReserveOne("q");
  ASSERT_TRUE(it);
  ASSERT_EQ(it->id, pending);
  // it holds `pending`; cancel the other one while it waits.
  ASSERT_ROBOTNI_OK(store_->Cancel(running));
  EXPECT_EQ(MustGet(running).state, State::kCancelled);
  EXPECT_FALSE(ReserveOne("q"));
  EXPECT_EQ(*store_->IsCancelRequested(LeaseOf(*it)), false);
  ASSERT_ROBOTNI_OK(store_->Cancel(pending));
  Item r = MustGet(pending);
  EXPECT_EQ(r.state, State::kReserved);
  EXPECT_TRUE(r.cancel_requested);
  EXPECT_EQ(*store_->IsCancelRequested(LeaseOf(*it)), true);
  // An APPLICATION failure after a cancel request is not retried.
  ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(*it), .ok = false}));
  EXPECT_EQ(MustGet(pending).state, State::kCancelled);
  EXPECT_TRUE(store_->Cancel("777").IsNotFound());
  EXPECT_ROBOTNI_OK(store_->Cancel(running));  // idempotent
  std::string done = MustCreate("d");
  auto d = ReserveOne("d");
  ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(*d)}));
  EXPECT_TRUE(store_->Cancel(done).IsConflict());
}

// A job cancelled while it ran and given back unfinished (a stopping service) ends
// CANCELLED: reserve skips cancel-requested items, so as PENDING it would wait for ever.
TEST_P(StoreTest, CancelledWhileReservedEndsCancelledWhenGivenBack) {
  OpenStore();
  std::string id = MustCreate("q");
  std::string other = MustCreate("q");
  auto items = ReserveN({"q"}, 2);
  ASSERT_EQ(items.size(), 2u);
  ASSERT_ROBOTNI_OK(store_->Cancel(id));
  ASSERT_ROBOTNI_OK(store_->Unreserve(LeaseOf(items[0])));
  ASSERT_ROBOTNI_OK(store_->Unreserve(LeaseOf(items[1])));
  Item cancelled = MustGet(id);
  EXPECT_EQ(cancelled.state, State::kCancelled);
  EXPECT_GT(cancelled.finished_ms, 0);
  EXPECT_EQ(Events(id).back(), "cancelled");
  EXPECT_EQ(MustGet(other).state, State::kPending);  // not cancelled: back unspent
  EXPECT_EQ(MustGet(other).attempt, 0);
  // The same when the holder died (ReleaseDeadOwners).
  std::string third = MustCreate("r");
  auto held = ReserveOne("r", "dead-owner");
  ASSERT_TRUE(held);
  ASSERT_ROBOTNI_OK(store_->Cancel(third));
  auto n = store_->ReleaseDeadOwners([](const std::string& o) { return o == "dead-owner"; });
  ASSERT_ROBOTNI_OK(n);
  EXPECT_EQ(MustGet(third).state, State::kCancelled);
}

TEST_P(StoreTest, FlushCancelsPendingOfOneQueue) {
  OpenStore();
  for (int i = 0; i < 5; ++i) MustCreate("a");
  MustCreate("b");
  auto held = ReserveOne("a");
  auto n = store_->Flush("a");
  ASSERT_ROBOTNI_OK(n);
  EXPECT_EQ(*n, 4);
  auto st = store_->Stats("");
  ASSERT_EQ(st->size(), 2u);
  EXPECT_EQ((*st)[0].queue, "a");
  EXPECT_EQ((*st)[0].cancelled, 4);
  EXPECT_EQ((*st)[0].reserved, 1);
  EXPECT_EQ((*st)[1].pending, 1);
  EXPECT_EQ(Events("2").back(), "cancelled");
}

TEST_P(StoreTest, RetryResetsFailedAndCancelled) {
  OpenStore();
  std::string id = MustCreate("q");
  auto it = ReserveOne("q");
  ASSERT_ROBOTNI_OK(store_->Complete(
      Completion{.lease = LeaseOf(*it), .ok = false, .exception_type = ExceptionType::kBusiness}));
  ASSERT_ROBOTNI_OK(store_->Retry(id));
  Item p = MustGet(id);
  EXPECT_EQ(p.state, State::kPending);
  EXPECT_EQ(p.attempt, 0);
  EXPECT_EQ(p.exception_type, ExceptionType::kNone);
  EXPECT_TRUE(store_->Retry(id).IsConflict());  // PENDING cannot be retried
  auto again = ReserveOne("q");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attempt, 1);
}

// ----------------------------------------------------------------------------- files

TEST_P(StoreTest, FilesAddGetRemove) {
  OpenStore();
  std::string id = MustCreate(NewItem{.queue = "q", .files = {NewFile{"in.csv", "a,b\n1,2\n"}}});
  Item it = MustGet(id);
  ASSERT_EQ(it.files.size(), 1u);
  EXPECT_EQ(it.files[0].name, "in.csv");
  EXPECT_EQ(it.files[0].size, 8);
  EXPECT_EQ(it.files[0].sha256, core::Sha256Hex("a,b\n1,2\n"));
  EXPECT_EQ(*store_->GetFile(id, "in.csv"), "a,b\n1,2\n");
  std::string on_disk;  // SQLite keeps files in a directory, PostgreSQL in a bytea column
  if (auto* sq = AsSqlite()) {
    on_disk = sq->files_dir() + "/" + id + "/in.csv";
    EXPECT_EQ(sq->files_dir(), dir_ + "/work_item_files");
    EXPECT_EQ(ReadAll(on_disk), "a,b\n1,2\n");
  }

  std::string bin("\0\x01\xff", 3);
  ASSERT_ROBOTNI_OK(store_->AddFile(id, NewFile{"blob.bin", bin}));
  EXPECT_EQ(*store_->GetFile(id, "blob.bin"), bin);
  ASSERT_ROBOTNI_OK(store_->AddFile(id, NewFile{"blob.bin", "replaced"}));
  EXPECT_EQ(*store_->GetFile(id, "blob.bin"), "replaced");
  EXPECT_EQ(MustGet(id).files.size(), 2u);

  EXPECT_TRUE(store_->AddFile(id, NewFile{"../x", "evil"}).IsInvalidArgument());
  EXPECT_TRUE(store_->AddFile(id, NewFile{"a/b", "evil"}).IsInvalidArgument());
  EXPECT_FALSE(fs::exists(dir_ + "/work_item_files/x"));
  EXPECT_TRUE(store_->AddFile("4242", NewFile{"f", "x"}).IsNotFound());
  EXPECT_TRUE(store_->GetFile(id, "missing").status().IsNotFound());
  EXPECT_TRUE(store_->GetFile(id, "..").status().IsInvalidArgument());

  ASSERT_ROBOTNI_OK(store_->RemoveFile(id, "in.csv"));
  if (!on_disk.empty()) EXPECT_FALSE(fs::exists(on_disk));
  EXPECT_TRUE(store_->GetFile(id, "in.csv").status().IsNotFound());
  EXPECT_TRUE(store_->RemoveFile(id, "in.csv").IsNotFound());
  EXPECT_EQ(MustGet(id).files.size(), 1u);
}

TEST_P(StoreTest, FileTooLargeIsRefused) {
  StoreOptions o = Options();
  o.max_file_bytes = 10;
  OpenStore(o);
  std::string id = MustCreate("q");
  Status s = store_->AddFile(id, NewFile{"big", std::string(11, 'x')});
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_THAT(s.message(), HasSubstr("limit is 10"));
  EXPECT_TRUE(store_->Create(NewItem{.queue = "q", .files = {{"big", std::string(11, 'x')}}})
                  .status()
                  .IsInvalidArgument());
  EXPECT_ROBOTNI_OK(store_->AddFile(id, NewFile{"ok", std::string(10, 'x')}));
}

TEST_F(SqliteStoreTest, CustomFilesDir) {
  StoreOptions o = Options();
  o.files_dir = dir_ + "/elsewhere";
  OpenStore(o);
  std::string id = MustCreate(NewItem{.queue = "q", .files = {{"f.txt", "hi"}}});
  EXPECT_EQ(ReadAll(dir_ + "/elsewhere/" + id + "/f.txt"), "hi");
}

// ----------------------------------------------------------------------------- admin

TEST_P(StoreTest, PruneRemovesFinishedItemsAndTheirFiles) {
  OpenStore();
  std::string old_done = MustCreate(NewItem{.queue = "q", .files = {{"a.txt", "a"}}});
  std::string old_cancel = MustCreate("q");
  std::string keep_pending = MustCreate(NewItem{.queue = "p", .files = {{"b.txt", "b"}}});
  auto it = ReserveOne("q");
  ASSERT_EQ(it->id, old_done);
  ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(*it)}));
  ASSERT_ROBOTNI_OK(store_->Cancel(old_cancel));
  int64_t cutoff = now_ + 1;
  now_ += 10;
  std::string recent = MustCreate("q");
  auto r = ReserveOne("q");
  ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(*r)}));

  auto n = store_->Prune(cutoff);
  ASSERT_ROBOTNI_OK(n);
  EXPECT_EQ(*n, 2);
  EXPECT_TRUE(store_->Get(old_done).status().IsNotFound());
  EXPECT_TRUE(store_->Get(old_cancel).status().IsNotFound());
  if (auto* sq = AsSqlite()) {
    EXPECT_FALSE(fs::exists(sq->files_dir() + "/" + old_done));
    EXPECT_TRUE(fs::exists(sq->files_dir() + "/" + keep_pending + "/b.txt"));
  }
  EXPECT_TRUE(store_->GetFile(old_done, "a.txt").status().IsNotFound());
  EXPECT_EQ(*store_->GetFile(keep_pending, "b.txt"), "b");
  EXPECT_ROBOTNI_OK(store_->Get(recent));
  EXPECT_ROBOTNI_OK(store_->Get(keep_pending));
}

TEST_P(StoreTest, DeleteRemovesOneItemWithTimelineAndFiles) {
  OpenStore();
  std::string gone = MustCreate(NewItem{.queue = "q", .files = {{"a.txt", "a"}}});
  std::string keep = MustCreate(NewItem{.queue = "q", .files = {{"b.txt", "b"}}});
  if (auto* sq = AsSqlite()) ASSERT_TRUE(fs::exists(sq->files_dir() + "/" + gone + "/a.txt"));
  ASSERT_ROBOTNI_OK(store_->Delete(gone));
  EXPECT_TRUE(store_->Get(gone).status().IsNotFound());
  auto tl = store_->Timeline(gone);
  EXPECT_TRUE(!tl.ok() || tl->empty());
  if (auto* sq = AsSqlite()) {
    EXPECT_FALSE(fs::exists(sq->files_dir() + "/" + gone));
    EXPECT_TRUE(fs::exists(sq->files_dir() + "/" + keep + "/b.txt"));
  }
  EXPECT_TRUE(store_->GetFile(gone, "a.txt").status().IsNotFound());
  EXPECT_EQ(*store_->GetFile(keep, "b.txt"), "b");
  EXPECT_ROBOTNI_OK(store_->Get(keep));
  EXPECT_TRUE(store_->Delete(gone).IsNotFound());
  EXPECT_TRUE(store_->Delete("nope").IsNotFound());
  // A reserved item can be deleted too; its holder then loses the lease.
  auto it = ReserveOne("q");
  ASSERT_TRUE(it.has_value());
  ASSERT_ROBOTNI_OK(store_->Delete(it->id));
  EXPECT_FALSE(store_->Complete(Completion{.lease = LeaseOf(*it)}).ok());
}

TEST_P(StoreTest, IdsAreNeverReusedAfterPrune) {
  OpenStore();
  MustCreate("q");
  std::string last = MustCreate("q");
  ASSERT_ROBOTNI_OK(store_->Flush("q"));
  now_ += 10;
  ASSERT_EQ(*store_->Prune(now_), 2);
  store_.reset();
  OpenStore();
  EXPECT_EQ(MustCreate("q"), std::to_string(std::stoll(last) + 1));
}

TEST_P(StoreTest, ListFiltersAndPages) {
  OpenStore();
  for (int i = 0; i < 5; ++i) MustCreate("a");
  for (int i = 0; i < 3; ++i) MustCreate("b");
  ReserveOne("a");
  auto all = store_->List(ListFilter{});
  ASSERT_ROBOTNI_OK(all);
  ASSERT_EQ(all->size(), 8u);
  EXPECT_EQ(all->front().id, "8");  // newest first
  auto a_pending = store_->List(ListFilter{.queue = "a", .state = State::kPending});
  EXPECT_EQ(a_pending->size(), 4u);
  auto page = store_->List(ListFilter{.limit = 2, .offset = 1, .newest_first = false});
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, "2");
  EXPECT_EQ((*page)[1].id, "3");
  auto reserved = store_->List(ListFilter{.state = State::kReserved});
  ASSERT_EQ(reserved->size(), 1u);
  EXPECT_EQ((*reserved)[0].id, "1");
}

// huey's pending / scheduled listings filter on not_before in SQL, before the limit: a
// deep queue of due items does not hide the scheduled ones, nor cost reading them all.
TEST_P(StoreTest, ListFiltersBySchedule) {
  OpenStore();
  for (int i = 0; i < 30; ++i) MustCreate("q");
  std::vector<std::string> later;
  for (int i = 0; i < 3; ++i) {
    NewItem it{.queue = "q", .not_before_ms = now_.load() + 60000};
    later.push_back(MustCreate(it));
  }
  auto scheduled = store_->List(ListFilter{.queue = "q",
                                           .state = State::kPending,
                                           .limit = 2,
                                           .newest_first = false,
                                           .due_after_ms = now_.load()});
  ASSERT_ROBOTNI_OK(scheduled);
  ASSERT_EQ(scheduled->size(), 2u);
  EXPECT_EQ((*scheduled)[0].id, later[0]);
  EXPECT_EQ((*scheduled)[1].id, later[1]);
  auto due = store_->List(ListFilter{.queue = "q",
                                     .state = State::kPending,
                                     .limit = 100,
                                     .newest_first = false,
                                     .due_by_ms = now_.load()});
  ASSERT_ROBOTNI_OK(due);
  EXPECT_EQ(due->size(), 30u);
}

TEST_P(StoreTest, StatsPerQueueAndState) {
  OpenStore();
  MustCreate("a");
  MustCreate("a");
  MustCreate(NewItem{.queue = "a", .not_before_ms = now_ + 1000});
  MustCreate("b");
  auto it = ReserveOne("b");
  ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(*it)}));
  MustCreate("b");
  auto f = ReserveOne("b");
  ASSERT_ROBOTNI_OK(store_->Complete(
      Completion{.lease = LeaseOf(*f), .ok = false, .exception_type = ExceptionType::kBusiness}));
  auto st = store_->Stats("");
  ASSERT_ROBOTNI_OK(st);
  ASSERT_EQ(st->size(), 2u);
  EXPECT_EQ((*st)[0].queue, "a");
  EXPECT_EQ((*st)[0].pending, 2);
  EXPECT_EQ((*st)[0].scheduled, 1);
  EXPECT_EQ((*st)[1].done, 1);
  EXPECT_EQ((*st)[1].failed, 1);
  auto only_b = store_->Stats("b");
  ASSERT_EQ(only_b->size(), 1u);
  EXPECT_EQ((*only_b)[0].queue, "b");
}

// Each state is counted from its own partial index (schema v5): every state in several
// queues, all at once and one queue at a time.
TEST_P(StoreTest, StatsCountEveryStateInEveryQueue) {
  OpenStore();
  for (const char* q : {"a", "b", "c"}) {
    MustCreate(q);                                                  // stays PENDING
    MustCreate(NewItem{.queue = q, .not_before_ms = now_ + 5000});  // scheduled
    std::string cancelled = MustCreate(q);
    ASSERT_ROBOTNI_OK(store_->Cancel(cancelled));
  }
  // Reserve the due items of "b" and "c" in turn: one stays RESERVED, the others end.
  auto b = ReserveOne("b");
  ASSERT_TRUE(b.has_value());
  auto c = ReserveOne("c");
  ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(*c)}));
  MustCreate("c");
  auto c2 = ReserveOne("c");
  ASSERT_ROBOTNI_OK(store_->Complete(
      Completion{.lease = LeaseOf(*c2), .ok = false, .exception_type = ExceptionType::kBusiness}));

  auto st = store_->Stats("");
  ASSERT_ROBOTNI_OK(st);
  ASSERT_EQ(st->size(), 3u);
  const QueueStats& a = (*st)[0];
  EXPECT_EQ(a.queue, "a");
  EXPECT_EQ(std::tuple(a.pending, a.scheduled, a.reserved, a.done, a.failed, a.cancelled),
            std::tuple(1, 1, 0, 0, 0, 1));
  const QueueStats& sb = (*st)[1];
  EXPECT_EQ(sb.queue, "b");
  EXPECT_EQ(std::tuple(sb.pending, sb.scheduled, sb.reserved, sb.done, sb.failed, sb.cancelled),
            std::tuple(0, 1, 1, 0, 0, 1));
  const QueueStats& sc = (*st)[2];
  EXPECT_EQ(sc.queue, "c");
  EXPECT_EQ(std::tuple(sc.pending, sc.scheduled, sc.reserved, sc.done, sc.failed, sc.cancelled),
            std::tuple(0, 1, 0, 1, 1, 1));
  for (const QueueStats& want : *st) {
    auto one = store_->Stats(want.queue);
    ASSERT_ROBOTNI_OK(one);
    ASSERT_EQ(one->size(), 1u);
    EXPECT_EQ((*one)[0].queue, want.queue);
    EXPECT_EQ(std::tuple((*one)[0].pending, (*one)[0].reserved, (*one)[0].done, (*one)[0].failed,
                         (*one)[0].cancelled),
              std::tuple(want.pending, want.reserved, want.done, want.failed, want.cancelled));
  }
  EXPECT_TRUE(store_->Stats("nope")->empty());
}

// A claim of three that starts one (a runner claiming ahead): the first is RESERVED and
// started at the claim, the other two RESERVED with started = 0 (held), under the same lease
// fields. Stats count the held ones queued, and every count still adds up to the total. Both
// claim paths: one queue (full rows), and two queues (by id, lean rows).
TEST_P(StoreTest, AClaimThatStartsOneHoldsTheRestQueued) {
  OpenStore();
  for (const bool lean : {false, true}) {
    SCOPED_TRACE(lean ? "two queues, lean" : "one queue");
    const std::string q = lean ? "lean" : "full";
    const std::vector<std::string> queues =
        lean ? std::vector<std::string>{q, q + ".other"} : std::vector<std::string>{q};
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(MustCreate(q, "{}", 3 - i));
    MustCreate(q);                                                  // stays PENDING
    MustCreate(NewItem{.queue = q, .not_before_ms = now_ + 5000});  // scheduled
    const int64_t claimed = now_;
    auto got = store_->Reserve(ReserveRequest{.queues = queues,
                                              .owner = "w1",
                                              .lease_ms = 30000,
                                              .max_items = 3,
                                              .lean = lean,
                                              .start_now = 1});
    ASSERT_ROBOTNI_OK(got);
    ASSERT_EQ(got->size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      const Item& it = (*got)[i];
      EXPECT_EQ(it.id, ids[i]);
      EXPECT_EQ(it.started_ms, i == 0 ? claimed : 0) << i;
      auto stored = store_->Get(it.id);
      ASSERT_ROBOTNI_OK(stored);
      EXPECT_EQ(stored->state, State::kReserved);
      EXPECT_EQ(stored->started_ms, i == 0 ? claimed : 0) << i;
      EXPECT_EQ(IsHeld(*stored), i > 0) << i;
      EXPECT_EQ(stored->lease_owner, "w1");
      EXPECT_EQ(stored->attempt, 1);
      EXPECT_EQ(stored->lease_expires_ms, claimed + 30000);
      // A held job has not started: its timeline says so.
      const std::vector<std::string> events = i == 0 ? std::vector<std::string>{"queued", "started"}
                                                     : std::vector<std::string>{"queued"};
      EXPECT_EQ(Events(it.id), events);
    }
    auto st = store_->Stats(q);
    ASSERT_ROBOTNI_OK(st);
    ASSERT_EQ(st->size(), 1u);
    const QueueStats& s = (*st)[0];
    EXPECT_EQ(std::tuple(s.pending, s.scheduled, s.held, s.reserved, s.done, s.failed, s.cancelled),
              std::tuple(1, 1, 2, 1, 0, 0, 0));
    EXPECT_EQ(s.total(), 5);
    std::map<std::string, int64_t> counts;
    int64_t sum = 0;
    for (const auto& [name, n] : StateCounts(s)) {
      counts[name] = n;
      sum += n;
    }
    EXPECT_EQ(counts["queued"], 3);  // PENDING and held
    EXPECT_EQ(counts["running"], 1);
    EXPECT_EQ(sum, s.total());
    // The job listing's state filter follows the same definition (held_as_pending); the
    // store's own vocabulary stays available without it.
    auto listed = [&](State state, bool as_shown) {
      ListFilter f;
      f.queue = q;
      f.state = state;
      f.held_as_pending = as_shown;
      auto items = store_->List(f);
      auto count = store_->Count(f);
      EXPECT_ROBOTNI_OK(items);
      EXPECT_ROBOTNI_OK(count);
      std::set<std::string> got_ids;
      if (items.ok())
        for (const Item& it : *items) got_ids.insert(it.id);
      EXPECT_EQ(count.ok() ? *count : -1, static_cast<int64_t>(got_ids.size()));
      return got_ids;
    };
    auto queued = listed(State::kPending, true);
    EXPECT_EQ(queued.size(), 4u);  // PENDING (one due, one scheduled) and the two held
    EXPECT_TRUE(queued.count(ids[1]) && queued.count(ids[2]) && !queued.count(ids[0]));
    EXPECT_EQ(listed(State::kReserved, true), std::set<std::string>{ids[0]});
    EXPECT_EQ(listed(State::kPending, false).size(), 2u);
    EXPECT_EQ(listed(State::kReserved, false).size(), 3u);
    // The leases of the held ones work as any: heartbeats extend them.
    std::vector<Lease> leases;
    for (const Item& it : *got) leases.push_back(LeaseOf(it));
    EXPECT_ROBOTNI_OK(store_->HeartbeatBatch(leases, 30000));
  }
}

// The start of a held job, recorded while it runs: only under its lease, only while no start
// is recorded; its completion then keeps the handler's start it reports.
TEST_P(StoreTest, RecordStartsSetsAHeldJobsStartOnceUnderItsLease) {
  OpenStore();
  for (int i = 0; i < 3; ++i) MustCreate("q");
  auto got = store_->Reserve(
      ReserveRequest{.queues = {"q"}, .owner = "w1", .max_items = 3, .start_now = 1});
  ASSERT_ROBOTNI_OK(got);
  ASSERT_EQ(got->size(), 3u);
  const Item &first = (*got)[0], &held = (*got)[1], &other = (*got)[2];
  Lease stale = LeaseOf(other);
  stale.attempt += 1;  // not its lease: passed over
  ASSERT_ROBOTNI_OK(store_->RecordStarts({{LeaseOf(held), now_ + 5}, {stale, now_ + 5}}));
  EXPECT_EQ(store_->Get(held.id)->started_ms, now_ + 5);
  EXPECT_EQ(store_->Get(other.id)->started_ms, 0);
  EXPECT_EQ(store_->Get(first.id)->started_ms, now_.load());
  // Recorded once: a second record changes nothing, nor does one for a started job.
  ASSERT_ROBOTNI_OK(store_->RecordStarts({{LeaseOf(held), now_ + 9}, {LeaseOf(first), now_ + 9}}));
  EXPECT_EQ(store_->Get(held.id)->started_ms, now_ + 5);
  EXPECT_EQ(store_->Get(first.id)->started_ms, now_.load());
  auto st = store_->Stats("q");
  ASSERT_ROBOTNI_OK(st);
  EXPECT_EQ(std::tuple((*st)[0].pending, (*st)[0].held, (*st)[0].reserved), std::tuple(0, 1, 2));
  EXPECT_EQ(Events(held.id), (std::vector<std::string>{"queued", "started"}));
  // Completion: the handler's start it reports; a held job given back is queued as before.
  ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(held), .started_ms = now_ + 7}));
  EXPECT_EQ(store_->Get(held.id)->started_ms, now_ + 7);
  ASSERT_ROBOTNI_OK(store_->Unreserve(LeaseOf(other)));
  auto back = store_->Get(other.id);
  EXPECT_EQ(back->state, State::kPending);
  EXPECT_EQ(back->started_ms, 0);
  EXPECT_TRUE(store_->Reserve(ReserveRequest{.queues = {"q"}, .owner = "w", .start_now = -2})
                  .status()
                  .IsInvalidArgument());
}

// Prune walks the finished index one (queue, state) group at a time; every group's old
// rows go, recent ones and unfinished ones stay.
TEST_P(StoreTest, PruneCoversEveryQueueAndFinalState) {
  OpenStore();
  std::vector<std::string> old_ids, keep_ids;
  auto finish_three = [&](const std::string& q, std::vector<std::string>* into) {
    std::string done = MustCreate(q), failed = MustCreate(q), cancelled = MustCreate(q);
    ASSERT_ROBOTNI_OK(store_->Cancel(cancelled));
    auto d = ReserveOne(q);
    ASSERT_EQ(d->id, done);
    ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(*d)}));
    auto f = ReserveOne(q);
    ASSERT_EQ(f->id, failed);
    ASSERT_ROBOTNI_OK(store_->Complete(
        Completion{.lease = LeaseOf(*f), .ok = false, .exception_type = ExceptionType::kBusiness}));
    into->insert(into->end(), {done, failed, cancelled});
  };
  for (const char* q : {"x", "y.1", "y.2"}) finish_three(q, &old_ids);
  int64_t cutoff = now_ + 1;
  now_ += 10;
  for (const char* q : {"x", "y.2"}) finish_three(q, &keep_ids);
  keep_ids.push_back(MustCreate("x"));  // pending

  auto n = store_->Prune(cutoff);
  ASSERT_ROBOTNI_OK(n);
  EXPECT_EQ(*n, static_cast<int64_t>(old_ids.size()));
  for (const auto& id : old_ids) EXPECT_TRUE(store_->Get(id).status().IsNotFound()) << id;
  for (const auto& id : keep_ids) EXPECT_ROBOTNI_OK(store_->Get(id));
}

TEST_F(SqliteStoreTest, ReserveStaysIndexOnlyAsFinishedRowsGrow) {
  OpenStore();
  std::vector<NewItem> batch(2000, NewItem{.queue = "q"});
  ASSERT_ROBOTNI_OK(store_->CreateBatch(batch));
  while (true) {
    auto items = ReserveN({"q"}, 500);
    if (items.empty()) break;
    std::vector<Completion> cs;
    for (auto& it : items) cs.push_back(Completion{.lease = LeaseOf(it)});
    for (auto& s : store_->CompleteBatch(cs)) ASSERT_ROBOTNI_OK(s);
  }
  MustCreate("q");
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "ANALYZE", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "EXPLAIN QUERY PLAN SELECT id FROM items INDEXED BY items_ready "
                               "WHERE state = 'PENDING' AND queue = 'q' AND not_before <= 1 "
                               "AND cancel_requested = 0 ORDER BY priority DESC, id LIMIT 1",
                               -1, &st, nullptr),
            SQLITE_OK);
  std::string plan;
  while (sqlite3_step(st) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
    plan += "\n";
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  EXPECT_THAT(plan, HasSubstr("COVERING INDEX items_ready"));
  EXPECT_THAT(plan, ::testing::Not(HasSubstr("TEMP B-TREE")));
  OpenStore();
  auto it = ReserveOne("q");
  ASSERT_TRUE(it);
  EXPECT_EQ(it->id, "2001");
}

// ----------------------------------------------------------------------------- concurrency

TEST_P(StoreTest, ConcurrentCreateAndReserveEachItemOnce) {
  OpenStore();
  constexpr int kThreads = 4;
  constexpr int kItems = 10000;
  std::atomic<int> created{0};
  std::mutex mu;
  std::vector<std::string> reserved;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::string> mine;
      const int per = kItems / kThreads;
      for (int i = 0; i < per; i += 10) {
        std::vector<NewItem> batch;
        for (int k = 0; k < 10; ++k) batch.push_back(NewItem{.queue = "c"});
        if (i % 20 == 0) {
          ASSERT_ROBOTNI_OK(store_->CreateBatch(batch));
        } else {
          for (auto& b : batch) ASSERT_ROBOTNI_OK(store_->Create(b));
        }
        created += 10;
        ReserveRequest r{
            .queues = {"c"}, .owner = "t" + std::to_string(t), .max_items = (i / 10) % 2 ? 1 : 7};
        auto got = store_->Reserve(r);
        ASSERT_ROBOTNI_OK(got);
        for (auto& it : *got) mine.push_back(it.id);
      }
      // Drain what is left.
      while (true) {
        ReserveRequest r{.queues = {"c"}, .owner = "t" + std::to_string(t), .max_items = 50};
        auto got = store_->Reserve(r);
        ASSERT_ROBOTNI_OK(got);
        if (got->empty() && created.load() == kItems) break;
        for (auto& it : *got) mine.push_back(it.id);
      }
      std::lock_guard<std::mutex> lk(mu);
      reserved.insert(reserved.end(), mine.begin(), mine.end());
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> unique(reserved.begin(), reserved.end());
  EXPECT_EQ(reserved.size(), static_cast<size_t>(kItems));
  EXPECT_EQ(unique.size(), static_cast<size_t>(kItems));
  auto st = store_->Stats("c");
  EXPECT_EQ((*st)[0].reserved, kItems);
  EXPECT_EQ((*st)[0].pending, 0);
}

TEST_F(SqliteStoreTest, GroupCommitBatchesConcurrentWrites) {
  StoreOptions o = Options();
  o.synchronous_full = true;
  o.group_commit_window_us = 2000;
  OpenStore(o);
  auto before = store_->TEST_WriterStats();
  constexpr int kThreads = 8, kPer = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPer; ++i) ASSERT_ROBOTNI_OK(store_->Create(NewItem{.queue = "g"}));
    });
  }
  for (auto& th : threads) th.join();
  auto after = store_->TEST_WriterStats();
  int64_t ops = after.ops - before.ops, commits = after.commits - before.commits;
  EXPECT_EQ(ops, kThreads * kPer);
  EXPECT_LT(commits, ops / 2) << "commits=" << commits << " ops=" << ops;
  EXPECT_GT(after.largest_batch, 1);
  EXPECT_EQ((*store_->Stats("g"))[0].pending, kThreads * kPer);
}

// Commits stay in the WAL until 10,000 pages (not SQLite's 1,000); CheckpointWhenIdle copies
// them into the database file without the caller waiting.
TEST_F(SqliteStoreTest, CheckpointWhenIdleCopiesTheWalIntoTheDatabase) {
  OpenStore();
  std::vector<NewItem> batch(
      3000, NewItem{.queue = "q", .payload_json = "{\"pad\": \"" + std::string(200, 'x') + "\"}"});
  ASSERT_ROBOTNI_OK(store_->CreateBatch(batch));
  ASSERT_ROBOTNI_OK(store_->Sync());
  const auto before = fs::file_size(db_path_);
  ASSERT_GT(fs::file_size(db_path_ + "-wal"), 1'000'000u) << "the rows should still be in the WAL";
  store_->CheckpointWhenIdle();
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  // The checkpoint copies pages as it goes: wait for the copy, not its first page.
  while (fs::file_size(db_path_) <= before + 500'000 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GT(fs::file_size(db_path_), before + 500'000) << "the database file never grew";
  EXPECT_EQ(store_->Stats("q")->at(0).pending, 3000);
}

TEST_F(SqliteStoreTest, SyncAndMaxBatchOps) {
  StoreOptions o = Options();
  o.max_batch_ops = 1;
  OpenStore(o);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) ASSERT_ROBOTNI_OK(store_->Create(NewItem{.queue = "q"}));
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_ROBOTNI_OK(store_->Sync());
  auto s = store_->TEST_WriterStats();
  EXPECT_EQ(s.largest_batch, 1);
  EXPECT_EQ(s.commits, s.ops);
}

// ----------------------------------------------------------------------------- batch fallback

// Runs fns on threads released together, so the writer takes them in one transaction
// (group_commit_window_us gathers them).
template <typename F>
void RunTogether(const std::vector<F>& fns) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (const F& f : fns) {
    threads.emplace_back([&] {
      ready.fetch_add(1);
      while (ready.load() < static_cast<int>(fns.size())) std::this_thread::yield();
      f();
    });
  }
  for (auto& t : threads) t.join();
}

int64_t CountRows(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
  int64_t n = -1;
  if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

TEST_F(SqliteStoreTest, FailingOperationInABatchLeavesNothingAndOthersCommit) {
  StoreOptions o = Options();
  o.group_commit_window_us = 200'000;
  OpenStore(o);
  std::string existing = MustCreate("q");  // id 1
  auto block = store_->AllocateIds(10);
  ASSERT_ROBOTNI_OK(block);
  const std::string fresh = std::to_string(*block);

  constexpr int kGood = 6;
  std::vector<StatusOr<std::string>> good(kGood, Status::Cancelled("not run"));
  StatusOr<std::vector<std::string>> dup_batch = Status::Cancelled("not run");
  StatusOr<std::string> dup_one = Status::Cancelled("not run");
  StatusOr<std::string> bad_payload = Status::Cancelled("not run");
  StatusOr<std::string> with_id = Status::Cancelled("not run");
  std::vector<std::function<void()>> fns;
  for (int i = 0; i < kGood; ++i) {
    fns.push_back([&, i] { good[i] = store_->Create(NewItem{.queue = "good"}); });
  }
  // Inserts two items, then fails on a duplicate explicit id: written, then failed.
  fns.push_back([&] {
    dup_batch = store_->CreateBatch({NewItem{.queue = "bad"}, NewItem{.queue = "bad"},
                                     NewItem{.queue = "bad", .id = existing}});
  });
  fns.push_back([&] { dup_one = store_->Create(NewItem{.queue = "bad", .id = existing}); });
  fns.push_back(
      [&] { bad_payload = store_->Create(NewItem{.queue = "bad", .payload_json = "{broken"}); });
  fns.push_back([&] { with_id = store_->Create(NewItem{.queue = "good", .id = fresh}); });
  auto before = store_->TEST_WriterStats();
  RunTogether(fns);
  auto after = store_->TEST_WriterStats();

  for (auto& g : good) EXPECT_ROBOTNI_OK(g);
  ASSERT_ROBOTNI_OK(with_id);
  EXPECT_EQ(*with_id, fresh);
  EXPECT_TRUE(dup_batch.status().IsConflict()) << dup_batch.status().ToString();
  EXPECT_TRUE(dup_one.status().IsConflict()) << dup_one.status().ToString();
  EXPECT_TRUE(bad_payload.status().IsInvalidArgument()) << bad_payload.status().ToString();
  // The operations shared transactions (else this test does not test the fallback).
  EXPECT_LT(after.commits - before.commits, after.ops - before.ops);

  auto st = store_->Stats("good");
  ASSERT_ROBOTNI_OK(st);
  ASSERT_EQ(st->size(), 1u);
  EXPECT_EQ((*st)[0].pending, kGood + 1);
  EXPECT_TRUE(store_->Stats("bad")->empty());
  EXPECT_EQ(CountRows(db_path_, "SELECT count(*) FROM items"), kGood + 2);
  // "queued" comes from the item's created column; creating writes no timeline row.
  EXPECT_EQ(CountRows(db_path_, "SELECT count(*) FROM timeline"), 0);
  EXPECT_EQ(CountRows(db_path_,
                      "SELECT count(*) FROM timeline WHERE item_id NOT IN "
                      "(SELECT id FROM items)"),
            0);
  EXPECT_EQ(Events(existing), std::vector<std::string>{"queued"});
}

TEST_P(StoreTest, CompleteBatchFailureAfterWritesIsRolledBackAlone) {
  StoreOptions o = Options();
  o.group_commit_window_us = 200'000;
  OpenStore(o);
  for (int i = 0; i < 4; ++i) MustCreate("q");
  std::string other = MustCreate("other");
  auto items = ReserveN({"q"}, 4);
  ASSERT_EQ(items.size(), 4u);
  std::vector<Completion> cs;
  for (auto& it : items) {
    cs.push_back(Completion{.lease = LeaseOf(it),
                            .result_json = "1",
                            .outputs = {NewItem{.queue = "out", .payload_json = "{}"}}});
  }
  cs[1].outputs[0].id = other;  // duplicate id: fails after the item was finished
  cs[2].lease.attempt = 9;      // stale: fails before writing
  cs[3].ok = false;             // application failure, retried (outputs dropped)
  cs[3].error_message = "boom";
  std::vector<Status> res;
  Status created = Status::Cancelled("not run");
  RunTogether(std::vector<std::function<void()>>{
      [&] { res = store_->CompleteBatch(cs); },
      [&] { created = store_->Create(NewItem{.queue = "side"}).status(); }});
  ASSERT_EQ(res.size(), 4u);
  EXPECT_ROBOTNI_OK(res[0]);
  EXPECT_TRUE(res[1].IsConflict()) << res[1].ToString();
  EXPECT_TRUE(res[2].IsConflict()) << res[2].ToString();
  EXPECT_ROBOTNI_OK(res[3]);
  EXPECT_ROBOTNI_OK(created);

  EXPECT_EQ(MustGet(items[0].id).state, State::kDone);
  EXPECT_EQ(Events(items[0].id), (std::vector<std::string>{"queued", "started", "finished"}));
  Item failed = MustGet(items[1].id);
  EXPECT_EQ(failed.state, State::kReserved);
  EXPECT_EQ(failed.finished_ms, 0);
  EXPECT_EQ(Events(items[1].id), (std::vector<std::string>{"queued", "started"}));
  EXPECT_EQ(MustGet(items[2].id).state, State::kReserved);
  EXPECT_EQ(MustGet(items[3].id).state, State::kPending);
  EXPECT_EQ(Events(items[3].id), (std::vector<std::string>{"queued", "started", "retry"}));
  auto outs = store_->List(ListFilter{.queue = "out"});
  ASSERT_ROBOTNI_OK(outs);
  ASSERT_EQ(outs->size(), 1u);
  EXPECT_EQ((*outs)[0].parent_id, items[0].id);
  EXPECT_EQ(Events(other), std::vector<std::string>{"queued"});
  EXPECT_EQ(store_->Stats("side")->at(0).pending, 1);
}

// DONE outputs with preallocated ids go in as multi-row INSERTs (64 rows a statement);
// a duplicate id among them fails that completion alone, the rest commit.
TEST_P(StoreTest, ManyPlainOutputsCommitWithTheirParentsAcrossChunks) {
  OpenStore();
  constexpr int kItems = 150;
  std::vector<NewItem> batch(kItems, NewItem{.queue = "q"});
  ASSERT_ROBOTNI_OK(store_->CreateBatch(batch));
  auto items = ReserveN({"q"}, kItems);
  ASSERT_EQ(items.size(), static_cast<size_t>(kItems));
  auto first = store_->AllocateIds(kItems);
  ASSERT_ROBOTNI_OK(first);
  std::string taken = MustCreate("elsewhere");
  std::vector<Completion> cs;
  for (int i = 0; i < kItems; ++i) {
    NewItem out{.queue = "out", .payload_json = "{\"n\": " + std::to_string(i) + "}"};
    out.id = std::to_string(*first + i);
    cs.push_back(Completion{.lease = LeaseOf(items[i]), .outputs = {out}});
  }
  cs[100].outputs[0].id = taken;  // collides: only completion 100 is refused
  auto res = store_->CompleteBatch(cs);
  ASSERT_EQ(res.size(), static_cast<size_t>(kItems));
  for (int i = 0; i < kItems; ++i) {
    if (i == 100) {
      EXPECT_FALSE(res[i].ok());
      EXPECT_EQ(MustGet(items[i].id).state, State::kReserved);
      continue;
    }
    ASSERT_TRUE(res[i].ok()) << i << ": " << res[i].ToString();
    EXPECT_EQ(MustGet(items[i].id).state, State::kDone);
    Item out = MustGet(std::to_string(*first + i));
    EXPECT_EQ(out.queue, "out");
    EXPECT_EQ(out.state, State::kPending);
    EXPECT_EQ(out.parent_id, items[i].id);
    EXPECT_EQ(out.payload_json, "{\"n\": " + std::to_string(i) + "}");
  }
  EXPECT_EQ(store_->Stats("out")->at(0).pending, kItems - 1);
}

// DONE completions are fenced and finished 64 rows a statement; each row keeps its own
// result and payload, and one stale lease among them is refused alone.
TEST_P(StoreTest, DoneCompletionsFinishInBulkWithTheirOwnResultsAndPayloads) {
  OpenStore();
  constexpr int kItems = 150;
  std::vector<NewItem> batch(kItems, NewItem{.queue = "q", .payload_json = "{\"v\": 0}"});
  ASSERT_ROBOTNI_OK(store_->CreateBatch(batch));
  auto items = ReserveN({"q"}, kItems);
  ASSERT_EQ(items.size(), static_cast<size_t>(kItems));
  std::vector<Completion> cs;
  for (int i = 0; i < kItems; ++i) {
    Completion c{.lease = LeaseOf(items[i]), .result_json = std::to_string(i * 10)};
    if (i % 3 == 0) c.payload_json = "{\"v\": " + std::to_string(i) + "}";
    cs.push_back(std::move(c));
  }
  cs[70].lease.token += 1;  // a stale holder in the second statement's rows
  auto res = store_->CompleteBatch(cs);
  ASSERT_EQ(res.size(), static_cast<size_t>(kItems));
  for (int i = 0; i < kItems; ++i) {
    Item it = MustGet(items[i].id);
    if (i == 70) {
      EXPECT_TRUE(res[i].IsConflict()) << res[i].ToString();
      EXPECT_EQ(it.state, State::kReserved);
      continue;
    }
    ASSERT_TRUE(res[i].ok()) << i << ": " << res[i].ToString();
    EXPECT_EQ(it.state, State::kDone);
    EXPECT_EQ(it.result_json, std::to_string(i * 10));
    EXPECT_EQ(it.payload_json, i % 3 == 0 ? "{\"v\": " + std::to_string(i) + "}" : "{\"v\": 0}");
    EXPECT_GT(it.finished_ms, 0);
  }
}

TEST_F(SqliteStoreTest, RetriedBatchMovesOutputFilesAgain) {
  StoreOptions o = Options();
  o.group_commit_window_us = 200'000;
  OpenStore(o);
  std::string existing = MustCreate("q");
  StatusOr<std::string> with_file = Status::Cancelled("not run");
  StatusOr<std::string> dup = Status::Cancelled("not run");
  RunTogether(std::vector<std::function<void()>>{
      [&] {
        with_file = store_->Create(NewItem{.queue = "f", .files = {NewFile{"a.txt", "hello"}}});
      },
      [&] { dup = store_->Create(NewItem{.queue = "f", .id = existing}); }});
  ASSERT_ROBOTNI_OK(with_file);
  EXPECT_TRUE(dup.status().IsConflict());
  EXPECT_EQ(*store_->GetFile(*with_file, "a.txt"), "hello");
  std::error_code ec;
  int staged = 0;
  for (auto& e : fs::directory_iterator(store_->files_dir() + "/.staging", ec)) {
    (void)e;
    ++staged;
  }
  EXPECT_EQ(staged, 0);
}

// ----------------------------------------------------------------------------- migration

TEST_F(SqliteStoreTest, SchemaVersionOneMigratesAndKeepsFiles) {
  ASSERT_GE(sqlite::CurrentSchemaVersion(), 2);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
    ASSERT_ROBOTNI_OK(sqlite::MigrateTo(db, db_path_, 1));
    ASSERT_EQ(*sqlite::ReadSchemaVersion(db), 1);
    ASSERT_EQ(sqlite3_exec(db,
                           "INSERT INTO items(queue, state, payload, created, updated) "
                           "VALUES('q', 'PENDING', '{\"n\":1}', 1, 1), "
                           "('q', 'PENDING', '{\"n\":2}', 2, 2);"
                           "INSERT INTO files(item_id, name, size, sha256) "
                           "VALUES(1, 'in.csv', 3, 'abc');",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  OpenStore();
  EXPECT_EQ(CountRows(db_path_, "SELECT version FROM schema_version"),
            sqlite::CurrentSchemaVersion());
  EXPECT_EQ(CountRows(db_path_, "SELECT has_files FROM items WHERE id = 1"), 1);
  EXPECT_EQ(CountRows(db_path_, "SELECT has_files FROM items WHERE id = 2"), 0);
  auto items = ReserveN({"q"}, 2);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].id, "1");
  ASSERT_EQ(items[0].files.size(), 1u);
  EXPECT_EQ(items[0].files[0].name, "in.csv");
  EXPECT_EQ(items[0].files[0].size, 3);
  EXPECT_TRUE(items[1].files.empty());
  EXPECT_EQ(items[0].payload_json, R"({"n":1})");

  // The flag follows AddFile / RemoveFile / create with files.
  ASSERT_ROBOTNI_OK(store_->AddFile("2", NewFile{"x", "1"}));
  EXPECT_EQ(CountRows(db_path_, "SELECT has_files FROM items WHERE id = 2"), 1);
  ASSERT_ROBOTNI_OK(store_->AddFile("2", NewFile{"y", "2"}));
  ASSERT_ROBOTNI_OK(store_->RemoveFile("2", "x"));
  EXPECT_EQ(CountRows(db_path_, "SELECT has_files FROM items WHERE id = 2"), 1);
  ASSERT_ROBOTNI_OK(store_->RemoveFile("2", "y"));
  EXPECT_EQ(CountRows(db_path_, "SELECT has_files FROM items WHERE id = 2"), 0);
  std::string id = MustCreate(NewItem{.queue = "r", .files = {NewFile{"z", "3"}}});
  EXPECT_EQ(CountRows(db_path_, "SELECT has_files FROM items WHERE id = " + id), 1);
  auto r = ReserveN({"r"}, 1);
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].files.size(), 1u);
  EXPECT_EQ(r[0].files[0].name, "z");

  // Reopening at the current version migrates nothing.
  store_.reset();
  OpenStore();
  EXPECT_EQ(MustGet(id).files.size(), 1u);
}

// A store from before kinds (schema 3): rows the job API left (webhook URLs in meta, or a
// captured job.log) become jobs, every other row a work item; new rows keep the kind they
// are created with, and a job list reads jobs only.
TEST_F(SqliteStoreTest, SchemaVersionThreeMigratesKinds) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
    ASSERT_ROBOTNI_OK(sqlite::MigrateTo(db, db_path_, 3));
    ASSERT_EQ(*sqlite::ReadSchemaVersion(db), 3);
    ASSERT_EQ(sqlite3_exec(db,
                           "INSERT INTO items(queue, state, payload, created, updated, meta) "
                           "VALUES('Producer', 'DONE', '{}', 1, 1, NULL), "
                           "('add', 'DONE', '{}', 2, 2, NULL), "
                           "('add', 'PENDING', '{}', 3, 3, '{\"on_complete_url\":\"x\"}'), "
                           "('Consumer', 'PENDING', '{}', 4, 4, NULL);"
                           "INSERT INTO files(item_id, name, size, sha256) "
                           "VALUES(2, 'job.log', 3, 'abc'), (4, 'in.csv', 3, 'abc');",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  OpenStore();
  EXPECT_EQ(CountRows(db_path_, "SELECT version FROM schema_version"),
            sqlite::CurrentSchemaVersion());
  EXPECT_EQ(MustGet("1").kind, Kind::kItem);
  EXPECT_EQ(MustGet("2").kind, Kind::kJob);
  EXPECT_EQ(MustGet("3").kind, Kind::kJob);
  EXPECT_EQ(MustGet("4").kind, Kind::kItem);

  std::string job = MustCreate(NewItem{.queue = "add", .kind = Kind::kJob});
  std::string item = MustCreate(NewItem{.queue = "add"});
  EXPECT_EQ(MustGet(job).kind, Kind::kJob);
  EXPECT_EQ(MustGet(item).kind, Kind::kItem);

  auto ids = [&](ListFilter f) {
    std::vector<std::string> out;
    auto items = store_->List(f);
    EXPECT_TRUE(items.ok()) << items.status().ToString();
    if (items.ok())
      for (const auto& it : *items) out.push_back(it.id);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids({.kind = Kind::kJob}), (V{job, "3", "2"}));
  EXPECT_EQ(ids({.kind = Kind::kJob, .newest_first = false}), (V{"2", "3", job}));
  EXPECT_EQ(ids({.queue = "add", .state = State::kPending, .kind = Kind::kJob}), (V{job, "3"}));
  EXPECT_EQ(ids({.kind = Kind::kItem}), (V{item, "4", "1"}));
  EXPECT_EQ(ids({}).size(), 6u);  // no kind: both
  // The job list is a seek on items_jobs, not a scan of every row.
  EXPECT_EQ(CountRows(db_path_,
                      "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = "
                      "'items_jobs'"),
            1);
}

// An output saved after its parent's completion commits only under the attempt that
// finished the parent for good, once: a retried attempt, another holder's attempt and a
// repeat of the same output (same preallocated id) are refused and write nothing.
TEST_P(StoreTest, OutputOfAFinishedParentIsFencedByItsAttempt) {
  OpenStore();
  std::string id = MustCreate("in");
  auto first = ReserveOne("in", "w1");
  ASSERT_TRUE(first);
  const Lease l1 = LeaseOf(*first);
  auto ids = store_->AllocateIds(3);
  ASSERT_ROBOTNI_OK(ids);
  NewItem out{.queue = "out", .payload_json = R"({"late":1})", .id = std::to_string(*ids)};
  out.files.push_back({"a.txt", "late file"});

  auto early = store_->CreateOutputOfFinished(l1, out);  // not released yet
  EXPECT_TRUE(early.status().IsConflict()) << early.status().ToString();
  EXPECT_THAT(early.status().message(), HasSubstr("has not been released yet"));

  Completion retry{.lease = l1, .ok = false};
  retry.error_message = "flaky";
  ASSERT_ROBOTNI_OK(store_->Complete(retry));  // attempt 1 of 3: back to the queue
  auto after_retry = store_->CreateOutputOfFinished(l1, out);
  EXPECT_TRUE(after_retry.status().IsConflict());
  EXPECT_THAT(after_retry.status().message(), HasSubstr("the retry makes its outputs again"));

  now_ += 60000;
  auto second = ReserveOne("in", "w2");
  ASSERT_TRUE(second);
  ASSERT_ROBOTNI_OK(store_->Complete(Completion{.lease = LeaseOf(*second)}));
  auto stale = store_->CreateOutputOfFinished(l1, out);  // attempt 1 saving late
  EXPECT_TRUE(stale.status().IsConflict());
  EXPECT_THAT(stale.status().message(), HasSubstr("lost the lease"));
  EXPECT_EQ(store_->Count(ListFilter{.queue = "out"}).value(), 0);

  auto made = store_->CreateOutputOfFinished(LeaseOf(*second), out);
  ASSERT_ROBOTNI_OK(made);
  EXPECT_EQ(*made, out.id);
  EXPECT_EQ(MustGet(*made).parent_id, id);
  EXPECT_EQ(*store_->GetFile(*made, "a.txt"), "late file");
  auto again = store_->CreateOutputOfFinished(LeaseOf(*second), out);  // the same output
  EXPECT_TRUE(again.status().IsConflict()) << again.status().ToString();
  EXPECT_EQ(store_->Count(ListFilter{.queue = "out"}).value(), 1);
}
}  // namespace
}  // namespace robotni::store

namespace robotni::store {
namespace {

// The mode bits of `path` (lstat: a link is not followed).
unsigned ModeOf(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 07777;
  return st.st_mode & 07777;
}

// The store holds job data: whatever the umask, a new store's directories are 0700 and its
// database, -wal, -shm and work-item files 0600.
TEST_F(SqliteStoreTest, NewStoreIsPrivateWhateverTheUmask) {
  mode_t old = ::umask(0);
  db_path_ = dir_ + "/data/sub/workitems.db";
  OpenStore();
  std::string id = MustCreate(NewItem{.queue = "q", .files = {NewFile{"in.csv", "a,b\n"}}});
  ::umask(old);
  auto item = MustGet(id);
  ASSERT_EQ(item.files.size(), 1u);
  EXPECT_EQ(ModeOf(dir_ + "/data"), 0700u);
  EXPECT_EQ(ModeOf(dir_ + "/data/sub"), 0700u);
  EXPECT_EQ(ModeOf(db_path_), 0600u);
  EXPECT_EQ(ModeOf(db_path_ + "-wal"), 0600u);
  EXPECT_EQ(ModeOf(db_path_ + "-shm"), 0600u);
  std::string files = dir_ + "/data/sub/work_item_files";
  EXPECT_EQ(ModeOf(files), 0700u);
  int checked = 0;
  for (const auto& e : fs::recursive_directory_iterator(files)) {
    unsigned want = e.is_directory() ? 0700u : 0600u;
    EXPECT_EQ(ModeOf(e.path().string()), want) << e.path();
    checked += e.is_regular_file() ? 1 : 0;
  }
  EXPECT_GE(checked, 1) << "no work-item file on disk under " << files;
}

}  // namespace
}  // namespace robotni::store
