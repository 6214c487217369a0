#include "store/postgres/pg_store.h"

#include <poll.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "core/json_limits.h"
#include "core/sha256.h"
#include "store/postgres/pg_schema.h"
#include "store/store_checks.h"

namespace robotni::store::postgres {

namespace {

constexpr char kItemCols[] =
    "id, queue, state, payload, priority, attempt, max_attempts, parent_id, idempotency_key, "
    "lease_owner, lease_expires, created, not_before, started, finished, updated, result, "
    "exception_type, error_code, error_message, traceback, cancel_requested, lease_token, meta, "
    "kind";

ExceptionType ParseExceptionType(const std::string& s) {
  if (s == "BUSINESS") return ExceptionType::kBusiness;
  if (s == "APPLICATION") return ExceptionType::kApplication;
  return ExceptionType::kNone;
}

Item RowToItem(const PgResult& r, int row) {
  Item it;
  it.id = r.Text(row, 0);
  it.queue = r.Text(row, 1);
  it.state = ParseState(r.Text(row, 2)).value_or(State::kPending);
  it.payload_json = r.Text(row, 3);
  it.priority = static_cast<int>(r.Int(row, 4));
  it.attempt = static_cast<int>(r.Int(row, 5));
  it.max_attempts = static_cast<int>(r.Int(row, 6));
  if (!r.IsNull(row, 7)) it.parent_id = r.Text(row, 7);
  it.idempotency_key = r.Text(row, 8);
  it.lease_owner = r.Text(row, 9);
  it.lease_expires_ms = r.Int(row, 10);
  it.created_ms = r.Int(row, 11);
  it.not_before_ms = r.Int(row, 12);
  it.started_ms = r.Int(row, 13);
  it.finished_ms = r.Int(row, 14);
  it.updated_ms = r.Int(row, 15);
  it.result_json = r.Text(row, 16);
  it.exception_type = ParseExceptionType(r.Text(row, 17));
  it.error_code = r.Text(row, 18);
  it.error_message = r.Text(row, 19);
  it.traceback = r.Text(row, 20);
  it.cancel_requested = r.Bool(row, 21);
  it.lease_token = r.Int(row, 22);
  it.meta_json = r.Text(row, 23);
  it.kind = r.Text(row, 24) == "job" ? Kind::kJob : Kind::kItem;
  return it;
}

// "{1,2,3}": a bigint[] parameter.
std::string IdArray(const std::vector<int64_t>& ids) {
  std::string s = "{";
  for (size_t i = 0; i < ids.size(); ++i) (s += i ? "," : "") += std::to_string(ids[i]);
  return s + "}";
}

// {"a","b\"c",NULL}: a text[] parameter (nullptr = NULL); every element quoted, so any
// text goes through.
std::string TextArray(const std::vector<const std::string*>& v) {
  std::string s = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    if (!v[i]) {
      s += "NULL";
      continue;
    }
    s += '"';
    for (char c : *v[i]) {
      if (c == '"' || c == '\\') s += '\\';
      s += c;
    }
    s += '"';
  }
  return s + "}";
}

// The fence of a held lease; $1 id, $2 owner, $3 attempt, $4 token (0 = not checked).
constexpr char kFence[] =
    "id = $1 AND lease_owner = $2 AND attempt = $3 AND state = 'RESERVED' AND "
    "($4::bigint = 0 OR lease_token = $4::bigint)";
// The same fence per row of a batch: items joined to v(id, owner, attempt, token, ...).
constexpr char kFenceOfRows[] =
    " items.id = v.id AND items.lease_owner = v.owner AND items.attempt = v.attempt AND "
    "items.state = 'RESERVED' AND (v.token = 0 OR items.lease_token = v.token) ";

Params FenceParams(int64_t id, const Lease& l) {
  Params p;
  p.Add(id).Add(l.owner).Add(l.attempt).Add(l.token);
  return p;
}

}  // namespace

struct PgStore::Op {
  std::function<Status(bool isolated)> fn;
  std::promise<Status> done;
  Status result;  // writer thread only
};

PgStore::ReaderLease::~ReaderLease() {
  if (!c_ || c_->Broken()) return;
  std::lock_guard<std::mutex> lk(s_->readers_mu_);
  if (static_cast<int>(s_->readers_.size()) < s_->url_.read_pool)
    s_->readers_.push_back(std::move(c_));
}

// ---------------------------------------------------------------------------------
// Opening

PgStore::PgStore(const StoreOptions& options, PgUrl url)
    : options_(options), url_(std::move(url)), rng_(std::random_device{}()) {}

StatusOr<std::unique_ptr<PgStore>> PgStore::Open(const StoreOptions& options) {
  auto url = ParsePgUrl(options.url);
  if (!url.ok()) return url.status();
  std::unique_ptr<PgStore> s(new PgStore(options, std::move(url).value()));
  ROBOTNI_RETURN_IF_ERROR(s->Init());
  return s;
}

Status PgStore::Init() {
  auto conn = std::make_unique<PgConn>(url_);
  ROBOTNI_RETURN_IF_ERROR(conn->EnsureConnected());
  if (options_.read_only) {
    auto v = ReadPgSchemaVersion(*conn);
    if (!v.ok()) return v.status();
    if (*v == 0) return Status::NotFound("no work-item store at " + url_.display);
    if (*v != CurrentPgSchemaVersion()) {
      return Status::InvalidArgument(
          url_.display + " has schema " + std::to_string(*v) + ", this build knows " +
          std::to_string(CurrentPgSchemaVersion()) + "; open it once without read_only");
    }
    std::lock_guard<std::mutex> lk(readers_mu_);
    readers_.push_back(std::move(conn));
    return Status::OK();
  }
  ROBOTNI_RETURN_IF_ERROR(MigratePg(*conn, options_.create_if_missing));
  writer_ = std::move(conn);
  thread_ = std::thread([this] { WriterLoop(); });
  return Status::OK();
}

PgStore::~PgStore() {
  listen_stop_ = true;
  if (listener_.joinable()) listener_.join();
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t PgStore::Now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------
// Writer thread and group commit

thread_local PgStore::Op* PgStore::follow_up_ = nullptr;

Status PgStore::Submit(std::function<Status()> fn) {
  return SubmitOp([fn = std::move(fn)](bool) { return fn(); });
}

Status PgStore::SubmitOp(std::function<Status(bool isolated)> fn) {
  if (!writer_) return Status::InvalidArgument(url_.display + " is opened read-only");
  Op op;
  op.fn = std::move(fn);
  std::future<Status> f = op.done.get_future();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stop_) return Status::Cancelled("store is closing");
    queue_.push_back(&op);
    if (follow_up_) queue_.push_back(std::exchange(follow_up_, nullptr));
  }
  cv_.notify_one();
  return f.get();
}

Status PgStore::RunInSavepoint(const std::function<Status()>& fn) {
  ROBOTNI_RETURN_IF_ERROR(W().ExecScript("SAVEPOINT op"));
  Status s = fn();
  if (!s.ok()) {
    Status r = W().ExecScript("ROLLBACK TO SAVEPOINT op");
    if (!r.ok()) return r;
  }
  Status r = W().ExecScript("RELEASE SAVEPOINT op");
  return s.ok() ? r : s;
}

// As SqliteStore::WriterLoop: one transaction per round, its operations under one batch
// SAVEPOINT; after a failure the batch is rolled back and its operations run again one by
// one in their own SAVEPOINT. A broken connection fails the round and is reopened first
// thing in the next.
void PgStore::WriterLoop() {
  const size_t max_batch = static_cast<size_t>(std::max(1, options_.max_batch_ops));
  std::vector<Op*> batch;
  std::unique_lock<std::mutex> lk(mu_);
  while (true) {
    cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stop_ and drained
    lk.unlock();

    // BEGIN and the first batch savepoint go in one round trip (as do the last RELEASE and
    // COMMIT): the writer's time per operation is mostly waiting for the server.
    Status tx = W().EnsureConnected();
    if (tx.ok()) tx = W().ExecScript("BEGIN; SAVEPOINT batch");
    batch.clear();
    bool in_batch_sp = tx.ok();
    size_t sp_first = 0;
    bool waited = false;
    while (batch.size() < max_batch) {
      lk.lock();
      if (queue_.empty() && options_.group_commit_window_us > 0 && !waited && !stop_) {
        waited = true;
        cv_.wait_for(lk, std::chrono::microseconds(options_.group_commit_window_us),
                     [&] { return stop_ || !queue_.empty(); });
      }
      if (queue_.empty()) {
        lk.unlock();
        break;
      }
      Op* op = queue_.front();
      queue_.pop_front();
      lk.unlock();
      batch.push_back(op);
      if (!tx.ok()) {
        op->result = tx;
        continue;
      }
      if (!in_batch_sp) {
        Status s = W().ExecScript("SAVEPOINT batch");
        if (!s.ok()) {
          tx = s;
          op->result = s;
          continue;
        }
        in_batch_sp = true;
        sp_first = batch.size() - 1;
      }
      op->result = op->fn(false);
      if (op->result.ok()) continue;
      in_batch_sp = false;
      Status r = W().ExecScript("ROLLBACK TO SAVEPOINT batch");
      if (r.ok()) r = W().ExecScript("RELEASE SAVEPOINT batch");
      if (!r.ok()) {
        tx = r;
        break;
      }
      for (size_t i = sp_first; i < batch.size() && tx.ok(); ++i) {
        Op* o = batch[i];
        o->result = RunInSavepoint([o] { return o->fn(true); });
        if (W().Broken()) tx = o->result;
      }
      if (!tx.ok()) break;
    }
    Status commit = tx;
    if (tx.ok())
      commit =
          W().ExecScript(std::string(in_batch_sp ? "RELEASE SAVEPOINT batch; " : "") +
                         (notify_ ? "NOTIFY " + W().QuoteIdent(Channel()) + "; " : "") + "COMMIT");
    if (!commit.ok() && !W().Broken()) (void)W().ExecScript("ROLLBACK");
    notify_ = false;
    {
      std::lock_guard<std::mutex> slk(stats_mu_);
      if (commit.ok()) ++stats_.commits;
      stats_.ops += static_cast<int64_t>(batch.size());
      stats_.largest_batch = std::max<int64_t>(stats_.largest_batch, batch.size());
    }
    for (Op* op : batch) {
      Status out = commit.ok() ? std::move(op->result) : commit;
      if (!commit.ok() && commit.message().rfind("PostgreSQL unavailable", 0) != 0 &&
          commit.code() == Status::Code::kIOError)
        out = Status::IOError(url_.display + ": " + commit.message());
      op->done.set_value(std::move(out));
    }
    lk.lock();
  }
}

PgStore::WriterStats PgStore::TEST_WriterStats() const {
  std::lock_guard<std::mutex> lk(stats_mu_);
  return stats_;
}

Status PgStore::Sync() {
  if (!writer_) return Status::OK();
  return Submit([] { return Status::OK(); });
}

std::string PgStore::Channel() const { return "robotni_" + url_.schema; }

void PgStore::SetWakeCallback(std::function<void()> wake) {
  const bool listen = static_cast<bool>(wake);
  {
    std::lock_guard<std::mutex> lk(wake_mu_);
    wake_ = std::move(wake);
  }
  if (listen && !listener_.joinable()) listener_ = std::thread([this] { ListenLoop(); });
}

// Waits for notifications on the store's channel, polling the socket with a timeout so that
// the destructor's stop is seen; a broken connection is reopened (after a second), and every
// (re)connect wakes once: what was notified while nobody listened is not delivered.
void PgStore::ListenLoop() {
  PgConn conn(url_);
  auto wake = [this] {
    // Under the lock, so that once SetWakeCallback(nullptr) returns the old callback is
    // not running (its dispatcher may be destroyed next).
    std::lock_guard<std::mutex> lk(wake_mu_);
    if (wake_) wake_();
  };
  while (!listen_stop_) {
    if (conn.Broken()) {
      if (!conn.EnsureConnected().ok() ||
          !conn.ExecScript("LISTEN " + conn.QuoteIdent(Channel())).ok()) {
        for (int i = 0; i < 10 && !listen_stop_; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      wake();
    }
    pollfd pfd{PQsocket(conn.raw()), POLLIN, 0};
    if (::poll(&pfd, 1, 200) <= 0) continue;
    if (!PQconsumeInput(conn.raw())) {  // the connection broke: reconnect above
      conn.Close();
      continue;
    }
    bool any = false;
    while (PGnotify* n = PQnotifies(conn.raw())) {
      any = true;
      PQfreemem(n);
    }
    if (any) wake();
  }
}

StatusOr<PgStore::ReaderLease> PgStore::AcquireReader() {
  {
    std::lock_guard<std::mutex> lk(readers_mu_);
    while (!readers_.empty()) {
      auto c = std::move(readers_.back());
      readers_.pop_back();
      if (!c->ClosedWhileIdle()) return ReaderLease(this, std::move(c));
    }
  }
  auto c = std::make_unique<PgConn>(url_);
  c->set_reads_only(true);
  ROBOTNI_RETURN_IF_ERROR(c->EnsureConnected());
  return ReaderLease(this, std::move(c));
}

// ---------------------------------------------------------------------------------
// Validation

// ---------------------------------------------------------------------------------
// Writer-side helpers

// n ids from id_counter: its row lock is held until commit, so ids are handed out in commit
// order across processes, and a block is contiguous.
StatusOr<int64_t> PgStore::TakeIds(int64_t n) {
  auto r = W().Exec("UPDATE id_counter SET next_id = next_id + $1 RETURNING next_id - $1",
                    Params().Add(n));
  if (!r.ok()) return r.status();
  return r->Int(0, 0);
}

Status PgStore::AddTimeline(int64_t id, int64_t at, const std::string& event, int attempt,
                            const std::string& message) {
  auto r = W().Exec(
      "INSERT INTO timeline(item_id, at, event, attempt, message) "
      "VALUES($1, $2, $3, $4, $5)",
      Params().Add(id).Add(at).Add(event).Add(attempt).Add(message));
  return r.status();
}

// See Timeline(): an attempt's start is kept as a row only once the item's `started` column
// is about to be overwritten or cleared.
Status PgStore::KeepStartedRow(int64_t id) {
  return W()
      .Exec(
          "INSERT INTO timeline(item_id, at, event, attempt, message) "
          "SELECT id, started, 'started', attempt, coalesce(lease_owner, '') FROM items "
          "WHERE id = $1 AND started > 0 AND attempt > 0",
          Params().Add(id))
      .status();
}

Status PgStore::InsertFile(int64_t id, const NewFile& f) {
  return W()
      .Exec(
          "INSERT INTO files(item_id, name, size, sha256, content) VALUES($1, $2, $3, $4, $5) "
          "ON CONFLICT (item_id, name) DO UPDATE SET size = excluded.size, "
          "sha256 = excluded.sha256, content = excluded.content",
          Params()
              .Add(id)
              .Add(f.name)
              .Add(static_cast<int64_t>(f.content.size()))
              .Add(core::Sha256Hex(f.content))
              .Binary(f.content))
      .status();
}

Status PgStore::InsertItem(const NewItem& item, int64_t default_parent, int64_t now, int64_t* id,
                           IdBlock* block) {
  if (!item.idempotency_key.empty()) {
    auto r = W().Exec("SELECT id FROM items WHERE idempotency_key = $1",
                      Params().Add(item.idempotency_key));
    if (!r.ok()) return r.status();
    if (r->rows() > 0) {
      *id = r->Int(0, 0);
      return Status::OK();
    }
  }
  const int64_t parent =
      item.parent_id.empty() ? default_parent : ParseId(item.parent_id).value_or(0);
  if (!item.id.empty()) {
    auto explicit_id = ParseId(item.id);
    if (!explicit_id)
      return Status::InvalidArgument("work item id '" + item.id + "' is not a number");
    *id = *explicit_id;
  } else if (block && block->left > 0) {
    *id = block->next++;
    --block->left;
  } else {
    auto next = TakeIds(1);
    if (!next.ok()) return next.status();
    *id = *next;
  }
  Params p;
  p.Add(*id).Add(item.queue).Add(item.payload_json).Add(item.priority).Add(item.max_attempts);
  if (parent > 0) {
    p.Add(parent);
  } else {
    p.Null();
  }
  p.OrNull(item.idempotency_key).Add(now).Add(item.not_before_ms).OrNull(item.meta_json);
  p.Add(KindName(item.kind));
  auto r = W().Exec(
      "INSERT INTO items(id, queue, state, payload, priority, max_attempts, parent_id, "
      "idempotency_key, created, not_before, updated, meta, kind) "
      "VALUES($1, $2, 'PENDING', $3, $4, $5, $6, $7, $8, $9, $8, $10, $11)",
      p);
  if (!r.ok()) return r.status();
  notify_ = true;
  for (const NewFile& f : item.files) ROBOTNI_RETURN_IF_ERROR(InsertFile(*id, f));
  return Status::OK();
}

// Items without an idempotency key or files (the common case) go in one INSERT from
// arrays; the others one by one, in order, as InsertItem. ids (when given) gets each item's id.
Status PgStore::InsertItems(const std::vector<const NewItem*>& items,
                            const std::vector<int64_t>& default_parents, int64_t now,
                            std::vector<int64_t>* ids_out) {
  if (items.empty()) return Status::OK();
  int64_t need = 0;
  for (const NewItem* it : items) need += it->id.empty() ? 1 : 0;
  IdBlock block;
  if (need > 0) {
    auto first = TakeIds(need);
    if (!first.ok()) return first.status();
    block = {*first, need};
  }
  std::vector<int64_t> ids(items.size()), parents, priorities, max_attempts, not_before;
  std::vector<const std::string*> queues, payloads, metas, kinds;
  std::vector<int64_t> plain_ids;
  static const std::string kItemKind = "item", kJobKind = "job";
  for (size_t i = 0; i < items.size(); ++i) {
    const NewItem& item = *items[i];
    if (!item.idempotency_key.empty() || !item.files.empty()) {
      ROBOTNI_RETURN_IF_ERROR(InsertItem(item, default_parents[i], now, &ids[i], &block));
      continue;
    }
    if (item.id.empty()) {
      ids[i] = block.next++;
      --block.left;
    } else {
      auto explicit_id = ParseId(item.id);
      if (!explicit_id)
        return Status::InvalidArgument("work item id '" + item.id + "' is not a number");
      ids[i] = *explicit_id;
    }
    plain_ids.push_back(ids[i]);
    parents.push_back(item.parent_id.empty() ? default_parents[i]
                                             : ParseId(item.parent_id).value_or(0));
    queues.push_back(&item.queue);
    payloads.push_back(&item.payload_json);
    priorities.push_back(item.priority);
    max_attempts.push_back(item.max_attempts);
    not_before.push_back(item.not_before_ms);
    metas.push_back(item.meta_json.empty() ? nullptr : &item.meta_json);
    kinds.push_back(item.kind == Kind::kJob ? &kJobKind : &kItemKind);
  }
  if (!plain_ids.empty()) {
    auto r = W().Exec(
        "INSERT INTO items(id, queue, state, payload, priority, max_attempts, parent_id, "
        "created, not_before, updated, meta, kind) "
        "SELECT v.id, v.queue, 'PENDING', v.payload, v.priority, v.max_attempts, "
        "nullif(v.parent, 0), $1, v.not_before, $1, v.meta, v.kind FROM unnest($2::bigint[], "
        "$3::text[], $4::text[], $5::int[], $6::int[], $7::bigint[], $8::bigint[], $9::text[], "
        "$10::text[]) AS v(id, queue, payload, priority, max_attempts, parent, not_before, meta, "
        "kind)",
        Params()
            .Add(now)
            .Add(IdArray(plain_ids))
            .Add(TextArray(queues))
            .Add(TextArray(payloads))
            .Add(IdArray(priorities))
            .Add(IdArray(max_attempts))
            .Add(IdArray(parents))
            .Add(IdArray(not_before))
            .Add(TextArray(metas))
            .Add(TextArray(kinds)));
    if (!r.ok()) return r.status();
    notify_ = true;
  }
  if (ids_out) *ids_out = std::move(ids);
  return Status::OK();
}

// ---------------------------------------------------------------------------------
// Create

StatusOr<std::string> PgStore::Create(const NewItem& item) {
  auto ids = CreateBatch({item});
  if (!ids.ok()) return ids.status();
  return std::move(ids->front());
}

StatusOr<std::vector<std::string>> PgStore::CreateBatch(const std::vector<NewItem>& items) {
  const bool single = items.size() == 1;
  for (size_t i = 0; i < items.size(); ++i) {
    ROBOTNI_RETURN_IF_ERROR(
        ValidateNewItem(items[i], single ? "work item" : "items", single ? kNoIndex : i));
  }
  std::vector<const NewItem*> all;
  for (const NewItem& it : items) all.push_back(&it);
  std::vector<int64_t> ids;
  Status s =
      Submit([&] { return InsertItems(all, std::vector<int64_t>(all.size(), 0), Now(), &ids); });
  if (!s.ok()) return s;
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int64_t id : ids) out.push_back(std::to_string(id));
  return out;
}

StatusOr<std::vector<std::string>> PgStore::Import(const std::vector<ImportedItem>& items) {
  const size_t n = items.size();
  for (size_t i = 0; i < n; ++i) {
    const ImportedItem& it = items[i];
    ROBOTNI_RETURN_IF_ERROR(ValidateNewItem(it.item, "items", i));
    const std::string where = "items[" + std::to_string(i) + "]: ";
    if (it.parent_index < -1 || it.parent_index >= static_cast<int>(n) ||
        it.parent_index == static_cast<int>(i))
      return Status::InvalidArgument(where + "parent_index " + std::to_string(it.parent_index) +
                                     " is not another item of the import");
    if (it.state == State::kReserved)
      return Status::InvalidArgument(where +
                                     "an imported item cannot be RESERVED (nobody holds it)");
  }
  std::vector<int64_t> ids(n);
  Status s = Submit([&] {
    const int64_t now = Now();
    std::fill(ids.begin(), ids.end(), 0);
    size_t left = n;
    for (size_t i = 0; i < n; ++i) {  // already imported: that item, unchanged
      if (items[i].item.idempotency_key.empty()) continue;
      auto r = W().Exec("SELECT id FROM items WHERE idempotency_key = $1",
                        Params().Add(items[i].item.idempotency_key));
      if (!r.ok()) return r.status();
      if (r->rows() > 0) {
        ids[i] = r->Int(0, 0);
        --left;
      }
    }
    while (left > 0) {  // parents first, so each child knows its parent's id
      bool progress = false;
      for (size_t i = 0; i < n; ++i) {
        const ImportedItem& it = items[i];
        if (ids[i] != 0 || (it.parent_index >= 0 && ids[it.parent_index] == 0)) continue;
        NewItem row = it.item;
        row.parent_id = it.parent_index >= 0 ? std::to_string(ids[it.parent_index]) : "";
        ROBOTNI_RETURN_IF_ERROR(InsertItem(row, 0, now, &ids[i]));
        const bool final = it.state != State::kPending;
        Params p;
        p.Add(ids[i]).Add(StateName(it.state));
        p.OrNull(ExceptionTypeName(it.exception_type)).OrNull(it.error_code);
        p.OrNull(it.error_message).Add(it.attempt).Add(it.created_ms > 0 ? it.created_ms : now);
        p.Add(it.started_ms).Add(final ? (it.finished_ms > 0 ? it.finished_ms : now) : 0);
        p.Add(now);
        auto r = W().Exec(
            "UPDATE items SET state = $2, exception_type = $3, error_code = $4, "
            "error_message = $5, attempt = $6, created = $7, started = $8, finished = $9, "
            "updated = $10 WHERE id = $1",
            p);
        if (!r.ok()) return r.status();
        ROBOTNI_RETURN_IF_ERROR(AddTimeline(ids[i], now, "imported", it.attempt, it.note));
        progress = true;
        --left;
      }
      if (!progress) return Status::InvalidArgument("import: the items' parents form a cycle");
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  std::vector<std::string> out;
  out.reserve(n);
  for (int64_t id : ids) out.push_back(std::to_string(id));
  return out;
}

StatusOr<std::string> PgStore::CreateOutputOfFinished(const Lease& parent, const NewItem& output) {
  auto parent_id = ParseId(parent.item_id);
  if (!parent_id) return NoItem(parent.item_id);
  NewItem out = output;
  out.parent_id = parent.item_id;
  ROBOTNI_RETURN_IF_ERROR(ValidateNewItem(out, "work item", kNoIndex));
  int64_t id = 0;
  Status s = Submit([&] {
    auto r = W().Exec(
        "SELECT state, coalesce(lease_owner, ''), attempt, lease_token FROM items WHERE id = $1 "
        "FOR UPDATE",
        Params().Add(*parent_id));
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return NoItem(parent.item_id);
    const std::string state = r->Text(0, 0);
    const bool same_attempt = r->Text(0, 1) == parent.owner && r->Int(0, 2) == parent.attempt &&
                              (parent.token == 0 || r->Int(0, 3) == parent.token);
    const std::string attempt = "attempt " + std::to_string(parent.attempt);
    std::string refused;
    if (state == "PENDING")
      refused = "it failed and goes back to the queue: the retry makes its outputs again";
    else if (!same_attempt)
      refused = "its " + attempt + " lost the lease; another attempt (" +
                std::to_string(r->Int(0, 2)) + ") holds or finished it";
    else if (state == "RESERVED")
      refused = "its " + attempt + " has not been released yet";
    if (!refused.empty())
      return Status::Conflict("output of work item " + parent.item_id + " not saved: " + refused);
    return InsertItem(out, *parent_id, Now(), &id);
  });
  if (!s.ok()) return s;
  return std::to_string(id);
}

// ---------------------------------------------------------------------------------
// Reserve

StatusOr<std::vector<Item>> PgStore::Reserve(const ReserveRequest& req) {
  ROBOTNI_RETURN_IF_ERROR(CheckReserveRequest(req));
  std::vector<Item> items;
  Status s = Submit([&] { return ReserveInTx(req, &items); });
  if (!s.ok()) return s;
  return items;
}

Status PgStore::ReadFiles(PgConn& c, std::vector<Item>* items, const std::vector<char>* has_files) {
  std::vector<int64_t> ids;
  std::map<int64_t, Item*> by_id;
  for (size_t i = 0; i < items->size(); ++i) {
    if (has_files && !(*has_files)[i]) continue;
    const int64_t id = ParseId((*items)[i].id).value_or(0);
    ids.push_back(id);
    by_id[id] = &(*items)[i];
  }
  if (ids.empty()) return Status::OK();
  auto r = c.Exec(
      "SELECT item_id, name, size, sha256 FROM files WHERE item_id = ANY($1::bigint[]) "
      "ORDER BY item_id, name COLLATE \"C\"",
      Params().Add(IdArray(ids)));
  if (!r.ok()) return r.status();
  for (int i = 0; i < r->rows(); ++i) {
    by_id[r->Int(i, 0)]->files.push_back({r->Text(i, 1), r->Int(i, 2), r->Text(i, 3)});
  }
  return Status::OK();
}

// One statement claims up to max_items rows of every named queue and prefix: the candidates
// are locked FOR UPDATE SKIP LOCKED (rows another transaction is claiming are passed over,
// not waited for) and updated in the same statement.
Status PgStore::ReserveInTx(const ReserveRequest& req, std::vector<Item>* items) {
  items->clear();
  const int64_t now = Now();
  const int64_t expires = now + req.lease_ms;
  // A claim that holds some claims all with started = 0, then starts the first start_now.
  const bool holds = req.start_now >= 0 && req.start_now < req.max_items;
  const int64_t started = holds ? 0 : now;
  Params p;
  p.Add(req.owner).Add(expires).Add(now).Add(req.max_items).Add(started);
  std::string match;
  for (const std::string& spec : req.queues) {
    const bool prefix = spec.back() == '%';
    p.Add(prefix ? spec.substr(0, spec.size() - 1) : spec);
    const std::string ph = "$" + std::to_string(p.size());
    match += (match.empty() ? "" : " OR ") +
             (prefix ? "starts_with(queue, " + ph + ")" : "queue = " + ph);
  }
  const std::string cols =
      req.lean ? "id, queue, state, payload, priority, attempt, max_attempts, NULL, NULL, "
                 "lease_owner, lease_expires, 0, 0, started, 0, updated, NULL, NULL, NULL, "
                 "NULL, NULL, false, lease_token, NULL, 'item'"
               : kItemCols;
  // Then whether the item has files: only those are looked up in files (one statement
  // less per claim in the common case).
  auto r = W().Exec(
      "UPDATE items SET state = 'RESERVED', lease_owner = $1, lease_expires = $2, "
      "attempt = attempt + 1, lease_token = lease_token + 1, started = $5, updated = $3 "
      "WHERE id IN (SELECT id FROM items WHERE state = 'PENDING' AND (" +
          match +
          ") AND not_before <= $3 AND NOT cancel_requested ORDER BY priority DESC, id "
          "LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING " +
          cols + ", EXISTS(SELECT 1 FROM files f WHERE f.item_id = items.id)",
      p);
  if (!r.ok()) return r.status();
  std::vector<std::pair<Item, char>> rows;
  for (int i = 0; i < r->rows(); ++i) rows.emplace_back(RowToItem(*r, i), r->Bool(i, 25));
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    if (a.first.priority != b.first.priority) return a.first.priority > b.first.priority;
    return ParseId(a.first.id).value_or(0) < ParseId(b.first.id).value_or(0);
  });
  std::vector<char> has_files;
  std::vector<int64_t> start_now;
  for (auto& [item, files] : rows) {
    item.started_ms = started;
    if (holds && start_now.size() < static_cast<size_t>(req.start_now)) {
      start_now.push_back(ParseId(item.id).value_or(0));
      item.started_ms = now;
    }
    items->push_back(std::move(item));
    has_files.push_back(files);
  }
  if (!start_now.empty()) {
    auto set = W().Exec("UPDATE items SET started = $2 WHERE id = ANY($1::bigint[])",
                        Params().Add(IdArray(start_now)).Add(now));
    if (!set.ok()) return set.status();
  }
  return ReadFiles(W(), items, &has_files);
}

// ---------------------------------------------------------------------------------
// Leases

Status PgStore::Heartbeat(const Lease& lease, int64_t lease_ms) {
  return HeartbeatBatch({lease}, lease_ms);
}

Status PgStore::HeartbeatBatch(const std::vector<Lease>& leases, int64_t lease_ms) {
  if (lease_ms <= 0) return Status::InvalidArgument("heartbeat: lease_ms must be > 0");
  std::vector<int64_t> ids, attempts, tokens;
  std::vector<const std::string*> owners;
  std::string lost;
  for (const Lease& l : leases) {
    auto id = ParseId(l.item_id);
    if (!id) {
      lost += (lost.empty() ? "" : ", ") + l.item_id;
      continue;
    }
    ids.push_back(*id);
    owners.push_back(&l.owner);
    attempts.push_back(l.attempt);
    tokens.push_back(l.token);
  }
  std::set<int64_t> held;
  // Every lease in one statement: its fence per row, the rows it extended returned.
  Status s = ids.empty() ? Status::OK() : Submit([&] {
    held.clear();
    const int64_t now = Now();
    auto r = W().Exec(
        std::string("UPDATE items SET lease_expires = $1, updated = $2 "
                    "FROM unnest($3::bigint[], $4::text[], $5::int[], $6::bigint[]) AS v(id, "
                    "owner, attempt, token) WHERE") +
            kFenceOfRows + "RETURNING items.id",
        Params()
            .Add(now + lease_ms)
            .Add(now)
            .Add(IdArray(ids))
            .Add(TextArray(owners))
            .Add(IdArray(attempts))
            .Add(IdArray(tokens)));
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i) held.insert(r->Int(i, 0));
    return Status::OK();
  });
  if (!s.ok()) return s;
  for (size_t i = 0; i < ids.size(); ++i)
    if (!held.count(ids[i])) lost += (lost.empty() ? "" : ", ") + std::to_string(ids[i]);
  if (!lost.empty()) {
    if (leases.size() == 1) return LeaseLost(leases[0]);
    return Status::Conflict("lease lost for work items " + lost);
  }
  return Status::OK();
}

Status PgStore::RecordStarts(const std::vector<Start>& starts) {
  std::vector<int64_t> ids, attempts, tokens, started;
  std::vector<const std::string*> owners;
  for (const Start& st : starts) {
    auto id = ParseId(st.lease.item_id);
    if (!id) continue;
    ids.push_back(*id);
    owners.push_back(&st.lease.owner);
    attempts.push_back(st.lease.attempt);
    tokens.push_back(st.lease.token);
    started.push_back(st.started_ms);
  }
  if (ids.empty()) return Status::OK();
  // Every start in one statement, fenced per row; a start already recorded stays.
  return Submit([&] {
    auto r = W().Exec(std::string("UPDATE items SET started = v.started, updated = $1 "
                                  "FROM unnest($2::bigint[], $3::text[], $4::int[], $5::bigint[], "
                                  "$6::bigint[]) AS v(id, owner, attempt, token, started) WHERE") +
                          kFenceOfRows + "AND items.started = 0",
                      Params()
                          .Add(Now())
                          .Add(IdArray(ids))
                          .Add(TextArray(owners))
                          .Add(IdArray(attempts))
                          .Add(IdArray(tokens))
                          .Add(IdArray(started)));
    return r.ok() ? Status::OK() : r.status();
  });
}

// Fenced: the lease must still hold. A lost lease is reported before anything is written,
// and says so in *refused (any other failure may follow writes, or a failed statement that
// aborted the transaction).
Status PgStore::CompleteOne(const Completion& c, int64_t now, bool* refused) {
  *refused = true;
  auto id = ParseId(c.lease.item_id);
  if (!id) return NoItem(c.lease.item_id);
  *refused = false;
  if (c.ok) {
    Status s = FinishDoneRows({&c}, {*id}, now);  // fence and finish in one statement
    if (s.IsConflict()) {
      *refused = true;
      return LeaseLost(c.lease);
    }
    ROBOTNI_RETURN_IF_ERROR(s);
    std::vector<const NewItem*> outputs;
    for (const NewItem& out : c.outputs) outputs.push_back(&out);
    return InsertItems(outputs, std::vector<int64_t>(outputs.size(), *id), now, nullptr);
  }
  auto row =
      W().Exec(std::string("SELECT attempt, max_attempts, cancel_requested FROM items WHERE ") +
                   kFence + " FOR UPDATE",
               FenceParams(*id, c.lease));
  if (!row.ok()) return row.status();
  if (row->rows() == 0) {
    *refused = true;
    return LeaseLost(c.lease);
  }
  const int attempt = static_cast<int>(row->Int(0, 0));
  const int max_attempts = static_cast<int>(row->Int(0, 1));
  const bool cancel = row->Bool(0, 2);
  if (c.started_ms > 0) {  // the handler's start, kept by the timeline's started row below
    auto s = W().Exec("UPDATE items SET started = $2 WHERE id = $1",
                      Params().Add(*id).Add(c.started_ms));
    if (!s.ok()) return s.status();
  }
  const ExceptionType type =
      c.exception_type == ExceptionType::kNone ? ExceptionType::kApplication : c.exception_type;
  const std::string what = std::string(ExceptionTypeName(type)) +
                           (c.error_code.empty() ? "" : " " + c.error_code) + ": " +
                           c.error_message;
  const bool final = type == ExceptionType::kBusiness || attempt >= max_attempts || cancel;
  // $1 id, $2 state, $3 exception type, $4 code, $5 message, $6 traceback, $7 finished,
  // $8 not_before (NULL = keep), $9 now, $10 payload (NULL = keep).
  Params p;
  p.Add(*id);
  int64_t delay = 0;
  const char* state = cancel ? "CANCELLED" : "FAILED";
  if (final) {
    p.Add(state);
  } else {
    delay = BackoffMs(attempt);
    ROBOTNI_RETURN_IF_ERROR(KeepStartedRow(*id));
    p.Add("PENDING");
  }
  p.Add(ExceptionTypeName(type)).OrNull(c.error_code).OrNull(c.error_message).OrNull(c.traceback);
  p.Add(final ? now : 0);
  if (final) {
    p.Null();
  } else {
    p.Add(now + delay);
  }
  p.Add(now);
  if (c.payload_json) {
    p.Add(*c.payload_json);
  } else {
    p.Null();
  }
  auto r = W().Exec(
      "UPDATE items SET state = $2, result = NULL, exception_type = $3, error_code = $4, "
      "error_message = $5, traceback = $6, finished = $7, not_before = coalesce($8, not_before), "
      "updated = $9, lease_expires = 0, "
      "lease_owner = CASE WHEN $2 = 'PENDING' THEN NULL ELSE lease_owner END, "
      "payload = coalesce($10, payload) WHERE id = $1",
      p);
  if (!r.ok()) return r.status();
  if (final) {
    ROBOTNI_RETURN_IF_ERROR(
        AddTimeline(*id, now, "finished", attempt, std::string(state) + " " + what));
    // Outputs commit with a final outcome only: a retried attempt makes them again.
    std::vector<const NewItem*> outputs;
    for (const NewItem& out : c.outputs) outputs.push_back(&out);
    return InsertItems(outputs, std::vector<int64_t>(outputs.size(), *id), now, nullptr);
  }
  return AddTimeline(*id, now, "retry", attempt,
                     "attempt " + std::to_string(attempt) + " failed (" + what + "); retry in " +
                         std::to_string(delay) + " ms");
}

// Every successful completion of `rows` in one UPDATE (its fence per row). Conflict when a
// fence did not hold: the writer then rolls the batch back and runs it again isolated, one
// completion at a time, which names the lost lease.
Status PgStore::FinishDoneRows(const std::vector<const Completion*>& rows,
                               const std::vector<int64_t>& ids, int64_t now) {
  std::vector<int64_t> attempts, tokens, started;
  std::vector<const std::string*> owners, results, payloads;
  for (const Completion* c : rows) {
    started.push_back(c->started_ms);
    owners.push_back(&c->lease.owner);
    attempts.push_back(c->lease.attempt);
    tokens.push_back(c->lease.token);
    results.push_back(c->result_json.empty() ? nullptr : &c->result_json);
    payloads.push_back(c->payload_json ? &*c->payload_json : nullptr);
  }
  auto r = W().Exec(
      "UPDATE items SET state = 'DONE', result = v.result, exception_type = NULL, "
      "error_code = NULL, error_message = NULL, traceback = NULL, finished = $1, updated = $1, "
      "lease_expires = 0, payload = coalesce(v.payload, items.payload), "
      "started = CASE WHEN v.started > 0 THEN v.started ELSE items.started END "
      "FROM unnest($2::bigint[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::text[], "
      "$8::bigint[]) AS v(id, owner, attempt, token, result, payload, started) WHERE" +
          std::string(kFenceOfRows),
      Params()
          .Add(now)
          .Add(IdArray(ids))
          .Add(TextArray(owners))
          .Add(IdArray(attempts))
          .Add(IdArray(tokens))
          .Add(TextArray(results))
          .Add(TextArray(payloads))
          .Add(IdArray(started)));
  if (!r.ok()) return r.status();
  if (r->affected() != static_cast<int64_t>(rows.size()))
    return Status::Conflict("a lease of the completion batch is no longer held");
  return Status::OK();
}

Status PgStore::Complete(const Completion& completion) {
  return CompleteBatch({completion}).front();
}

// The successful completions are finished by one UPDATE and their outputs inserted after it;
// the failed ones run one by one (their retry or final state depends on the row). A completion
// refused for its lease wrote nothing, so the others of the operation go on; any other failure
// rolls the operation back and the writer runs it again isolated, one SAVEPOINT per completion.
std::vector<Status> PgStore::CompleteBatch(const std::vector<Completion>& completions) {
  const size_t n = completions.size();
  std::vector<Status> results(n);
  std::vector<char> valid(n, 1);
  for (size_t i = 0; i < n; ++i) {
    results[i] = ValidateCompletion(completions[i]);
    valid[i] = results[i].ok();
  }
  std::vector<Status> inner(n);
  Status s = SubmitOp([&](bool isolated) {
    const int64_t now = Now();
    std::vector<const Completion*> done;
    std::vector<int64_t> done_ids;
    for (size_t i = 0; i < n; ++i) {
      if (!valid[i]) continue;
      bool refused = false;
      if (isolated) {
        inner[i] = RunInSavepoint([&] { return CompleteOne(completions[i], now, &refused); });
        if (W().Broken()) return inner[i];
        continue;
      }
      if (completions[i].ok) {
        auto id = ParseId(completions[i].lease.item_id);
        if (!id) {
          inner[i] = NoItem(completions[i].lease.item_id);
          continue;
        }
        done.push_back(&completions[i]);
        done_ids.push_back(*id);
        continue;
      }
      inner[i] = CompleteOne(completions[i], now, &refused);
      if (!inner[i].ok() && !refused) return inner[i];
    }
    if (done.empty()) return Status::OK();
    ROBOTNI_RETURN_IF_ERROR(FinishDoneRows(done, done_ids, now));
    std::vector<const NewItem*> outputs;
    std::vector<int64_t> parents;
    for (size_t k = 0; k < done.size(); ++k) {
      inner[static_cast<size_t>(done[k] - completions.data())] = Status::OK();
      for (const NewItem& out : done[k]->outputs) {
        outputs.push_back(&out);
        parents.push_back(done_ids[k]);
      }
    }
    return InsertItems(outputs, parents, now, nullptr);
  });
  for (size_t i = 0; i < n; ++i) {
    if (valid[i]) results[i] = s.ok() ? inner[i] : s;
  }
  return results;
}

WorkItemStore::CompleteBatchAndReserveResult PgStore::CompleteBatchAndReserve(
    const std::vector<Completion>& completions, const ReserveRequest& next) {
  CompleteBatchAndReserveResult r;
  if (Status s = CheckReserveRequest(next); !s.ok()) {
    r.completed = CompleteBatch(completions);
    r.reserved = s;
    return r;
  }
  // The reserve follows the completions in the writer's queue, so both usually share one
  // transaction.
  std::vector<Item> items;
  Op reserve;
  reserve.fn = [&](bool) { return ReserveInTx(next, &items); };
  std::future<Status> f = reserve.done.get_future();
  follow_up_ = &reserve;
  r.completed = CompleteBatch(completions);
  if (follow_up_ == &reserve) {  // the completions never reached the writer (refused first)
    follow_up_ = nullptr;
    r.reserved = Reserve(next);
    return r;
  }
  Status s = f.get();
  if (s.ok()) {
    r.reserved = std::move(items);
  } else {
    r.reserved = s;
  }
  return r;
}

Status PgStore::UpdatePayload(const Lease& lease, const std::string& payload_json) {
  ROBOTNI_RETURN_IF_ERROR(ValidateJson(payload_json, "payload"));
  auto id = ParseId(lease.item_id);
  if (!id) return NoItem(lease.item_id);
  return Submit([&] {
    auto r = W().Exec(std::string("UPDATE items SET payload = $6, updated = $5 WHERE ") + kFence,
                      FenceParams(*id, lease).Add(Now()).Add(payload_json));
    if (!r.ok()) return r.status();
    return r->affected() == 0 ? LeaseLost(lease) : Status::OK();
  });
}

Status PgStore::Progress(const Lease& lease, const std::string& message) {
  auto id = ParseId(lease.item_id);
  if (!id) return NoItem(lease.item_id);
  return Submit([&] {
    const int64_t now = Now();
    auto r = W().Exec(std::string("UPDATE items SET updated = $5 WHERE ") + kFence,
                      FenceParams(*id, lease).Add(now));
    if (!r.ok()) return r.status();
    if (r->affected() == 0) return LeaseLost(lease);
    return AddTimeline(*id, now, "progress", lease.attempt, message);
  });
}

Status PgStore::RecordEvent(const std::string& item_id, const std::string& event,
                            const std::string& message) {
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  if (event.empty()) return Status::InvalidArgument("timeline event name is empty");
  return Submit([&] {
    auto r = W().Exec("SELECT attempt FROM items WHERE id = $1", Params().Add(*id));
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return NoItem(item_id);
    return AddTimeline(*id, Now(), event, static_cast<int>(r->Int(0, 0)), message);
  });
}

// ---------------------------------------------------------------------------------
// Files

Status PgStore::AddFile(const std::string& item_id, const NewFile& file) {
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  ROBOTNI_RETURN_IF_ERROR(ValidateFileName(file.name));
  if (static_cast<int64_t>(file.content.size()) > options_.max_file_bytes) {
    return Status::InvalidArgument("file '" + file.name + "' is " +
                                   std::to_string(file.content.size()) + " bytes, the limit is " +
                                   std::to_string(options_.max_file_bytes));
  }
  return Submit([&] {
    auto r = W().Exec("SELECT 1 FROM items WHERE id = $1", Params().Add(*id));
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return NoItem(item_id);
    return InsertFile(*id, file);
  });
}

Status PgStore::RemoveFile(const std::string& item_id, const std::string& name) {
  ROBOTNI_RETURN_IF_ERROR(ValidateFileName(name));
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  return Submit([&] {
    auto r =
        W().Exec("DELETE FROM files WHERE item_id = $1 AND name = $2", Params().Add(*id).Add(name));
    if (!r.ok()) return r.status();
    if (r->affected() == 0)
      return Status::NotFound("work item " + item_id + " has no file '" + name + "'");
    return Status::OK();
  });
}

StatusOr<std::string> PgStore::GetFile(const std::string& item_id, const std::string& name) {
  ROBOTNI_RETURN_IF_ERROR(ValidateFileName(name));
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  auto c = AcquireReader();
  if (!c.ok()) return c.status();
  auto r = (*c)->Exec("SELECT content FROM files WHERE item_id = $1 AND name = $2",
                      Params().Add(*id).Add(name), /*binary_result=*/true);
  if (!r.ok()) return r.status();
  if (r->rows() == 0)
    return Status::NotFound("work item " + item_id + " has no file '" + name + "'");
  return r->Text(0, 0);
}

// ---------------------------------------------------------------------------------
// Cancel, flush, retry

Status PgStore::Cancel(const std::string& item_id) {
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  return Submit([&] {
    const int64_t now = Now();
    auto r =
        W().Exec("SELECT state, attempt FROM items WHERE id = $1 FOR UPDATE", Params().Add(*id));
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return NoItem(item_id);
    const std::string state = r->Text(0, 0);
    const int attempt = static_cast<int>(r->Int(0, 1));
    if (state == "PENDING") {
      auto u = W().Exec(
          "UPDATE items SET state = 'CANCELLED', finished = $2, updated = $2 WHERE id = $1",
          Params().Add(*id).Add(now));
      if (!u.ok()) return u.status();
      return AddTimeline(*id, now, "cancelled", attempt, "");
    }
    if (state == "RESERVED") {
      auto u = W().Exec("UPDATE items SET cancel_requested = true, updated = $2 WHERE id = $1",
                        Params().Add(*id).Add(now));
      if (!u.ok()) return u.status();
      return AddTimeline(*id, now, "cancel", attempt, "cancel requested");
    }
    if (state == "CANCELLED") return Status::OK();
    return Status::Conflict("work item " + item_id + " is already " + state);
  });
}

StatusOr<bool> PgStore::IsCancelRequested(const Lease& lease) {
  auto id = ParseId(lease.item_id);
  if (!id) return NoItem(lease.item_id);
  auto c = AcquireReader();
  if (!c.ok()) return c.status();
  auto r = (*c)->Exec(
      "SELECT state, coalesce(lease_owner, ''), attempt, cancel_requested, lease_token FROM "
      "items WHERE id = $1",
      Params().Add(*id));
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return NoItem(lease.item_id);
  if (r->Text(0, 0) == "CANCELLED") return true;
  if (r->Text(0, 0) != "RESERVED" || r->Text(0, 1) != lease.owner ||
      r->Int(0, 2) != lease.attempt || (lease.token != 0 && r->Int(0, 4) != lease.token)) {
    return LeaseLost(lease);
  }
  return r->Bool(0, 3);
}

StatusOr<int64_t> PgStore::Flush(const std::string& queue) {
  if (queue.empty()) return Status::InvalidArgument("flush: queue is empty");
  int64_t n = 0;
  Status s = Submit([&] {
    const int64_t now = Now();
    // One statement: the rows cancelled are the rows the timeline records.
    auto r = W().Exec(
        "WITH c AS (UPDATE items SET state = 'CANCELLED', finished = $2, updated = $2 "
        "WHERE state = 'PENDING' AND queue = $1 RETURNING id, attempt) "
        "INSERT INTO timeline(item_id, at, event, attempt, message) "
        "SELECT id, $2, 'cancelled', attempt, 'flushed' FROM c",
        Params().Add(queue).Add(now));
    if (!r.ok()) return r.status();
    n = r->affected();
    return Status::OK();
  });
  if (!s.ok()) return s;
  return n;
}

Status PgStore::Retry(const std::string& item_id) {
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  return Submit([&] {
    const int64_t now = Now();
    auto r = W().Exec("SELECT state FROM items WHERE id = $1 FOR UPDATE", Params().Add(*id));
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return NoItem(item_id);
    const std::string state = r->Text(0, 0);
    if (state != "FAILED" && state != "CANCELLED") {
      return Status::Conflict("work item " + item_id + " is " + state +
                              "; only FAILED or CANCELLED items can be retried");
    }
    ROBOTNI_RETURN_IF_ERROR(KeepStartedRow(*id));
    auto u = W().Exec(
        "UPDATE items SET state = 'PENDING', attempt = 0, not_before = 0, started = 0, "
        "finished = 0, updated = $2, lease_owner = NULL, lease_expires = 0, result = NULL, "
        "exception_type = NULL, error_code = NULL, error_message = NULL, traceback = NULL, "
        "cancel_requested = false WHERE id = $1",
        Params().Add(*id).Add(now));
    if (!u.ok()) return u.status();
    notify_ = true;
    return AddTimeline(*id, now, "retry", 0, "retried from " + state);
  });
}

// ---------------------------------------------------------------------------------
// Reaper and pruning

StatusOr<int64_t> PgStore::ReapExpired(int64_t now_ms) {
  int64_t n = 0;
  Status s = Submit([&] {
    n = 0;
    // SKIP LOCKED: a row another process is completing right now is not expired for it.
    auto rows = W().Exec(
        "SELECT id, attempt, max_attempts, cancel_requested FROM items WHERE state = "
        "'RESERVED' AND lease_expires <= $1 ORDER BY id FOR UPDATE SKIP LOCKED",
        Params().Add(now_ms));
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->rows(); ++i) {
      const int64_t id = rows->Int(i, 0);
      const int attempt = static_cast<int>(rows->Int(i, 1));
      const int max_attempts = static_cast<int>(rows->Int(i, 2));
      const bool cancel = rows->Bool(i, 3);
      ROBOTNI_RETURN_IF_ERROR(KeepStartedRow(id));
      std::string state, msg;
      int64_t finished = now_ms;
      std::optional<int64_t> not_before;
      if (cancel) {
        state = "CANCELLED";
        msg = "lease expired; cancelled";
      } else if (attempt < max_attempts) {
        const int64_t delay = BackoffMs(attempt);
        state = "PENDING";
        finished = 0;
        not_before = now_ms + delay;
        msg = "lease expired; retry in " + std::to_string(delay) + " ms";
      } else {
        state = "FAILED";
        msg = "lease expired; attempts exhausted";
      }
      Params p;
      p.Add(id).Add(state).Add(finished).Add(now_ms);
      if (not_before) {
        p.Add(*not_before);
      } else {
        p.Null();
      }
      auto u = W().Exec(
          "UPDATE items SET state = $2, result = NULL, exception_type = 'APPLICATION', "
          "error_code = 'LEASE_EXPIRED', error_message = 'lease expired', traceback = NULL, "
          "finished = $3, not_before = coalesce($5, not_before), updated = $4, "
          "lease_expires = 0, "
          "lease_owner = CASE WHEN $2 = 'PENDING' THEN NULL ELSE lease_owner END WHERE id = $1",
          p);
      if (!u.ok()) return u.status();
      ROBOTNI_RETURN_IF_ERROR(AddTimeline(id, now_ms, "reaped", attempt, msg));
      ++n;
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  return n;
}

StatusOr<int64_t> PgStore::Prune(int64_t finished_before_ms) {
  int64_t n = 0;
  Status s = Submit([&] {
    auto r = W().Exec(
        "WITH d AS (DELETE FROM items WHERE finished > 0 AND finished < $1 "
        "AND state IN ('DONE', 'FAILED', 'CANCELLED') RETURNING id), "
        "f AS (DELETE FROM files WHERE item_id IN (SELECT id FROM d)), "
        "t AS (DELETE FROM timeline WHERE item_id IN (SELECT id FROM d)) "
        "SELECT count(*) FROM d",
        Params().Add(finished_before_ms));
    if (!r.ok()) return r.status();
    n = r->Int(0, 0);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return n;
}

Status PgStore::Delete(const std::string& item_id) {
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  return Submit([&] {
    auto r = W().Exec(
        "WITH d AS (DELETE FROM items WHERE id = $1 RETURNING id), "
        "f AS (DELETE FROM files WHERE item_id = $1), "
        "t AS (DELETE FROM timeline WHERE item_id = $1) "
        "SELECT count(*) FROM d",
        Params().Add(*id));
    if (!r.ok()) return r.status();
    if (r->Int(0, 0) == 0) return NoItem(item_id);
    return Status::OK();
  });
}

// ---------------------------------------------------------------------------------
// Reads

StatusOr<Item> PgStore::Get(const std::string& item_id) {
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  auto c = AcquireReader();
  if (!c.ok()) return c.status();
  auto r = (*c)->Exec(std::string("SELECT ") + kItemCols + " FROM items WHERE id = $1",
                      Params().Add(*id));
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return NoItem(item_id);
  std::vector<Item> items{RowToItem(*r, 0)};
  ROBOTNI_RETURN_IF_ERROR(ReadFiles(**c, &items));
  return std::move(items[0]);
}

namespace {

// `text` as an ILIKE pattern matching it anywhere, its wildcards and the escape literal.
std::string ContainsPattern(const std::string& text) {
  std::string p = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') p += '\\';
    p += c;
  }
  return p + "%";
}

// The WHERE clause of List and Count (`bounds`: the id range too), its values added to p.
std::string FilterSql(const ListFilter& f, bool bounds, Params* p) {
  std::string w = "TRUE";
  auto add = [&](const std::string& cond_head, auto value, const std::string& cond_tail = "") {
    p->Add(value);
    w += " AND " + cond_head + "$" + std::to_string(p->size()) + cond_tail;
  };
  if (!f.queue.empty()) add("queue = ", f.queue);
  if (f.state && f.held_as_pending && *f.state == State::kPending) {
    w += " AND (state = 'PENDING' OR (state = 'RESERVED' AND started = 0))";
  } else if (f.state) {
    add("state = ", std::string(StateName(*f.state)));
    if (f.held_as_pending && *f.state == State::kReserved) w += " AND started > 0";
  }
  if (f.kind) add("kind = ", std::string(KindName(*f.kind)));
  if (f.due_by_ms) add("not_before <= ", *f.due_by_ms);
  if (f.due_after_ms) add("not_before > ", *f.due_after_ms);
  if (!f.text.empty()) {
    p->Add(ContainsPattern(f.text));
    const std::string ph = "$" + std::to_string(p->size());
    w += " AND (payload ILIKE " + ph + " OR error_code ILIKE " + ph + " OR error_message ILIKE " +
         ph + " OR traceback ILIKE " + ph + ")";
  }
  if (f.created_from_ms) add("created >= ", *f.created_from_ms);
  if (f.created_to_ms) add("created < ", *f.created_to_ms);
  if (bounds && f.id_below) add("id < ", *f.id_below);
  if (bounds && f.id_above) add("id > ", *f.id_above);
  return w;
}

}  // namespace

StatusOr<std::vector<Item>> PgStore::List(const ListFilter& filter) {
  auto c = AcquireReader();
  if (!c.ok()) return c.status();
  Params p;
  std::string where = FilterSql(filter, /*bounds=*/true, &p);
  p.Add(std::max(0, filter.limit)).Add(std::max(0, filter.offset));
  const std::string n = std::to_string(p.size());
  auto r = (*c)->Exec(std::string("SELECT ") + kItemCols + " FROM items WHERE " + where +
                          " ORDER BY id " + (filter.newest_first ? "DESC" : "ASC") + " LIMIT $" +
                          std::to_string(p.size() - 1) + " OFFSET $" + n,
                      p);
  if (!r.ok()) return r.status();
  std::vector<Item> items;
  items.reserve(r->rows());
  for (int i = 0; i < r->rows(); ++i) items.push_back(RowToItem(*r, i));
  ROBOTNI_RETURN_IF_ERROR(ReadFiles(**c, &items));
  return items;
}

StatusOr<int64_t> PgStore::Count(const ListFilter& filter) {
  auto c = AcquireReader();
  if (!c.ok()) return c.status();
  Params p;
  std::string where = FilterSql(filter, /*bounds=*/false, &p);
  auto r = (*c)->Exec("SELECT count(*) FROM items WHERE " + where, p);
  if (!r.ok()) return r.status();
  return r->Int(0, 0);
}

// One statement, so one snapshot: an item changing state meanwhile is counted once.
StatusOr<std::vector<QueueStats>> PgStore::Stats(const std::string& queue) {
  auto c = AcquireReader();
  if (!c.ok()) return c.status();
  auto r = (*c)->Exec(
      "SELECT queue, "
      "count(*) FILTER (WHERE state = 'PENDING' AND not_before <= $1), "
      "count(*) FILTER (WHERE state = 'PENDING' AND not_before > $1), "
      "count(*) FILTER (WHERE state = 'RESERVED' AND started > 0), "
      "count(*) FILTER (WHERE state = 'RESERVED' AND started = 0), "
      "count(*) FILTER (WHERE state = 'DONE'), "
      "count(*) FILTER (WHERE state = 'FAILED'), "
      "count(*) FILTER (WHERE state = 'CANCELLED') "
      "FROM items WHERE ($2 = '' OR queue = $2) GROUP BY queue ORDER BY queue COLLATE \"C\"",
      Params().Add(Now()).Add(queue));
  if (!r.ok()) return r.status();
  std::vector<QueueStats> out;
  for (int i = 0; i < r->rows(); ++i) {
    QueueStats q;
    q.queue = r->Text(i, 0);
    q.pending = r->Int(i, 1);
    q.scheduled = r->Int(i, 2);
    q.reserved = r->Int(i, 3);
    q.held = r->Int(i, 4);
    q.done = r->Int(i, 5);
    q.failed = r->Int(i, 6);
    q.cancelled = r->Int(i, 7);
    out.push_back(std::move(q));
  }
  return out;
}

// As SqliteStore::Timeline: "queued", the current attempt's "started" and a DONE item's
// "finished" come from the item's own columns; rows hold the rest.
StatusOr<std::vector<TimelineEntry>> PgStore::Timeline(const std::string& item_id) {
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  auto c = AcquireReader();
  if (!c.ok()) return c.status();
  // One statement (one snapshot) for the item and its rows; the item's row comes first.
  auto r = (*c)->Exec(
      "SELECT 0 AS k, created, started, finished, attempt, state, coalesce(lease_owner, ''), 0 "
      "FROM items WHERE id = $1 "
      "UNION ALL SELECT 1, at, 0, 0, attempt, event, message, id FROM timeline "
      "WHERE item_id = $1 AND EXISTS(SELECT 1 FROM items WHERE id = $1) ORDER BY 1, 8",
      Params().Add(*id));
  if (!r.ok()) return r.status();
  if (r->rows() == 0 || r->Int(0, 0) != 0) return NoItem(item_id);
  const int64_t created = r->Int(0, 1), started = r->Int(0, 2), finished = r->Int(0, 3);
  const int attempt = static_cast<int>(r->Int(0, 4));
  const std::string state = r->Text(0, 5), owner = r->Text(0, 6);
  struct Entry {
    TimelineEntry e;
    int rank;
    size_t seq;
  };
  std::vector<Entry> all;
  bool has_queued = false, has_started = false, has_finished = false;
  for (int i = 1; i < r->rows(); ++i) {
    TimelineEntry e{r->Int(i, 1), r->Text(i, 5), static_cast<int>(r->Int(i, 4)), r->Text(i, 6)};
    has_queued |= e.event == "queued";
    has_started |= e.event == "started" && e.attempt == attempt && e.at_ms == started;
    has_finished |= e.event == "finished" && e.attempt == attempt && e.at_ms == finished;
    const int rank = e.event == "started" ? 1 : e.event == "finished" ? 3 : 2;
    all.push_back({std::move(e), rank, all.size()});
  }
  if (!has_queued) all.push_back({{created, "queued", 0, ""}, 0, all.size()});
  if (!has_started && started > 0 && attempt > 0)
    all.push_back({{started, "started", attempt, owner}, 1, all.size()});
  if (!has_finished && state == "DONE" && finished > 0)
    all.push_back({{finished, "finished", attempt, "DONE"}, 3, all.size()});
  std::sort(all.begin(), all.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.e.at_ms, a.e.attempt, a.rank, a.seq) <
           std::tie(b.e.at_ms, b.e.attempt, b.rank, b.seq);
  });
  std::vector<TimelineEntry> out;
  out.reserve(all.size());
  for (Entry& x : all) out.push_back(std::move(x.e));
  return out;
}

// ---------------------------------------------------------------------------------
// Ids, unreserve, dead owners

StatusOr<int64_t> PgStore::AllocateIds(int n) {
  if (n <= 0) return Status::InvalidArgument("AllocateIds: n must be positive");
  int64_t first = 0;
  Status s = Submit([&] {
    auto r = TakeIds(n);
    if (!r.ok()) return r.status();
    first = *r;
    return Status::OK();
  });
  if (!s.ok()) return s;
  return first;
}

Status PgStore::Unreserve(const Lease& lease) {
  auto id = ParseId(lease.item_id);
  if (!id) return NoItem(lease.item_id);
  return Submit([&] {
    const int64_t now = Now();
    // A job cancelled while it ran ends CANCELLED when given back (reserve skips
    // cancel_requested items); any other goes back unspent.
    auto r = W().Exec(
        std::string("UPDATE items SET "
                    "state = CASE WHEN cancel_requested THEN 'CANCELLED' ELSE 'PENDING' END, "
                    "finished = CASE WHEN cancel_requested THEN $5::bigint ELSE 0 END, "
                    "attempt = CASE WHEN cancel_requested THEN attempt ELSE attempt - 1 END, "
                    "started = CASE WHEN cancel_requested THEN started ELSE 0 END, "
                    "lease_owner = NULL, lease_expires = 0, updated = $5::bigint WHERE ") +
            kFence + " RETURNING state",
        FenceParams(*id, lease).Add(now));
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return LeaseLost(lease);
    if (r->Text(0, 0) == "CANCELLED")
      return AddTimeline(*id, now, "cancelled", lease.attempt, "cancelled while it ran");
    notify_ = true;
    return AddTimeline(*id, now, "unreserved", lease.attempt, "given back unused");
  });
}

StatusOr<int64_t> PgStore::ReleaseDeadOwners(
    const std::function<bool(const std::string& owner)>& is_dead) {
  std::vector<std::string> dead;
  {
    auto c = AcquireReader();
    if (!c.ok()) return c.status();
    auto r = (*c)->Exec("SELECT DISTINCT lease_owner FROM items WHERE state = 'RESERVED'");
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i) {
      std::string owner = r->Text(i, 0);
      if (is_dead(owner)) dead.push_back(owner);
    }
  }
  int64_t n = 0;
  for (const std::string& owner : dead) {
    int64_t released = 0;
    Status s = Submit([&] {
      released = 0;
      const int64_t now = Now();
      auto r = W().Exec(
          "UPDATE items SET "
          "state = CASE WHEN cancel_requested THEN 'CANCELLED' "
          "WHEN attempt < max_attempts THEN 'PENDING' ELSE 'FAILED' END, "
          "finished = CASE WHEN attempt < max_attempts AND NOT cancel_requested THEN 0 ELSE "
          "$2::bigint "
          "END, exception_type = 'APPLICATION', error_code = 'HOLDER_DIED', "
          "error_message = 'the runtime holding the lease died', "
          "lease_owner = NULL, lease_expires = 0, not_before = $2, updated = $2 "
          "WHERE state = 'RESERVED' AND lease_owner = $1 RETURNING id, attempt, state",
          Params().Add(owner).Add(now));
      if (!r.ok()) return r.status();
      for (int i = 0; i < r->rows(); ++i) {
        ROBOTNI_RETURN_IF_ERROR(KeepStartedRow(r->Int(i, 0)));
        ROBOTNI_RETURN_IF_ERROR(AddTimeline(r->Int(i, 0), now, "reaped",
                                            static_cast<int>(r->Int(i, 1)),
                                            "holder " + owner + " died; now " + r->Text(i, 2)));
        ++released;
      }
      return Status::OK();
    });
    if (!s.ok()) return s;
    n += released;
  }
  return n;
}

}  // namespace robotni::store::postgres
