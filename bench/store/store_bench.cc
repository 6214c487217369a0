// Store benchmarks: each WorkItemStore operation next to the same SQL run raw through
// the SQLite C API in this binary (same schema, same pragmas: WAL, synchronous NORMAL
// unless the name says Full), then a ratio table (store ops/s / raw ops/s).
//
//   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DROBOTNI_BUILD_BENCHMARKS=ON
//   cmake --build build-bench --target store_bench && ./build-bench/store_bench
// ROBOTNI_BENCH_DIR picks the directory for the database files (default /tmp).

#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace {

namespace fs = std::filesystem;
using robotni::store::Completion;
using robotni::store::Item;
using robotni::store::Lease;
using robotni::store::NewItem;
using robotni::store::ReserveRequest;
using robotni::store::StoreOptions;
using robotni::store::sqlite::SqliteStore;

std::string BenchDir() {
  const char* d = std::getenv("ROBOTNI_BENCH_DIR");
  std::string base = d ? d : "/tmp";
  static std::atomic<int> n{0};
  std::string dir =
      base + "/robotni_store_bench_" + std::to_string(getpid()) + "_" + std::to_string(n++);
  fs::create_directories(dir);
  return dir;
}

const char kPayload[] = R"({"order":12345,"customer":"acme","lines":[1,2,3]})";

std::unique_ptr<SqliteStore> OpenStore(const std::string& dir, bool full) {
  StoreOptions o;
  o.url = dir + "/workitems.db";
  o.synchronous_full = full;
  auto s = SqliteStore::Open(o, o.url);
  if (!s.ok()) {
    std::fprintf(stderr, "open: %s\n", s.status().ToString().c_str());
    std::abort();
  }
  return std::move(s).value();
}

// ---------------------------------------------------------------------------- raw SQL

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    std::abort();
  }
}

// The same statements the store runs, without the writer thread, savepoints or futures.
struct Raw {
  sqlite3* db = nullptr;
  sqlite3_stmt *begin, *commit, *insert, *timeline, *claim, *fence, *finish;

  Raw(const std::string& path, bool full) {
    Check(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr),
          db, "open");
    sqlite3_busy_timeout(db, 10000);
    Check(sqlite3_exec(db,
                       full ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                              "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16000"
                            : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                              "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16000",
                       nullptr, nullptr, nullptr),
          db, "pragmas");
    begin = Prep("BEGIN IMMEDIATE");
    commit = Prep("COMMIT");
    insert = Prep(
        "INSERT INTO items(queue, state, payload, priority, max_attempts, parent_id, "
        "idempotency_key, created, not_before, updated) "
        "VALUES(?1, 'PENDING', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?7)");
    timeline =
        Prep("INSERT INTO timeline(item_id, at, event, attempt, message) VALUES(?1,?2,?3,?4,?5)");
    claim = Prep(
        "UPDATE items SET state = 'RESERVED', lease_owner = ?1, lease_expires = ?2, "
        "attempt = attempt + 1, lease_token = lease_token + 1, started = ?3, updated = ?3 "
        "WHERE id IN (SELECT id FROM items INDEXED BY items_ready WHERE state = 'PENDING' AND "
        "queue = ?4 "
        "AND not_before <= ?3 AND cancel_requested = 0 "
        "ORDER BY priority DESC, id LIMIT ?5) RETURNING id, attempt, payload");
    fence = Prep(
        "SELECT attempt, max_attempts, cancel_requested FROM items "
        "WHERE id = ?1 AND lease_owner = ?2 AND attempt = ?3 AND state = 'RESERVED' "
        "AND (?6 = 0 OR lease_token = ?6)");
    finish = Prep(
        "UPDATE items SET state = ?2, result = ?3, exception_type = ?4, error_code = ?5, "
        "error_message = ?6, traceback = ?7, finished = ?8, "
        "not_before = coalesce(?9, not_before), updated = ?10, lease_expires = 0, "
        "lease_owner = CASE WHEN ?2 = 'PENDING' THEN NULL ELSE lease_owner END, "
        "payload = coalesce(?11, payload) WHERE id = ?1");
  }
  ~Raw() {
    for (auto* s : {begin, commit, insert, timeline, claim, fence, finish}) sqlite3_finalize(s);
    sqlite3_close_v2(db);
  }
  sqlite3_stmt* Prep(const char* sql) {
    sqlite3_stmt* s = nullptr;
    Check(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr), db, sql);
    return s;
  }
  void Step(sqlite3_stmt* s) {
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    }
    Check(rc, db, sqlite3_sql(s));
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
  void Timeline(int64_t id, const char* event, int attempt) {
    sqlite3_bind_int64(timeline, 1, id);
    sqlite3_bind_int64(timeline, 2, 1);
    sqlite3_bind_text(timeline, 3, event, -1, SQLITE_STATIC);
    sqlite3_bind_int(timeline, 4, attempt);
    sqlite3_bind_text(timeline, 5, "", 0, SQLITE_STATIC);
    Step(timeline);
  }
  void InsertOne() {
    sqlite3_bind_text(insert, 1, "bench", -1, SQLITE_STATIC);
    sqlite3_bind_text(insert, 2, kPayload, -1, SQLITE_STATIC);
    sqlite3_bind_int(insert, 3, 0);
    sqlite3_bind_int(insert, 4, 3);
    sqlite3_bind_int64(insert, 7, 1);
    sqlite3_bind_int64(insert, 8, 0);
    Step(insert);
    Timeline(sqlite3_last_insert_rowid(db), "queued", 0);
  }
  void Create(int n) {
    Step(begin);
    for (int i = 0; i < n; ++i) InsertOne();
    Step(commit);
  }
  // Claims up to n and completes them, in two transactions like the store.
  int ReserveComplete(int n) {
    std::vector<std::pair<int64_t, int>> got;
    Step(begin);
    sqlite3_bind_text(claim, 1, "raw", -1, SQLITE_STATIC);
    sqlite3_bind_int64(claim, 2, 1LL << 60);
    sqlite3_bind_int64(claim, 3, 2);
    sqlite3_bind_text(claim, 4, "bench", -1, SQLITE_STATIC);
    sqlite3_bind_int(claim, 5, n);
    int rc;
    while ((rc = sqlite3_step(claim)) == SQLITE_ROW) {
      got.emplace_back(sqlite3_column_int64(claim, 0), sqlite3_column_int(claim, 1));
    }
    Check(rc, db, "claim");
    sqlite3_reset(claim);
    sqlite3_clear_bindings(claim);
    for (auto& g : got) Timeline(g.first, "started", g.second);
    Step(commit);
    Step(begin);
    for (auto& g : got) {
      sqlite3_bind_int64(fence, 1, g.first);
      sqlite3_bind_text(fence, 2, "raw", -1, SQLITE_STATIC);
      sqlite3_bind_int(fence, 3, g.second);
      sqlite3_bind_int64(fence, 6, 0);  // no token, like the store benchmark's leases
      if (sqlite3_step(fence) != SQLITE_ROW) std::abort();
      sqlite3_reset(fence);
      sqlite3_clear_bindings(fence);
      sqlite3_bind_int64(finish, 1, g.first);
      sqlite3_bind_text(finish, 2, "DONE", -1, SQLITE_STATIC);
      sqlite3_bind_text(finish, 3, "{}", -1, SQLITE_STATIC);
      sqlite3_bind_int64(finish, 8, 3);
      sqlite3_bind_int64(finish, 10, 3);
      Step(finish);
      Timeline(g.first, "finished", g.second);
    }
    Step(commit);
    return static_cast<int>(got.size());
  }
  // The consumer pipeline: claim n (+ "started" rows and the files of each claimed item),
  // then complete each with one output item, in two transactions like the store.
  int Pipeline(int n) {
    std::vector<std::pair<int64_t, int>> got;
    got.reserve(n);
    Step(begin);
    sqlite3_bind_text(claim, 1, "raw", -1, SQLITE_STATIC);
    sqlite3_bind_int64(claim, 2, 1LL << 60);
    sqlite3_bind_int64(claim, 3, 2);
    sqlite3_bind_text(claim, 4, "bench", -1, SQLITE_STATIC);
    sqlite3_bind_int(claim, 5, n);
    int rc;
    while ((rc = sqlite3_step(claim)) == SQLITE_ROW) {
      got.emplace_back(sqlite3_column_int64(claim, 0), sqlite3_column_int(claim, 1));
    }
    Check(rc, db, "claim");
    sqlite3_reset(claim);
    sqlite3_clear_bindings(claim);
    for (auto& g : got) Timeline(g.first, "started", g.second);
    Step(commit);
    Step(begin);
    for (auto& g : got) {
      sqlite3_bind_int64(fence, 1, g.first);
      sqlite3_bind_text(fence, 2, "raw", -1, SQLITE_STATIC);
      sqlite3_bind_int(fence, 3, g.second);
      sqlite3_bind_int64(fence, 6, 0);
      if (sqlite3_step(fence) != SQLITE_ROW) std::abort();
      sqlite3_reset(fence);
      sqlite3_clear_bindings(fence);
      sqlite3_bind_int64(finish, 1, g.first);
      sqlite3_bind_text(finish, 2, "DONE", -1, SQLITE_STATIC);
      sqlite3_bind_text(finish, 3, "{}", -1, SQLITE_STATIC);
      sqlite3_bind_int64(finish, 8, 3);
      sqlite3_bind_int64(finish, 10, 3);
      Step(finish);
      Timeline(g.first, "finished", g.second);
      sqlite3_bind_text(insert, 1, "out", -1, SQLITE_STATIC);
      sqlite3_bind_text(insert, 2, kPayload, -1, SQLITE_STATIC);
      sqlite3_bind_int(insert, 3, 0);
      sqlite3_bind_int(insert, 4, 3);
      sqlite3_bind_int64(insert, 5, g.first);
      sqlite3_bind_int64(insert, 7, 3);
      sqlite3_bind_int64(insert, 8, 0);
      Step(insert);
      Timeline(sqlite3_last_insert_rowid(db), "queued", 0);
    }
    Step(commit);
    return static_cast<int>(got.size());
  }
};

// A database file with the store's schema, for the raw runs.
std::string RawDb(bool full) {
  std::string dir = BenchDir();
  OpenStore(dir, full).reset();
  return dir + "/workitems.db";
}

// ---------------------------------------------------------------------------- create

void BM_StoreCreate(benchmark::State& state) {
  static std::unique_ptr<SqliteStore> store;
  const bool full = state.range(0) != 0;
  if (state.thread_index() == 0) store = OpenStore(BenchDir(), full);
  NewItem item{.queue = "bench", .payload_json = kPayload};
  for (auto _ : state) {
    auto id = store->Create(item);
    if (!id.ok()) state.SkipWithError(id.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    auto st = store->TEST_WriterStats();
    state.counters["ops_per_commit"] =
        st.commits ? static_cast<double>(st.ops) / static_cast<double>(st.commits) : 0;
    store.reset();
  }
}

void BM_RawCreate(benchmark::State& state) {
  static std::string path;
  static std::mutex mu;
  const bool full = state.range(0) != 0;
  if (state.thread_index() == 0) {
    std::lock_guard<std::mutex> lk(mu);
    path = RawDb(full);
  }
  std::unique_ptr<Raw> raw;
  for (auto _ : state) {
    if (!raw) {
      state.PauseTiming();
      raw = std::make_unique<Raw>(path, full);
      state.ResumeTiming();
    }
    raw->Create(1);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_StoreCreateBatch100(benchmark::State& state) {
  auto store = OpenStore(BenchDir(), false);
  std::vector<NewItem> items(100, NewItem{.queue = "bench", .payload_json = kPayload});
  for (auto _ : state) {
    auto ids = store->CreateBatch(items);
    if (!ids.ok()) state.SkipWithError(ids.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * 100);
}

void BM_RawCreateBatch100(benchmark::State& state) {
  Raw raw(RawDb(false), false);
  for (auto _ : state) raw.Create(100);
  state.SetItemsProcessed(state.iterations() * 100);
}

// ---------------------------------------------------------------------------- reserve + complete

constexpr int kRefill = 20000;

void BM_StoreReserveComplete(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  auto store = OpenStore(BenchDir(), false);
  std::vector<NewItem> refill(1000, NewItem{.queue = "bench", .payload_json = kPayload});
  ReserveRequest req{.queues = {"bench"}, .owner = "bench", .max_items = n};
  int64_t done = 0;
  for (auto _ : state) {
    auto items = store->Reserve(req);
    if (!items.ok()) {
      state.SkipWithError(items.status().ToString().c_str());
      break;
    }
    if (items->empty()) {
      state.PauseTiming();
      for (int i = 0; i < kRefill / 1000; ++i) (void)store->CreateBatch(refill);
      state.ResumeTiming();
      continue;
    }
    if (n == 1) {
      auto s = store->Complete(
          Completion{.lease = {(*items)[0].id, "bench", (*items)[0].attempt}, .result_json = "{}"});
      if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    } else {
      std::vector<Completion> cs;
      cs.reserve(items->size());
      for (const Item& it : *items) {
        cs.push_back(Completion{.lease = {it.id, "bench", it.attempt}, .result_json = "{}"});
      }
      for (auto& s : store->CompleteBatch(cs)) {
        if (!s.ok()) state.SkipWithError(s.ToString().c_str());
      }
    }
    done += static_cast<int64_t>(items->size());
  }
  state.SetItemsProcessed(done);
}

void BM_RawReserveComplete(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Raw raw(RawDb(false), false);
  int64_t done = 0;
  for (auto _ : state) {
    int got = raw.ReserveComplete(n);
    if (got == 0) {
      state.PauseTiming();
      for (int i = 0; i < kRefill / 1000; ++i) raw.Create(1000);
      state.ResumeTiming();
      continue;
    }
    done += got;
  }
  state.SetItemsProcessed(done);
}

// ---------------------------------------------------------------------------- consumer pipeline

// What a consumer does per batch: reserve n, then one CompleteBatch of n completions,
// each DONE with one output item (`for item in inputs: outputs.create(...)`).
// CPU of the whole process (writer thread included), in microseconds.
double ProcessCpuUs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

void BM_StorePipeline(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  auto store = OpenStore(BenchDir(), false);
  std::vector<NewItem> refill(1000, NewItem{.queue = "bench", .payload_json = kPayload});
  ReserveRequest req{.queues = {"bench"}, .owner = "bench", .max_items = n};
  const NewItem output{.queue = "out", .payload_json = kPayload};
  std::vector<Completion> cs;
  int64_t done = 0;
  double cpu = 0, t0 = ProcessCpuUs();
  for (auto _ : state) {
    auto items = store->Reserve(req);
    if (!items.ok()) {
      state.SkipWithError(items.status().ToString().c_str());
      break;
    }
    if (items->empty()) {
      state.PauseTiming();
      cpu += ProcessCpuUs() - t0;
      for (int i = 0; i < kRefill / 1000; ++i) (void)store->CreateBatch(refill);
      state.ResumeTiming();
      t0 = ProcessCpuUs();
      continue;
    }
    cs.clear();
    for (const Item& it : *items) {
      cs.push_back(Completion{.lease = {it.id, "bench", it.attempt, it.lease_token},
                              .result_json = "{}",
                              .outputs = {output}});
    }
    for (auto& s : store->CompleteBatch(cs)) {
      if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    }
    done += static_cast<int64_t>(items->size());
  }
  cpu += ProcessCpuUs() - t0;
  state.SetItemsProcessed(done);
  state.counters["cpu_us_per_item"] = done ? cpu / static_cast<double>(done) : 0;
}

void BM_RawPipeline(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Raw raw(RawDb(false), false);
  int64_t done = 0;
  double cpu = 0, t0 = ProcessCpuUs();
  for (auto _ : state) {
    int got = raw.Pipeline(n);
    if (got == 0) {
      cpu += ProcessCpuUs() - t0;
      state.PauseTiming();
      for (int i = 0; i < kRefill / 1000; ++i) raw.Create(1000);
      state.ResumeTiming();
      t0 = ProcessCpuUs();
      continue;
    }
    done += got;
  }
  cpu += ProcessCpuUs() - t0;
  state.SetItemsProcessed(done);
  state.counters["cpu_us_per_item"] = done ? cpu / static_cast<double>(done) : 0;
}

// Args: 0 = synchronous NORMAL, 1 = FULL.
BENCHMARK(BM_StoreCreate)->Name("Store/Create")->Arg(0)->UseRealTime();
BENCHMARK(BM_RawCreate)->Name("Raw/Create")->Arg(0)->UseRealTime();
BENCHMARK(BM_StoreCreateBatch100)->Name("Store/CreateBatch100")->UseRealTime();
BENCHMARK(BM_RawCreateBatch100)->Name("Raw/CreateBatch100")->UseRealTime();
BENCHMARK(BM_StoreReserveComplete)->Name("Store/ReserveComplete")->Arg(1)->UseRealTime();
BENCHMARK(BM_RawReserveComplete)->Name("Raw/ReserveComplete")->Arg(1)->UseRealTime();
BENCHMARK(BM_StoreReserveComplete)->Name("Store/ReserveCompleteBatch")->Arg(100)->UseRealTime();
BENCHMARK(BM_RawReserveComplete)->Name("Raw/ReserveCompleteBatch")->Arg(100)->UseRealTime();
BENCHMARK(BM_StorePipeline)->Name("Store/Pipeline64")->Arg(64)->UseRealTime();
BENCHMARK(BM_RawPipeline)->Name("Raw/Pipeline64")->Arg(64)->UseRealTime();
// Concurrent creators: the store group-commits; raw connections contend for the lock.
BENCHMARK(BM_StoreCreate)
    ->Name("Store/CreateThreads")
    ->Arg(0)
    ->Threads(4)
    ->Threads(16)
    ->UseRealTime();
BENCHMARK(BM_RawCreate)->Name("Raw/CreateThreads")->Arg(0)->Threads(4)->Threads(16)->UseRealTime();
BENCHMARK(BM_StoreCreate)
    ->Name("Store/CreateFull")
    ->Arg(1)
    ->Threads(1)
    ->Threads(4)
    ->Threads(16)
    ->UseRealTime();
BENCHMARK(BM_RawCreate)
    ->Name("Raw/CreateFull")
    ->Arg(1)
    ->Threads(1)
    ->Threads(4)
    ->Threads(16)
    ->UseRealTime();

// Collects items_per_second per run name and prints store/raw ratios at the end.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      auto it = r.counters.find("items_per_second");
      if (it != r.counters.end()) rates_[r.benchmark_name()] = it->second.value;
    }
  }
  void PrintRatios() const {
    std::printf("\n%-48s %14s %14s %8s\n", "operation", "store ops/s", "raw ops/s", "ratio");
    for (const auto& [name, rate] : rates_) {
      if (name.rfind("Store/", 0) != 0) continue;
      std::string raw = "Raw/" + name.substr(6);
      auto r = rates_.find(raw);
      if (r == rates_.end()) continue;
      std::printf("%-48s %14.0f %14.0f %8.2f\n", name.substr(6).c_str(), rate, r->second,
                  rate / r->second);
    }
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios();
  benchmark::Shutdown();
  // Remove the database directories this run created.
  const char* d = std::getenv("ROBOTNI_BENCH_DIR");
  std::string base = d ? d : "/tmp";
  std::string prefix = "robotni_store_bench_" + std::to_string(getpid()) + "_";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(base, ec)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) fs::remove_all(e.path(), ec);
  }
  return 0;
}
