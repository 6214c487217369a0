#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/json_limits.h"
#include "core/private_fs.h"
#include "core/sha256.h"
#include "store/sqlite/schema.h"
#include "store/store_checks.h"

namespace robotni::store::sqlite {
namespace fs = std::filesystem;

namespace {

constexpr char kItemCols[] =
    "id, queue, state, payload, priority, attempt, max_attempts, parent_id, idempotency_key, "
    "lease_owner, lease_expires, created, not_before, started, finished, updated, result, "
    "exception_type, error_code, error_message, traceback, cancel_requested, lease_token, meta, "
    "kind";
// The claim statements return kItemCols and then has_files; the lean ones kLeanCols.
constexpr int kHasFilesCol = 25;
constexpr char kLeanCols[] =
    "id, queue, payload, priority, attempt, max_attempts, lease_token, has_files";
constexpr int kLeanHasFilesCol = 7;

std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (auto p : parts) s += p;
  return s;
}

ExceptionType ParseExceptionType(const std::string& s) {
  if (s == "BUSINESS") return ExceptionType::kBusiness;
  if (s == "APPLICATION") return ExceptionType::kApplication;
  return ExceptionType::kNone;
}

Item RowToItem(const StmtUse& u) {
  Item it;
  it.id = std::to_string(u.Int(0));
  it.queue = u.Text(1);
  it.state = ParseState(u.Text(2)).value_or(State::kPending);
  it.payload_json = u.Text(3);
  it.priority = static_cast<int>(u.Int(4));
  it.attempt = static_cast<int>(u.Int(5));
  it.max_attempts = static_cast<int>(u.Int(6));
  if (!u.IsNull(7)) it.parent_id = std::to_string(u.Int(7));
  it.idempotency_key = u.Text(8);
  it.lease_owner = u.Text(9);
  it.lease_expires_ms = u.Int(10);
  it.created_ms = u.Int(11);
  it.not_before_ms = u.Int(12);
  it.started_ms = u.Int(13);
  it.finished_ms = u.Int(14);
  it.updated_ms = u.Int(15);
  it.result_json = u.Text(16);
  it.exception_type = ParseExceptionType(u.Text(17));
  it.error_code = u.Text(18);
  it.error_message = u.Text(19);
  it.traceback = u.Text(20);
  it.cancel_requested = u.Int(21) != 0;
  it.lease_token = u.Int(22);
  it.meta_json = u.Text(23);
  it.kind = u.Text(24) == "job" ? Kind::kJob : Kind::kItem;
  return it;
}

// A row of kLeanCols claimed for `owner` until `expires` at `now`.
Item LeanRowToItem(const StmtUse& u, const std::string& owner, int64_t expires, int64_t now) {
  Item it;
  it.id = std::to_string(u.Int(0));
  it.queue = u.Text(1);
  it.state = State::kReserved;
  it.payload_json = u.Text(2);
  it.priority = static_cast<int>(u.Int(3));
  it.attempt = static_cast<int>(u.Int(4));
  it.max_attempts = static_cast<int>(u.Int(5));
  it.lease_token = u.Int(6);
  it.lease_owner = owner;
  it.lease_expires_ms = expires;
  it.started_ms = it.updated_ms = now;
  return it;
}

// Prepares `st` once as head + n copies of `row` separated by commas + tail: the
// multi-row statements of InsertPlain and FinishDoneRows, one per row count.
Status PrepareRows(sqlite3* db, Stmt& st, std::string_view head, std::string_view row, size_t n,
                   std::string_view tail) {
  if (st.get()) return Status::OK();
  std::string sql(head);
  for (size_t k = 0; k < n; ++k) (sql += k ? "," : "") += row;
  sql += tail;
  return st.Prepare(db, sql.c_str());
}

std::string ErrnoText() { return std::strerror(errno); }

// Writes content to path with O_EXCL, mode 0600 (work-item files are job data); fsyncs when
// asked.
Status WriteNewFile(const std::string& path, std::string_view content, bool sync) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + path + ": " + ErrnoText());
  ::fchmod(fd, 0600);  // whatever the umask
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Status::IOError("cannot write " + path + ": " + ErrnoText());
      ::close(fd);
      ::unlink(path.c_str());
      return s;
    }
    off += static_cast<size_t>(n);
  }
  if (sync && ::fsync(fd) != 0) {
    Status s = Status::IOError("cannot fsync " + path + ": " + ErrnoText());
    ::close(fd);
    ::unlink(path.c_str());
    return s;
  }
  if (::close(fd) != 0) return Status::IOError("cannot close " + path + ": " + ErrnoText());
  return Status::OK();
}

std::atomic<uint64_t> g_stage_counter{0};

}  // namespace

struct SqliteStore::Op {
  std::function<Status(bool isolated)> fn;
  std::promise<Status> done;
  Status result;  // writer thread only
};

// The write connection and its statements (writer thread only).
struct SqliteStore::WriterConn {
  DbPtr db;
  Stmt begin, commit, rollback, savepoint, release, rollback_to;
  Stmt batch_savepoint, batch_release, batch_rollback_to;
  Stmt unreserve, bump_sequence, insert_sequence, release_owner;
  Stmt find_key, insert_item, insert_timeline, keep_started, insert_file;
  Stmt claim_one_queue, candidates, next_queue_ge, next_queue_gt, item_files;
  Stmt claim_one_queue_lean;
  Stmt set_started, record_start;
  Stmt fenced_row, finish, heartbeat, set_payload, touch;
  Stmt item_state, finished_by, import_state, cancel_pending, request_cancel, flush_timeline, flush,
      retry;
  Stmt expired, prune_next_group, prune_select, delete_files, delete_timeline, delete_item;
  Stmt item_exists, delete_file;
  Stmt insert_plain[SqliteStore::kPlainRows + 1];      // [n]: n rows; prepared on first use
  Stmt finish_done_rows[SqliteStore::kPlainRows + 1];  // the same for FinishDoneRows

  Status Prepare() {
    sqlite3* d = db.get();
    const std::string cols = kItemCols;
    ROBOTNI_RETURN_IF_ERROR(begin.Prepare(d, "BEGIN IMMEDIATE"));
    ROBOTNI_RETURN_IF_ERROR(commit.Prepare(d, "COMMIT"));
    ROBOTNI_RETURN_IF_ERROR(rollback.Prepare(d, "ROLLBACK"));
    ROBOTNI_RETURN_IF_ERROR(savepoint.Prepare(d, "SAVEPOINT op"));
    ROBOTNI_RETURN_IF_ERROR(release.Prepare(d, "RELEASE op"));
    ROBOTNI_RETURN_IF_ERROR(rollback_to.Prepare(d, "ROLLBACK TO op"));
    ROBOTNI_RETURN_IF_ERROR(batch_savepoint.Prepare(d, "SAVEPOINT batch"));
    ROBOTNI_RETURN_IF_ERROR(batch_release.Prepare(d, "RELEASE batch"));
    ROBOTNI_RETURN_IF_ERROR(batch_rollback_to.Prepare(d, "ROLLBACK TO batch"));
    ROBOTNI_RETURN_IF_ERROR(find_key.Prepare(d, "SELECT id FROM items WHERE idempotency_key = ?1"));
    ROBOTNI_RETURN_IF_ERROR(insert_item.Prepare(
        d,
        "INSERT INTO items(id, queue, state, payload, priority, max_attempts, parent_id, "
        "idempotency_key, created, not_before, updated, meta, kind) "
        "VALUES(?9, ?1, 'PENDING', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?7, ?10, ?11)"));
    ROBOTNI_RETURN_IF_ERROR(insert_timeline.Prepare(
        d, "INSERT INTO timeline(item_id, at, event, attempt, message) VALUES(?1,?2,?3,?4,?5)"));
    // See Timeline(): an attempt's start is kept as a row only once the item's
    // `started` column is about to be overwritten or cleared.
    ROBOTNI_RETURN_IF_ERROR(keep_started.Prepare(
        d,
        "INSERT INTO timeline(item_id, at, event, attempt, message) "
        "SELECT id, started, 'started', attempt, coalesce(lease_owner, '') FROM items "
        "WHERE id = ?1 AND started > 0 AND attempt > 0"));
    ROBOTNI_RETURN_IF_ERROR(insert_file.Prepare(
        d, "INSERT OR REPLACE INTO files(item_id, name, size, sha256) VALUES(?1,?2,?3,?4)"));
    // ?1 owner, ?2 lease expiry, ?3 now, ?4 queue (or id), ?5 limit, ?6 started.
    const std::string claim =
        "UPDATE items SET state = 'RESERVED', lease_owner = ?1, lease_expires = ?2, "
        "attempt = attempt + 1, lease_token = lease_token + 1, started = ?6, updated = ?3 ";
    const std::string one_queue =
        "WHERE id IN (SELECT id FROM items INDEXED BY items_ready WHERE state = 'PENDING' "
        "AND queue = ?4 AND not_before <= ?3 AND cancel_requested = 0 "
        "ORDER BY priority DESC, id LIMIT ?5) RETURNING ";
    ROBOTNI_RETURN_IF_ERROR(
        claim_one_queue.Prepare(d, Cat({claim, one_queue, cols, ", has_files"}).c_str()));
    ROBOTNI_RETURN_IF_ERROR(
        claim_one_queue_lean.Prepare(d, Cat({claim, one_queue, kLeanCols}).c_str()));
    ROBOTNI_RETURN_IF_ERROR(candidates.Prepare(
        d,
        "SELECT id, priority FROM items INDEXED BY items_ready WHERE state = 'PENDING' AND queue = "
        "?1 "
        "AND not_before <= ?2 AND cancel_requested = 0 ORDER BY priority DESC, id LIMIT ?3"));
    ROBOTNI_RETURN_IF_ERROR(next_queue_ge.Prepare(
        d,
        "SELECT queue FROM items INDEXED BY items_ready WHERE state = 'PENDING' AND queue >= ?1 "
        "ORDER BY queue LIMIT 1"));
    ROBOTNI_RETURN_IF_ERROR(next_queue_gt.Prepare(
        d,
        "SELECT queue FROM items INDEXED BY items_ready WHERE state = 'PENDING' AND queue > ?1 "
        "ORDER BY queue LIMIT 1"));
    ROBOTNI_RETURN_IF_ERROR(item_files.Prepare(
        d, "SELECT name, size, sha256 FROM files WHERE item_id = ?1 ORDER BY name"));
    ROBOTNI_RETURN_IF_ERROR(fenced_row.Prepare(
        d,
        "SELECT attempt, max_attempts, cancel_requested FROM items "
        "WHERE id = ?1 AND lease_owner = ?2 AND attempt = ?3 AND state = 'RESERVED' "
        "AND (?6 = 0 OR lease_token = ?6)"));
    // ?1 id, ?2 state, ?3 result, ?4 exception type, ?5 code, ?6 message, ?7 traceback,
    // ?8 finished, ?9 not_before (NULL = keep), ?10 now, ?11 payload (NULL = keep).
    ROBOTNI_RETURN_IF_ERROR(finish.Prepare(
        d,
        "UPDATE items SET state = ?2, result = ?3, exception_type = ?4, error_code = ?5, "
        "error_message = ?6, traceback = ?7, finished = ?8, "
        "not_before = coalesce(?9, not_before), updated = ?10, lease_expires = 0, "
        "lease_owner = CASE WHEN ?2 = 'PENDING' THEN NULL ELSE lease_owner END, "
        "payload = coalesce(?11, payload) WHERE id = ?1"));
    // A job cancelled while it ran ends CANCELLED when it is given back (reserve skips
    // cancel_requested items: as PENDING it would wait for ever); any other goes back
    // unspent.
    ROBOTNI_RETURN_IF_ERROR(unreserve.Prepare(
        d,
        "UPDATE items SET "
        "state = CASE WHEN cancel_requested THEN 'CANCELLED' ELSE 'PENDING' END, "
        "finished = CASE WHEN cancel_requested THEN ?5 ELSE 0 END, "
        "attempt = CASE WHEN cancel_requested THEN attempt ELSE attempt - 1 END, "
        "started = CASE WHEN cancel_requested THEN started ELSE 0 END, "
        "lease_owner = NULL, lease_expires = 0, updated = ?5 "
        "WHERE id = ?1 AND lease_owner = ?2 AND attempt = ?3 AND state = 'RESERVED' "
        "AND (?4 = 0 OR lease_token = ?4) RETURNING state"));
    // AUTOINCREMENT keeps the high-water mark in sqlite_sequence; raising it hands
    // out a block of ids, and later inserts continue above it.
    ROBOTNI_RETURN_IF_ERROR(bump_sequence.Prepare(
        d,
        "UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT IFNULL(MAX(id), 0) FROM items)) + ?1 "
        "WHERE name = 'items' RETURNING seq"));
    ROBOTNI_RETURN_IF_ERROR(insert_sequence.Prepare(
        d,
        "INSERT INTO sqlite_sequence(name, seq) "
        "VALUES('items', (SELECT IFNULL(MAX(id), 0) FROM items) + ?1) RETURNING seq"));
    ROBOTNI_RETURN_IF_ERROR(release_owner.Prepare(
        d,
        "UPDATE items SET "
        "state = CASE WHEN cancel_requested THEN 'CANCELLED' "
        "WHEN attempt < max_attempts THEN 'PENDING' ELSE 'FAILED' END, "
        "finished = CASE WHEN attempt < max_attempts AND NOT cancel_requested THEN 0 ELSE ?2 END, "
        "exception_type = 'APPLICATION', error_code = 'HOLDER_DIED', "
        "error_message = 'the runtime holding the lease died', "
        "lease_owner = NULL, lease_expires = 0, not_before = ?2, updated = ?2 "
        "WHERE state = 'RESERVED' AND lease_owner = ?1 RETURNING id, attempt, state"));
    ROBOTNI_RETURN_IF_ERROR(
        heartbeat.Prepare(d,
                          "UPDATE items SET lease_expires = ?5, updated = ?4 WHERE id = ?1 AND "
                          "lease_owner = ?2 AND attempt = ?3 AND state = 'RESERVED' AND (?6 = 0 OR "
                          "lease_token = ?6)"));
    // The claimed items that start now, of a claim that holds the others (start_now).
    ROBOTNI_RETURN_IF_ERROR(set_started.Prepare(d, "UPDATE items SET started = ?2 WHERE id = ?1"));
    // ?1 id, ?2 owner, ?3 attempt, ?4 token, ?5 started, ?6 now.
    ROBOTNI_RETURN_IF_ERROR(record_start.Prepare(
        d,
        "UPDATE items SET started = ?5, updated = ?6 WHERE id = ?1 AND lease_owner = ?2 AND "
        "attempt = ?3 AND state = 'RESERVED' AND (?4 = 0 OR lease_token = ?4) AND started = 0"));
    ROBOTNI_RETURN_IF_ERROR(
        set_payload.Prepare(d,
                            "UPDATE items SET payload = ?5, updated = ?4 WHERE id = ?1 AND "
                            "lease_owner = ?2 AND attempt = ?3 AND state = 'RESERVED' AND (?6 = 0 "
                            "OR lease_token = ?6)"));
    ROBOTNI_RETURN_IF_ERROR(touch.Prepare(d,
                                          "UPDATE items SET updated = ?4 WHERE id = ?1 AND "
                                          "lease_owner = ?2 AND attempt = ?3 AND state = "
                                          "'RESERVED' AND (?6 = 0 OR lease_token = ?6)"));
    ROBOTNI_RETURN_IF_ERROR(
        item_state.Prepare(d, "SELECT state, attempt FROM items WHERE id = ?1"));
    // ?1 id, ?2 state, ?3 exception type, ?4 code, ?5 message, ?6 attempt, ?7 created,
    // ?8 started, ?9 finished, ?10 now.
    ROBOTNI_RETURN_IF_ERROR(import_state.Prepare(
        d,
        "UPDATE items SET state = ?2, exception_type = ?3, error_code = ?4, error_message = ?5, "
        "attempt = ?6, created = ?7, started = ?8, finished = ?9, updated = ?10 WHERE id = ?1"));
    ROBOTNI_RETURN_IF_ERROR(finished_by.Prepare(
        d,
        "SELECT state, coalesce(lease_owner, ''), attempt, lease_token FROM items WHERE id = ?1"));
    ROBOTNI_RETURN_IF_ERROR(
        cancel_pending.Prepare(d,
                               "UPDATE items SET state = 'CANCELLED', finished = ?2, updated = ?2 "
                               "WHERE id = ?1 AND state = 'PENDING'"));
    ROBOTNI_RETURN_IF_ERROR(
        request_cancel.Prepare(d,
                               "UPDATE items SET cancel_requested = 1, updated = ?2 "
                               "WHERE id = ?1 AND state = 'RESERVED'"));
    ROBOTNI_RETURN_IF_ERROR(
        flush_timeline.Prepare(d,
                               "INSERT INTO timeline(item_id, at, event, attempt, message) "
                               "SELECT id, ?2, 'cancelled', attempt, 'flushed' FROM items "
                               "WHERE state = 'PENDING' AND queue = ?1"));
    ROBOTNI_RETURN_IF_ERROR(
        flush.Prepare(d,
                      "UPDATE items SET state = 'CANCELLED', finished = ?2, updated = ?2 "
                      "WHERE state = 'PENDING' AND queue = ?1"));
    ROBOTNI_RETURN_IF_ERROR(retry.Prepare(
        d,
        "UPDATE items SET state = 'PENDING', attempt = 0, not_before = 0, started = 0, "
        "finished = 0, updated = ?2, lease_owner = NULL, lease_expires = 0, result = NULL, "
        "exception_type = NULL, error_code = NULL, error_message = NULL, traceback = NULL, "
        "cancel_requested = 0 WHERE id = ?1 AND state IN ('FAILED', 'CANCELLED')"));
    ROBOTNI_RETURN_IF_ERROR(
        expired.Prepare(d,
                        "SELECT id, attempt, max_attempts, cancel_requested FROM items "
                        "WHERE state = 'RESERVED' AND lease_expires <= ?1"));
    // Prune walks items_final one (queue, state) group at a time: the next group after
    // (?1, ?2), then that group's rows finished before ?3.
    ROBOTNI_RETURN_IF_ERROR(prune_next_group.Prepare(
        d,
        "SELECT queue, state FROM items INDEXED BY items_final "
        "WHERE finished > 0 AND (queue, state) > (?1, ?2) ORDER BY queue, state LIMIT 1"));
    ROBOTNI_RETURN_IF_ERROR(
        prune_select.Prepare(d,
                             "SELECT id FROM items INDEXED BY items_final "
                             "WHERE finished > 0 AND queue = ?1 AND state = ?2 AND finished < ?3"));
    ROBOTNI_RETURN_IF_ERROR(delete_files.Prepare(d, "DELETE FROM files WHERE item_id = ?1"));
    ROBOTNI_RETURN_IF_ERROR(delete_timeline.Prepare(d, "DELETE FROM timeline WHERE item_id = ?1"));
    ROBOTNI_RETURN_IF_ERROR(delete_item.Prepare(d, "DELETE FROM items WHERE id = ?1"));
    ROBOTNI_RETURN_IF_ERROR(item_exists.Prepare(d, "SELECT 1 FROM items WHERE id = ?1"));
    ROBOTNI_RETURN_IF_ERROR(
        delete_file.Prepare(d, "DELETE FROM files WHERE item_id = ?1 AND name = ?2"));
    return Status::OK();
  }
};

// A read connection and its statements.
struct SqliteStore::Reader {
  DbPtr db;
  Stmt get_item, item_files, timeline, timeline_item, item_exists, file_row, list_desc, list_asc,
      list_jobs_desc, list_jobs_asc, count_items, count_jobs, lease_row, begin_read, end_read;
  Stmt stats[3][2];  // [PENDING, RESERVED, final][all queues, one queue]

  Status Prepare() {
    sqlite3* d = db.get();
    const std::string cols = kItemCols;
    ROBOTNI_RETURN_IF_ERROR(
        get_item.Prepare(d, Cat({"SELECT ", cols, " FROM items WHERE id = ?1"}).c_str()));
    ROBOTNI_RETURN_IF_ERROR(item_files.Prepare(
        d, "SELECT name, size, sha256 FROM files WHERE item_id = ?1 ORDER BY name"));
    ROBOTNI_RETURN_IF_ERROR(timeline.Prepare(
        d, "SELECT at, event, attempt, message FROM timeline WHERE item_id = ?1 ORDER BY id"));
    ROBOTNI_RETURN_IF_ERROR(timeline_item.Prepare(
        d,
        "SELECT created, started, finished, attempt, state, coalesce(lease_owner, '') FROM items "
        "WHERE id = ?1"));
    ROBOTNI_RETURN_IF_ERROR(item_exists.Prepare(d, "SELECT 1 FROM items WHERE id = ?1"));
    ROBOTNI_RETURN_IF_ERROR(
        file_row.Prepare(d, "SELECT size FROM files WHERE item_id = ?1 AND name = ?2"));
    const std::string filters =
        "(?1 = '' OR queue = ?1) "
        // ?13 = 1: held jobs (RESERVED, started = 0) count as PENDING, not as RESERVED.
        "AND (?2 IS NULL OR (state = ?2 AND NOT (?13 = 1 AND state = 'RESERVED' AND "
        "started = 0)) OR (?13 = 1 AND ?2 = 'PENDING' AND state = 'RESERVED' AND started = 0)) "
        "AND (?5 IS NULL OR not_before <= ?5) AND (?6 IS NULL OR not_before > ?6) "
        "AND (?7 IS NULL OR kind = ?7) "
        // ?8: a LIKE pattern over the payload and the error's text; ?9 <= created < ?10;
        // ?12 < id < ?11 (always bound, so SQLite seeks the id range in the index).
        "AND (?8 IS NULL OR payload LIKE ?8 ESCAPE '\\' OR error_code LIKE ?8 ESCAPE '\\' "
        "OR error_message LIKE ?8 ESCAPE '\\' OR traceback LIKE ?8 ESCAPE '\\') "
        "AND created >= ?9 AND created < ?10 AND id < ?11 AND id > ?12 ";
    const std::string where = " FROM items WHERE " + filters;
    ROBOTNI_RETURN_IF_ERROR(list_desc.Prepare(
        d, Cat({"SELECT ", cols, where, "ORDER BY id DESC LIMIT ?3 OFFSET ?4"}).c_str()));
    ROBOTNI_RETURN_IF_ERROR(list_asc.Prepare(
        d, Cat({"SELECT ", cols, where, "ORDER BY id ASC LIMIT ?3 OFFSET ?4"}).c_str()));
    // Jobs only: walks items_jobs in id order, never the work items (a robot's queues may
    // hold millions). The literal kind = 'job' is what lets SQLite use the partial index.
    const std::string jobs_where =
        " FROM items INDEXED BY items_jobs WHERE kind = 'job' AND " + filters;
    ROBOTNI_RETURN_IF_ERROR(list_jobs_desc.Prepare(
        d, Cat({"SELECT ", cols, jobs_where, "ORDER BY id DESC LIMIT ?3 OFFSET ?4"}).c_str()));
    ROBOTNI_RETURN_IF_ERROR(list_jobs_asc.Prepare(
        d, Cat({"SELECT ", cols, jobs_where, "ORDER BY id ASC LIMIT ?3 OFFSET ?4"}).c_str()));
    ROBOTNI_RETURN_IF_ERROR(count_items.Prepare(d, Cat({"SELECT count(*)", where}).c_str()));
    ROBOTNI_RETURN_IF_ERROR(count_jobs.Prepare(d, Cat({"SELECT count(*)", jobs_where}).c_str()));
    // Each state is counted from the partial index that holds it. Rows: queue, state, a part
    // (PENDING: scheduled, not_before > ?1; RESERVED: held, started = 0), count; [1] of each
    // pair is for one queue (?2).
    const char* const stats_sql[] = {
        "SELECT queue, 'PENDING', sum(not_before > ?1), count(*) FROM items INDEXED BY "
        "items_ready WHERE state = 'PENDING' %s GROUP BY queue",
        // started is not in the index: a lookup per RESERVED row, of which there are few.
        "SELECT queue, 'RESERVED', sum(started = 0), count(*) FROM items INDEXED BY "
        "items_lease WHERE state = 'RESERVED' %s GROUP BY queue",
        "SELECT queue, state, 0, count(*) FROM items INDEXED BY items_final "
        "WHERE finished > 0 %s GROUP BY queue, state",
    };
    ROBOTNI_RETURN_IF_ERROR(begin_read.Prepare(d, "BEGIN"));
    ROBOTNI_RETURN_IF_ERROR(end_read.Prepare(d, "COMMIT"));
    for (int i = 0; i < 3; ++i) {
      for (int one = 0; one < 2; ++one) {
        char sql[512];
        std::snprintf(sql, sizeof(sql), stats_sql[i], one ? "AND queue = ?2" : "AND ?2 = ''");
        ROBOTNI_RETURN_IF_ERROR(stats[i][one].Prepare(d, sql));
      }
    }
    ROBOTNI_RETURN_IF_ERROR(
        lease_row.Prepare(d,
                          "SELECT state, lease_owner, attempt, cancel_requested, lease_token FROM "
                          "items WHERE id = ?1"));
    return Status::OK();
  }
};

// Returns a reader to the pool when it goes out of scope.
class SqliteStore::ReaderLease {
 public:
  ReaderLease(SqliteStore* s, std::unique_ptr<Reader> r) : s_(s), r_(std::move(r)) {}
  ReaderLease(ReaderLease&&) = default;
  ~ReaderLease() {
    if (!r_) return;
    std::lock_guard<std::mutex> lk(s_->readers_mu_);
    s_->readers_.push_back(std::move(r_));
  }
  Reader* operator->() { return r_.get(); }

 private:
  SqliteStore* s_;
  std::unique_ptr<Reader> r_;
};

// ---------------------------------------------------------------------------------
// Opening

namespace {

// Refuses paths SQLite must not touch: directories, non-database files, read-only
// files or directories. Writes nothing but, for a store that does not exist yet, its
// directory (0700) and an empty database file (0600: SQLite gives its -wal and -shm files the
// database's mode).
Status CheckPath(const std::string& path, bool read_only, bool create_if_missing) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return Status::IOError(path + " is a directory, not a SQLite database file");
    }
    if (!S_ISREG(st.st_mode)) {
      return Status::InvalidArgument(path + " is not a regular file");
    }
    if (st.st_size > 0) {
      char header[16] = {};
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return Status::IOError("cannot open " + path + ": " + ErrnoText());
      ssize_t n = ::read(fd, header, sizeof(header));
      ::close(fd);
      if (n != static_cast<ssize_t>(sizeof(header)) ||
          std::memcmp(header, "SQLite format 3\0", 16) != 0) {
        return Status::InvalidArgument(path +
                                       " is not a SQLite database (bad file header); "
                                       "refusing to open it as a work-item store");
      }
    }
    if (!read_only && (::access(path.c_str(), W_OK) != 0 || (st.st_mode & 0222) == 0)) {
      return Status::IOError(path +
                             " is read-only; the work-item store needs write access "
                             "(or open it with read_only)");
    }
  } else if (errno != ENOENT) {
    return Status::IOError("cannot stat " + path + ": " + ErrnoText());
  } else if (read_only) {
    return Status::NotFound(path + " does not exist (opened read-only)");
  } else if (!create_if_missing) {
    return Status::NotFound("no work-item store at " + path);
  }
  if (read_only) return Status::OK();
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  ROBOTNI_RETURN_IF_ERROR(core::CreatePrivateDirectories(dir));
  if (::stat(dir.c_str(), &st) != 0) {
    return Status::IOError("cannot stat " + dir + ": " + ErrnoText());
  }
  if (::access(dir.c_str(), W_OK) != 0 || (st.st_mode & 0222) == 0) {
    return Status::IOError("directory " + dir + " is read-only; SQLite needs to create " + path +
                           "-wal there");
  }
  return core::CreatePrivateFileIfMissing(path);
}

StatusOr<DbPtr> OpenConnection(const std::string& path, bool read_only, bool full_sync) {
  // Memory statistics put a global mutex around every SQLite malloc (3% of the writer's
  // time per item). Only possible before SQLite initialises; if something in the
  // process (a task's `import sqlite3`) did that first, the call fails harmlessly.
  static std::once_flag memstatus_off;
  std::call_once(memstatus_off, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  sqlite3* raw = nullptr;
  int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
              SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) return SqlError(db.get(), rc, "cannot open " + path);
  sqlite3_busy_timeout(db.get(), 10000);
  if (!read_only && sqlite3_db_readonly(db.get(), "main") == 1) {
    return Status::IOError(path + " opened read-only; the work-item store needs write access");
  }
  std::string pragmas = std::string("PRAGMA synchronous=") + (full_sync ? "FULL" : "NORMAL") +
                        "; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16000;";
  Status s = Exec(db.get(), pragmas.c_str());
  if (!s.ok()) return Status::IOError(path + ": " + s.message());
  return db;
}

}  // namespace

namespace {

// The WAL-index header (sqlite.org/walformat.html, 2.1): 48 bytes, iVersion first (3007000),
// isInit at byte 12; a second copy follows. A commit writes the second copy, then the first,
// so a reader that finds them equal has a consistent header. Every commit changes it (its
// change counter, last frame and frame checksum).
constexpr size_t kWalIndexHeaderBytes = 48;
constexpr uint32_t kWalIndexVersion = 3007000;

// SQLite's own mapping of region 0 of `db`'s WAL-index (the VFS's xShmMap, which returns the
// region the connection already mapped), or null when there is none or its header is not
// the documented one.
const volatile unsigned char* MapWalIndex(sqlite3* db) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
      file == nullptr || file->pMethods == nullptr || file->pMethods->iVersion < 2 ||
      file->pMethods->xShmMap == nullptr)
    return nullptr;
  void volatile* region = nullptr;
  if (file->pMethods->xShmMap(file, 0, 32 * 1024, /*bExtend=*/0, &region) != SQLITE_OK ||
      region == nullptr)
    return nullptr;
  const auto* p = static_cast<const volatile unsigned char*>(region);
  uint32_t version = 0;
  unsigned char header[kWalIndexHeaderBytes];
  for (size_t i = 0; i < kWalIndexHeaderBytes; ++i) header[i] = p[i];
  std::memcpy(&version, header, sizeof version);
  return version == kWalIndexVersion && header[12] == 1 ? p : nullptr;
}

}  // namespace

SqliteStore::SqliteStore(const StoreOptions& options, std::string path)
    : options_(options), path_(std::move(path)), rng_(std::random_device{}()) {}

StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const StoreOptions& options,
                                                         const std::string& path) {
  std::error_code ec;
  std::string abs = fs::absolute(path, ec).lexically_normal().string();
  if (ec) return Status::IOError("bad store path " + path + ": " + ec.message());
  ROBOTNI_RETURN_IF_ERROR(CheckPath(abs, options.read_only, options.create_if_missing));
  std::unique_ptr<SqliteStore> s(new SqliteStore(options, abs));
  ROBOTNI_RETURN_IF_ERROR(s->Init());
  return s;
}

Status SqliteStore::Init() {
  files_dir_ = options_.files_dir.empty()
                   ? (fs::path(path_).parent_path() / "work_item_files").string()
                   : fs::absolute(options_.files_dir).lexically_normal().string();
  staging_dir_ = (fs::path(files_dir_) / ".staging").string();

  StatusOr<DbPtr> db = OpenConnection(path_, options_.read_only, options_.synchronous_full);
  if (!db.ok()) return db.status();
  // Read the version before anything writes (journal_mode=WAL writes the header).
  StatusOr<int> version = ReadSchemaVersion(db->get());
  if (!version.ok()) {
    return Status(version.status().code() == Status::Code::kInvalidArgument
                      ? Status::InvalidArgument(path_ + ": " + version.status().message())
                      : Status::IOError(path_ + ": " + version.status().message()));
  }
  if (*version > CurrentSchemaVersion()) {
    return Status::InvalidArgument(path_ + " was written by a newer robotni (schema " +
                                   std::to_string(*version) + ", this build knows " +
                                   std::to_string(CurrentSchemaVersion()) + ")");
  }
  // Before anything writes: another program's database is refused untouched.
  if (*version == 0) ROBOTNI_RETURN_IF_ERROR(RefuseForeignTables(db->get(), path_));
  if (options_.read_only) {
    if (*version != CurrentSchemaVersion()) {
      return Status::InvalidArgument(
          path_ + " has schema " + std::to_string(*version) + " and needs a migration to " +
          std::to_string(CurrentSchemaVersion()) + "; open it once without read_only");
    }
    std::lock_guard<std::mutex> lk(readers_mu_);
    auto r = std::make_unique<Reader>();
    r->db = std::move(db).value();
    ROBOTNI_RETURN_IF_ERROR(r->Prepare());
    readers_.push_back(std::move(r));
    return Status::OK();
  }
  {
    Stmt wal;
    ROBOTNI_RETURN_IF_ERROR(wal.Prepare(db->get(), "PRAGMA journal_mode=WAL"));
    StmtUse u(wal);
    int rc = u.Step();
    if (rc != SQLITE_ROW) return Status::IOError(path_ + ": " + u.Error(rc, "WAL").message());
    if (u.Text(0) != "wal") {
      return Status::IOError(path_ + ": cannot switch to WAL mode (got " + u.Text(0) + ")");
    }
  }
  ROBOTNI_RETURN_IF_ERROR(Migrate(db->get(), path_));
  sqlite3_wal_autocheckpoint(db->get(), std::max(1, options_.wal_autocheckpoint_pages));
  wal_index_ = MapWalIndex(db->get());
  writer_ = std::make_unique<WriterConn>();
  writer_->db = std::move(db).value();
  ROBOTNI_RETURN_IF_ERROR(writer_->Prepare());
  thread_ = std::thread([this] { WriterLoop(); });
  return Status::OK();
}

std::optional<CommitStamp> SqliteStore::ReadCommitStamp() const {
  if (wal_index_ == nullptr) return std::nullopt;
  unsigned char first[kWalIndexHeaderBytes], second[kWalIndexHeaderBytes];
  for (size_t i = 0; i < kWalIndexHeaderBytes; ++i) first[i] = wal_index_[i];
  std::atomic_thread_fence(std::memory_order_acquire);
  for (size_t i = 0; i < kWalIndexHeaderBytes; ++i)
    second[i] = wal_index_[kWalIndexHeaderBytes + i];
  if (std::memcmp(first, second, kWalIndexHeaderBytes) != 0) return std::nullopt;  // mid-commit
  CommitStamp stamp;
  std::memcpy(stamp.words.data(), first, kWalIndexHeaderBytes);
  return stamp;
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  readers_.clear();
  writer_.reset();
}

int64_t SqliteStore::Now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------
// Writer thread and group commit

Status SqliteStore::Submit(std::function<Status()> fn) {
  return SubmitOp([fn = std::move(fn)](bool) { return fn(); });
}

thread_local SqliteStore::Op* SqliteStore::follow_up_ = nullptr;

Status SqliteStore::SubmitOp(std::function<Status(bool isolated)> fn) {
  if (!writer_) return Status::InvalidArgument(path_ + " is opened read-only");
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

Status SqliteStore::RunInSavepoint(const std::function<Status()>& fn) {
  {
    StmtUse u(writer_->savepoint);
    ROBOTNI_RETURN_IF_ERROR(u.Run("SAVEPOINT"));
  }
  Status s = fn();
  if (!s.ok()) {
    StmtUse u(writer_->rollback_to);
    Status r = u.Run("ROLLBACK TO");
    if (!r.ok()) return r;
  }
  StmtUse u(writer_->release);
  Status r = u.Run("RELEASE");
  return s.ok() ? r : s;
}

bool SqliteStore::TxAborted() const { return sqlite3_get_autocommit(writer_->db.get()) != 0; }

// One transaction per round. The operations of a round run back to back inside one
// SAVEPOINT "batch". When one fails, the batch savepoint is rolled back and the
// operations it held (the failing one included) run again one by one, each in its own
// SAVEPOINT and told so (isolated = true): the failing one leaves nothing behind and
// the others still commit. Later operations of the round open a new batch savepoint.
void SqliteStore::WriterLoop() {
  const size_t max_batch = static_cast<size_t>(std::max(1, options_.max_batch_ops));
  WriterConn& w = *writer_;
  std::vector<Op*> batch;
  batch.reserve(std::min<size_t>(max_batch, 1024));
  std::unique_lock<std::mutex> lk(mu_);
  while (true) {
    cv_.wait(lk, [&] { return stop_ || !queue_.empty() || checkpoint_wanted_; });
    if (queue_.empty() && checkpoint_wanted_) {
      checkpoint_wanted_ = false;
      lk.unlock();
      // PASSIVE: copies what no reader still needs, waits for nobody.
      sqlite3_wal_checkpoint_v2(w.db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      lk.lock();
      continue;
    }
    if (queue_.empty()) break;  // stop_ and drained
    lk.unlock();

    Status tx;
    {
      StmtUse u(w.begin);
      tx = u.Run("BEGIN IMMEDIATE");
    }
    batch.clear();
    bool in_batch_sp = false;
    size_t sp_first = 0;  // first operation under the batch savepoint
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
        StmtUse u(w.batch_savepoint);
        Status s = u.Run("SAVEPOINT");
        if (!s.ok()) {
          op->result = s;
          continue;
        }
        in_batch_sp = true;
        sp_first = batch.size() - 1;
      }
      op->result = op->fn(false);
      if (op->result.ok()) continue;
      // Fallback: undo the batch savepoint, re-run its operations one by one.
      in_batch_sp = false;
      Status r;
      if (TxAborted()) {
        r = Status::IOError("transaction aborted: " + op->result.message());
      } else {
        StmtUse u(w.batch_rollback_to);
        r = u.Run("ROLLBACK TO");
      }
      if (r.ok()) {
        StmtUse u(w.batch_release);
        r = u.Run("RELEASE");
      }
      if (!r.ok()) {
        tx = r;  // the transaction is unusable: fail the round
        break;
      }
      for (size_t i = sp_first; i < batch.size() && tx.ok(); ++i) {
        Op* o = batch[i];
        o->result = RunInSavepoint([o] { return o->fn(true); });
        if (TxAborted()) tx = Status::IOError("transaction aborted: " + o->result.message());
      }
      if (!tx.ok()) break;
    }
    if (tx.ok() && in_batch_sp) {
      StmtUse u(w.batch_release);
      tx = u.Run("RELEASE");
    }
    Status commit = tx;
    if (tx.ok()) {
      StmtUse u(w.commit);
      commit = u.Run("COMMIT");
    }
    if (!commit.ok() && !TxAborted()) {
      StmtUse r(w.rollback);
      (void)r.Run("ROLLBACK");
    }
    {
      std::lock_guard<std::mutex> slk(stats_mu_);
      if (commit.ok()) ++stats_.commits;
      stats_.ops += static_cast<int64_t>(batch.size());
      stats_.largest_batch = std::max<int64_t>(stats_.largest_batch, batch.size());
    }
    for (Op* op : batch) {
      op->done.set_value(commit.ok() ? std::move(op->result)
                                     : Status::IOError(path_ + ": " + commit.message()));
    }
    lk.lock();
  }
}

SqliteStore::WriterStats SqliteStore::TEST_WriterStats() const {
  std::lock_guard<std::mutex> lk(stats_mu_);
  return stats_;
}

void SqliteStore::CheckpointWhenIdle() {
  if (!writer_) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    checkpoint_wanted_ = true;
  }
  cv_.notify_one();
}

Status SqliteStore::Sync() {
  if (!writer_) return Status::OK();  // read-only: nothing to commit
  return Submit([] { return Status::OK(); });
}

// ---------------------------------------------------------------------------------
// Validation and files

StatusOr<SqliteStore::StagedFile> SqliteStore::StageFile(const NewFile& file) {
  ROBOTNI_RETURN_IF_ERROR(ValidateFileName(file.name));
  if (static_cast<int64_t>(file.content.size()) > options_.max_file_bytes) {
    return Status::InvalidArgument("file '" + file.name + "' is " +
                                   std::to_string(file.content.size()) + " bytes, the limit is " +
                                   std::to_string(options_.max_file_bytes));
  }
  ROBOTNI_RETURN_IF_ERROR(core::CreatePrivateDirectories(staging_dir_));
  StagedFile st;
  st.name = file.name;
  st.size = static_cast<int64_t>(file.content.size());
  st.sha256 = core::Sha256Hex(file.content);
  st.tmp_path = staging_dir_ + "/" + std::to_string(::getpid()) + "-" +
                std::to_string(g_stage_counter.fetch_add(1)) + ".tmp";
  ROBOTNI_RETURN_IF_ERROR(WriteNewFile(st.tmp_path, file.content, options_.synchronous_full));
  return st;
}

std::string SqliteStore::ItemDir(int64_t id) const { return files_dir_ + "/" + std::to_string(id); }

// The staged temp file stays where it is (its owner removes it after the operation): the
// writer may roll an operation back and run it again, which then moves the file again.
// A hard link under a fresh name, renamed over the destination, replaces it atomically.
Status SqliteStore::CommitStagedFile(int64_t id, const StagedFile& f) {
  std::string dir = ItemDir(id);
  ROBOTNI_RETURN_IF_ERROR(core::CreatePrivateDirectories(dir));
  std::string dest = dir + "/" + f.name;
  std::string link = f.tmp_path + ".link" + std::to_string(g_stage_counter.fetch_add(1));
  if (::link(f.tmp_path.c_str(), link.c_str()) != 0) {
    return Status::IOError("cannot link " + f.tmp_path + " to " + link + ": " + ErrnoText());
  }
  if (::rename(link.c_str(), dest.c_str()) != 0) {
    Status s = Status::IOError("cannot move " + f.tmp_path + " to " + dest + ": " + ErrnoText());
    ::unlink(link.c_str());
    return s;
  }
  // When an earlier run of this operation already moved the file, `dest` and `link` are
  // the same inode and rename(2) does nothing, leaving `link` behind: remove it (after a
  // real move this fails with ENOENT, which is fine).
  ::unlink(link.c_str());
  StmtUse u(writer_->insert_file);
  u.Bind(1, id).BindStatic(2, f.name).Bind(3, f.size).BindStatic(4, f.sha256);
  return u.Run("recording file " + dest);
}

// ---------------------------------------------------------------------------------
// Writer-side helpers

Status SqliteStore::AddTimeline(int64_t id, int64_t at, std::string_view event, int attempt,
                                std::string_view message) {
  StmtUse u(writer_->insert_timeline);
  u.Bind(1, id).Bind(2, at).BindStatic(3, event).Bind(4, attempt).BindStatic(5, message);
  return u.Run("timeline");
}

Status SqliteStore::KeepStartedRow(int64_t id) {
  StmtUse u(writer_->keep_started);
  u.Bind(1, id);
  return u.Run("timeline");
}

namespace {

// The parent an inserted item records: its own, else the default (a completion's item).
int64_t ParentOf(const NewItem& item, int64_t default_parent) {
  return item.parent_id.empty() ? default_parent : ParseId(item.parent_id).value_or(0);
}

// A preallocated id (NewItem::id, from AllocateIds) as the number it must be.
StatusOr<int64_t> ExplicitId(const NewItem& item) {
  auto id = ParseId(item.id);
  if (!id) return Status::InvalidArgument("work item id '" + item.id + "' is not a number");
  return *id;
}

}  // namespace

Status SqliteStore::InsertItem(const NewItem& item, const std::vector<StagedFile>& files,
                               int64_t default_parent, int64_t now, int64_t* id) {
  if (!item.idempotency_key.empty()) {
    StmtUse u(writer_->find_key);
    u.BindStatic(1, item.idempotency_key);
    int rc = u.Step();
    if (rc == SQLITE_ROW) {
      *id = u.Int(0);
      return Status::OK();
    }
    if (rc != SQLITE_DONE) return u.Error(rc, "idempotency lookup");
  }
  const int64_t parent = ParentOf(item, default_parent);
  {
    StmtUse u(writer_->insert_item);
    u.BindStatic(1, item.queue).BindStatic(2, item.payload_json).Bind(3, item.priority);
    u.Bind(4, item.max_attempts);
    if (parent > 0) u.Bind(5, parent);
    u.BindStaticOrNull(6, item.idempotency_key).Bind(7, now).Bind(8, item.not_before_ms);
    u.BindStaticOrNull(10, item.meta_json);
    u.Bind(11, KindName(item.kind));
    if (!item.id.empty()) {
      auto explicit_id = ExplicitId(item);
      if (!explicit_id.ok()) return explicit_id.status();
      u.Bind(9, *explicit_id);
    }
    ROBOTNI_RETURN_IF_ERROR(u.Run("insert work item"));
  }
  *id = sqlite3_last_insert_rowid(writer_->db.get());
  for (const StagedFile& f : files) ROBOTNI_RETURN_IF_ERROR(CommitStagedFile(*id, f));
  return Status::OK();
}

Status SqliteStore::InsertItemWithoutFiles(const NewItem& item, int64_t now, int64_t* id) {
  return InsertItem(item, {}, 0, now, id);
}

// ---------------------------------------------------------------------------------
// Create

namespace {

// Removes staged temp files an operation did not move (failure, duplicate key).
template <typename F>
void RemoveTmp(const std::vector<F>& files) {
  for (const auto& f : files) ::unlink(f.tmp_path.c_str());
}

}  // namespace

StatusOr<std::string> SqliteStore::Create(const NewItem& item) {
  auto ids = CreateBatch({item});
  if (!ids.ok()) return ids.status();
  return std::move(ids->front());
}

StatusOr<std::vector<std::string>> SqliteStore::CreateBatch(const std::vector<NewItem>& items) {
  const bool single = items.size() == 1;
  for (size_t i = 0; i < items.size(); ++i) {
    ROBOTNI_RETURN_IF_ERROR(
        ValidateNewItem(items[i], single ? "work item" : "items", single ? kNoIndex : i));
  }
  std::vector<std::vector<StagedFile>> staged(items.size());
  auto cleanup = [&] {
    for (auto& v : staged) RemoveTmp(v);
  };
  for (size_t i = 0; i < items.size(); ++i) {
    for (const NewFile& f : items[i].files) {
      auto st = StageFile(f);
      if (!st.ok()) {
        cleanup();
        return st.status();
      }
      staged[i].push_back(std::move(st).value());
    }
  }
  std::vector<int64_t> ids(items.size());
  Status s = Submit([&] {
    int64_t now = Now();
    for (size_t i = 0; i < items.size(); ++i) {
      ROBOTNI_RETURN_IF_ERROR(InsertItem(items[i], staged[i], 0, now, &ids[i]));
    }
    return Status::OK();
  });
  cleanup();
  if (!s.ok()) return s;
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int64_t id : ids) out.push_back(std::to_string(id));
  return out;
}

StatusOr<std::vector<std::string>> SqliteStore::Import(const std::vector<ImportedItem>& items) {
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
  std::vector<std::vector<StagedFile>> staged(n);
  auto cleanup = [&] {
    for (auto& v : staged) RemoveTmp(v);
  };
  for (size_t i = 0; i < n; ++i) {
    for (const NewFile& f : items[i].item.files) {
      auto st = StageFile(f);
      if (!st.ok()) {
        cleanup();
        return st.status();
      }
      staged[i].push_back(std::move(st).value());
    }
  }
  std::vector<int64_t> ids(n);
  Status s = Submit([&] {
    const int64_t now = Now();
    std::fill(ids.begin(), ids.end(), 0);
    size_t left = n;
    for (size_t i = 0; i < n; ++i) {  // already imported: that item, unchanged
      if (items[i].item.idempotency_key.empty()) continue;
      StmtUse u(writer_->find_key);
      u.BindStatic(1, items[i].item.idempotency_key);
      int rc = u.Step();
      if (rc == SQLITE_ROW) {
        ids[i] = u.Int(0);
        --left;
      } else if (rc != SQLITE_DONE) {
        return u.Error(rc, "idempotency lookup");
      }
    }
    while (left > 0) {  // parents first, so each child knows its parent's id
      bool progress = false;
      for (size_t i = 0; i < n; ++i) {
        const ImportedItem& it = items[i];
        if (ids[i] != 0 || (it.parent_index >= 0 && ids[it.parent_index] == 0)) continue;
        NewItem row = it.item;
        row.parent_id = it.parent_index >= 0 ? std::to_string(ids[it.parent_index]) : "";
        ROBOTNI_RETURN_IF_ERROR(InsertItem(row, staged[i], 0, now, &ids[i]));
        const bool final = it.state != State::kPending;
        StmtUse u(writer_->import_state);
        u.Bind(1, ids[i]).BindStatic(2, StateName(it.state));
        u.BindStaticOrNull(3, ExceptionTypeName(it.exception_type));
        u.BindStaticOrNull(4, it.error_code).BindStaticOrNull(5, it.error_message);
        u.Bind(6, it.attempt).Bind(7, it.created_ms > 0 ? it.created_ms : now);
        u.Bind(8, it.started_ms).Bind(9, final ? (it.finished_ms > 0 ? it.finished_ms : now) : 0);
        u.Bind(10, now);
        ROBOTNI_RETURN_IF_ERROR(u.Run("import"));
        ROBOTNI_RETURN_IF_ERROR(AddTimeline(ids[i], now, "imported", it.attempt, it.note));
        progress = true;
        --left;
      }
      if (!progress) return Status::InvalidArgument("import: the items' parents form a cycle");
    }
    return Status::OK();
  });
  cleanup();
  if (!s.ok()) return s;
  std::vector<std::string> out;
  out.reserve(n);
  for (int64_t id : ids) out.push_back(std::to_string(id));
  return out;
}

StatusOr<std::string> SqliteStore::CreateOutputOfFinished(const Lease& parent,
                                                          const NewItem& output) {
  auto parent_id = ParseId(parent.item_id);
  if (!parent_id) return NoItem(parent.item_id);
  NewItem out = output;
  out.parent_id = parent.item_id;
  ROBOTNI_RETURN_IF_ERROR(ValidateNewItem(out, "work item", kNoIndex));
  std::vector<StagedFile> staged;
  for (const NewFile& f : out.files) {
    auto st = StageFile(f);
    if (!st.ok()) {
      RemoveTmp(staged);
      return st.status();
    }
    staged.push_back(std::move(st).value());
  }
  int64_t id = 0;
  Status s = Submit([&] {
    std::string refused;
    {
      StmtUse u(writer_->finished_by);
      u.Bind(1, *parent_id);
      int rc = u.Step();
      if (rc == SQLITE_DONE) return NoItem(parent.item_id);
      if (rc != SQLITE_ROW) return u.Error(rc, "output of a released item");
      const std::string state(u.TextView(0));
      const bool same_attempt = u.TextView(1) == parent.owner && u.Int(2) == parent.attempt &&
                                (parent.token == 0 || u.Int(3) == parent.token);
      const std::string attempt = "attempt " + std::to_string(parent.attempt);
      if (state == "PENDING")
        refused = "it failed and goes back to the queue: the retry makes its outputs again";
      else if (!same_attempt)
        refused = "its " + attempt + " lost the lease; another attempt (" +
                  std::to_string(u.Int(2)) + ") holds or finished it";
      else if (state == "RESERVED")
        refused = "its " + attempt + " has not been released yet";
    }
    if (!refused.empty())
      return Status::Conflict("output of work item " + parent.item_id + " not saved: " + refused);
    return InsertItem(out, staged, *parent_id, Now(), &id);
  });
  RemoveTmp(staged);
  if (!s.ok()) return s;
  return std::to_string(id);
}

// ---------------------------------------------------------------------------------
// Reserve

StatusOr<std::vector<Item>> SqliteStore::Reserve(const ReserveRequest& req) {
  ROBOTNI_RETURN_IF_ERROR(CheckReserveRequest(req));
  std::vector<Item> items;
  Status s = Submit([&] { return ReserveInTx(req, &items); });
  if (!s.ok()) return s;
  return items;
}

Status SqliteStore::ReserveInTx(const ReserveRequest& req, std::vector<Item>* items) {
  items->clear();
  WriterConn& w = *writer_;
  const int64_t now = Now();
  const int64_t expires = now + req.lease_ms;
  // A claim that holds some claims all with started = 0, then starts the first start_now.
  const bool holds = req.start_now >= 0 && req.start_now < req.max_items;
  const int64_t started = holds ? 0 : now;
  // Expand prefixes into the queues that have pending items (index skip-scan).
  std::vector<std::string> queues;
  std::set<std::string> seen;
  for (const std::string& spec : req.queues) {
    if (spec.back() != '%') {
      if (seen.insert(spec).second) queues.push_back(spec);
      continue;
    }
    const std::string prefix = spec.substr(0, spec.size() - 1);
    std::string cur = prefix;
    bool first = true;
    while (true) {
      StmtUse u(first ? w.next_queue_ge : w.next_queue_gt);
      u.Bind(1, cur);
      int rc = u.Step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return u.Error(rc, "reserve: listing queues");
      cur = u.Text(0);
      first = false;
      if (cur.compare(0, prefix.size(), prefix) != 0) break;
      if (seen.insert(cur).second) queues.push_back(cur);
    }
  }
  // Sort keys of the claimed rows: (priority DESC, id), and whether the item has files
  // (column kHasFilesCol of the claim's RETURNING).
  struct Key {
    int priority;
    int64_t id;
    bool has_files;
    size_t index;
  };
  std::vector<Key> keys;
  keys.reserve(static_cast<size_t>(req.max_items));
  items->reserve(static_cast<size_t>(req.max_items));
  const int has_files_col = req.lean ? kLeanHasFilesCol : kHasFilesCol;
  auto take = [&](StmtUse& u) {
    items->push_back(req.lean ? LeanRowToItem(u, req.owner, expires, now) : RowToItem(u));
    keys.push_back(
        {items->back().priority, u.Int(0), u.Int(has_files_col) != 0, items->size() - 1});
  };
  // How many to claim from each queue. Over several, the top candidates of each merged by
  // (priority DESC, id): the merged top is a head of each queue's candidates.
  std::vector<int> per_queue(queues.size(), 0);
  if (queues.size() == 1) {
    per_queue[0] = req.max_items;
  } else if (queues.size() > 1) {
    struct Candidate {
      int64_t neg_priority, id;
      size_t queue;
      bool operator<(const Candidate& o) const {
        return neg_priority != o.neg_priority ? neg_priority < o.neg_priority : id < o.id;
      }
    };
    std::vector<Candidate> cand;
    for (size_t q = 0; q < queues.size(); ++q) {
      StmtUse u(w.candidates);
      u.BindStatic(1, queues[q]).Bind(2, now).Bind(3, req.max_items);
      int rc;
      while ((rc = u.Step()) == SQLITE_ROW) cand.push_back({-u.Int(1), u.Int(0), q});
      if (rc != SQLITE_DONE) return u.Error(rc, "reserve candidates");
    }
    std::sort(cand.begin(), cand.end());
    if (cand.size() > static_cast<size_t>(req.max_items)) cand.resize(req.max_items);
    for (const auto& c : cand) ++per_queue[c.queue];
  }
  // One statement per queue (the same query, in this transaction), not one per item.
  for (size_t q = 0; q < queues.size(); ++q) {
    if (per_queue[q] == 0) continue;
    StmtUse u(req.lean ? w.claim_one_queue_lean : w.claim_one_queue);
    u.BindStatic(1, req.owner).Bind(2, expires).Bind(3, now).BindStatic(4, queues[q]);
    u.Bind(5, per_queue[q]).Bind(6, started);
    int rc;
    while ((rc = u.Step()) == SQLITE_ROW) take(u);
    if (rc != SQLITE_DONE) return u.Error(rc, "reserve");
  }
  auto before = [](const Key& a, const Key& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    return a.id < b.id;
  };
  if (!std::is_sorted(keys.begin(), keys.end(), before)) {
    std::sort(keys.begin(), keys.end(), before);
    std::vector<Item> sorted;
    sorted.reserve(items->size());
    for (const Key& k : keys) sorted.push_back(std::move((*items)[k.index]));
    items->swap(sorted);
  }
  for (size_t i = 0; i < items->size(); ++i) {
    Item& it = (*items)[i];
    const int64_t id = keys[i].id;
    it.started_ms = started;
    if (holds && i < static_cast<size_t>(req.start_now)) {
      StmtUse u(w.set_started);
      u.Bind(1, id).Bind(2, now);
      ROBOTNI_RETURN_IF_ERROR(u.Run("reserve: start"));
      it.started_ms = now;
    }
    if (!keys[i].has_files) continue;
    StmtUse u(w.item_files);
    u.Bind(1, id);
    int rc;
    while ((rc = u.Step()) == SQLITE_ROW) it.files.push_back({u.Text(0), u.Int(1), u.Text(2)});
    if (rc != SQLITE_DONE) return u.Error(rc, "reserve: files");
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------------
// Leases

Status SqliteStore::Heartbeat(const Lease& lease, int64_t lease_ms) {
  return HeartbeatBatch({lease}, lease_ms);
}

Status SqliteStore::HeartbeatBatch(const std::vector<Lease>& leases, int64_t lease_ms) {
  if (lease_ms <= 0) return Status::InvalidArgument("heartbeat: lease_ms must be > 0");
  std::string lost;
  Status s = Submit([&] {
    lost.clear();
    const int64_t now = Now();
    for (const Lease& l : leases) {
      auto id = ParseId(l.item_id);
      int changes = 0;
      if (id) {
        StmtUse u(writer_->heartbeat);
        u.Bind(1, *id).Bind(2, l.owner).Bind(3, l.attempt).Bind(4, now).Bind(5, now + lease_ms);
        u.Bind(6, l.token);
        ROBOTNI_RETURN_IF_ERROR(u.Run("heartbeat"));
        changes = u.Changes();
      }
      if (changes == 0) lost += (lost.empty() ? "" : ", ") + l.item_id;
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  if (!lost.empty()) {
    if (leases.size() == 1) return LeaseLost(leases[0]);
    return Status::Conflict("lease lost for work items " + lost);
  }
  return Status::OK();
}

Status SqliteStore::RecordStarts(const std::vector<Start>& starts) {
  if (starts.empty()) return Status::OK();
  return Submit([&] {
    const int64_t now = Now();
    for (const Start& st : starts) {
      auto id = ParseId(st.lease.item_id);
      if (!id) continue;
      StmtUse u(writer_->record_start);
      u.Bind(1, *id).Bind(2, st.lease.owner).Bind(3, st.lease.attempt).Bind(4, st.lease.token);
      u.Bind(5, st.started_ms).Bind(6, now);
      ROBOTNI_RETURN_IF_ERROR(u.Run("record starts"));
    }
    return Status::OK();
  });
}

bool SqliteStore::IsPlain(const NewItem& item) {
  // InsertPlain leaves kind at the column's default, 'item'.
  return !item.id.empty() && item.files.empty() && item.idempotency_key.empty() &&
         item.kind == Kind::kItem;
}

Status SqliteStore::InsertPlain(const std::vector<PlainOutput>& rows, int64_t now) {
  constexpr int kCols = 9;
  for (size_t first = 0; first < rows.size(); first += kPlainRows) {
    const size_t n = std::min(kPlainRows, rows.size() - first);
    Stmt& st = writer_->insert_plain[n];
    ROBOTNI_RETURN_IF_ERROR(PrepareRows(
        writer_->db.get(), st,
        "INSERT INTO items(id, queue, state, payload, priority, max_attempts, parent_id, "
        "created, not_before, updated, meta) VALUES ",
        "(?,?,'PENDING',?,?,?,?,?,?,?,?)", n, ""));
    StmtUse u(st);
    for (size_t k = 0; k < n; ++k) {
      const NewItem& item = *rows[first + k].item;
      auto id = ExplicitId(item);
      if (!id.ok()) return id.status();
      const int b = static_cast<int>(k) * (kCols + 1);
      u.Bind(b + 1, *id).BindStatic(b + 2, item.queue).BindStatic(b + 3, item.payload_json);
      u.Bind(b + 4, item.priority).Bind(b + 5, item.max_attempts);
      if (rows[first + k].parent > 0) u.Bind(b + 6, rows[first + k].parent);
      u.Bind(b + 7, now).Bind(b + 8, item.not_before_ms).Bind(b + 9, now);
      u.BindStaticOrNull(b + 10, item.meta_json);
    }
    ROBOTNI_RETURN_IF_ERROR(u.Run("insert work items"));
  }
  return Status::OK();
}

Status SqliteStore::FinishDoneRows(const std::vector<DoneRow>& rows, int64_t now) {
  constexpr int kCols = 7;  // VALUES (id, owner, attempt, token, result, payload, started)
  for (size_t first = 0; first < rows.size(); first += kPlainRows) {
    const size_t n = std::min(kPlainRows, rows.size() - first);
    Stmt& st = writer_->finish_done_rows[n];
    // A successful completion needs neither attempt nor cancel_requested. No RETURNING:
    // SQLite builds an ephemeral table for it, which cost more than the update; the
    // changed-row count tells whether every fence held.
    ROBOTNI_RETURN_IF_ERROR(PrepareRows(
        writer_->db.get(), st,
        "UPDATE items SET state = 'DONE', result = v.column5, exception_type = NULL, "
        "error_code = NULL, error_message = NULL, traceback = NULL, finished = ?1, "
        "updated = ?1, lease_expires = 0, payload = coalesce(v.column6, items.payload), "
        "started = CASE WHEN v.column7 > 0 THEN v.column7 ELSE items.started END "
        "FROM (VALUES ",
        "(?,?,?,?,?,?,?)", n,
        ") AS v WHERE items.id = v.column1 AND items.lease_owner = v.column2 AND "
        "items.attempt = v.column3 AND items.state = 'RESERVED' AND "
        "(v.column4 = 0 OR items.lease_token = v.column4)"));
    StmtUse u(st);
    u.Bind(1, now);
    for (size_t k = 0; k < n; ++k) {
      const Completion& c = *rows[first + k].completion;
      const int b = 1 + static_cast<int>(k) * kCols;
      u.Bind(b + 1, rows[first + k].id)
          .BindStatic(b + 2, c.lease.owner)
          .Bind(b + 3, c.lease.attempt);
      u.Bind(b + 4, c.lease.token).BindStaticOrNull(b + 5, c.result_json);
      if (c.payload_json) u.BindStatic(b + 6, *c.payload_json);
      u.Bind(b + 7, c.started_ms);
    }
    ROBOTNI_RETURN_IF_ERROR(u.Run("complete"));
    if (static_cast<size_t>(u.Changes()) != n)
      return Status::Conflict("a lease of the completion batch is no longer held");
  }
  return Status::OK();
}

// Fenced: the lease must still hold (id, owner, attempt, RESERVED). `files` is empty when
// no output has files, else one list per output.
Status SqliteStore::CompleteOne(const Completion& c,
                                const std::vector<std::vector<StagedFile>>& files, int64_t now) {
  WriterConn& w = *writer_;
  auto id = ParseId(c.lease.item_id);
  if (!id) return NoItem(c.lease.item_id);
  static const std::vector<StagedFile> kNone;
  auto output_files = [&](size_t k) -> const std::vector<StagedFile>& {
    return files.empty() ? kNone : files[k];
  };
  if (c.ok) {
    Status s = FinishDoneRows({{&c, *id}}, now);  // fence and finish in one statement
    if (s.IsConflict()) return LeaseLost(c.lease);
    ROBOTNI_RETURN_IF_ERROR(s);
    for (size_t i = 0; i < c.outputs.size(); ++i) {
      int64_t out_id = 0;
      ROBOTNI_RETURN_IF_ERROR(InsertItem(c.outputs[i], output_files(i), *id, now, &out_id));
    }
    return Status::OK();
  }
  int attempt = 0, max_attempts = 0;
  bool cancel = false;
  {
    StmtUse u(w.fenced_row);
    u.Bind(1, *id).BindStatic(2, c.lease.owner).Bind(3, c.lease.attempt);
    u.Bind(6, c.lease.token);
    int rc = u.Step();
    if (rc == SQLITE_DONE) return LeaseLost(c.lease);
    if (rc != SQLITE_ROW) return u.Error(rc, "complete");
    attempt = static_cast<int>(u.Int(0));
    max_attempts = static_cast<int>(u.Int(1));
    cancel = u.Int(2) != 0;
  }
  if (c.started_ms > 0) {  // the handler's start, kept by the timeline's started row below
    const std::string sql = "UPDATE items SET started = " + std::to_string(c.started_ms) +
                            " WHERE id = " + std::to_string(*id);
    ROBOTNI_RETURN_IF_ERROR(Exec(w.db.get(), sql.c_str()));
  }
  StmtUse u(w.finish);
  u.Bind(1, *id).Bind(10, now);
  if (c.payload_json) u.BindStatic(11, *c.payload_json);
  // Outputs commit with a final outcome only: an attempt that will be retried makes
  // its outputs again, so keeping them would duplicate them (invariant 2).
  bool keep_outputs = true;
  ExceptionType type =
      c.exception_type == ExceptionType::kNone ? ExceptionType::kApplication : c.exception_type;
  u.Bind(4, ExceptionTypeName(type)).BindStaticOrNull(5, c.error_code);
  u.BindStaticOrNull(6, c.error_message).BindStaticOrNull(7, c.traceback);
  std::string what = std::string(ExceptionTypeName(type)) +
                     (c.error_code.empty() ? "" : " " + c.error_code) + ": " + c.error_message;
  bool final = type == ExceptionType::kBusiness || attempt >= max_attempts || cancel;
  if (final) {
    const char* state = cancel ? "CANCELLED" : "FAILED";
    u.BindStatic(2, state).Bind(8, now);
    ROBOTNI_RETURN_IF_ERROR(u.Run("complete"));
    ROBOTNI_RETURN_IF_ERROR(
        AddTimeline(*id, now, "finished", attempt, std::string(state) + " " + what));
  } else {
    int64_t delay = BackoffMs(attempt);
    keep_outputs = false;
    ROBOTNI_RETURN_IF_ERROR(KeepStartedRow(*id));
    u.BindStatic(2, "PENDING").Bind(8, int64_t{0}).Bind(9, now + delay);
    ROBOTNI_RETURN_IF_ERROR(u.Run("complete"));
    ROBOTNI_RETURN_IF_ERROR(AddTimeline(*id, now, "retry", attempt,
                                        "attempt " + std::to_string(attempt) + " failed (" + what +
                                            "); retry in " + std::to_string(delay) + " ms"));
  }
  for (size_t i = 0; keep_outputs && i < c.outputs.size(); ++i) {
    int64_t out_id = 0;
    ROBOTNI_RETURN_IF_ERROR(InsertItem(c.outputs[i], output_files(i), *id, now, &out_id));
  }
  return Status::OK();
}

Status SqliteStore::Complete(const Completion& completion) {
  return CompleteBatch({completion}).front();
}

WorkItemStore::CompleteBatchAndReserveResult SqliteStore::CompleteBatchAndReserve(
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

// The completions of a batch are independent: each gets its own Status. They run back
// to back without savepoints; a completion that fails before writing anything (lease
// lost, the common case) just reports its error. One that fails after writing makes the
// whole operation fail, so the writer rolls it back and runs it again isolated, with a
// SAVEPOINT per completion.
std::vector<Status> SqliteStore::CompleteBatch(const std::vector<Completion>& completions) {
  const size_t n = completions.size();
  std::vector<Status> results(n);
  // staged[i][k]: staged files of output k of completion i; staged[i] stays empty when
  // no output of completion i has files.
  std::vector<std::vector<std::vector<StagedFile>>> staged(n);
  std::vector<char> valid(n, 1);
  for (size_t i = 0; i < n; ++i) {
    const Completion& c = completions[i];
    Status s;
    if (c.ok && !c.result_json.empty()) s = ValidateJson(c.result_json, "result");
    if (s.ok() && c.payload_json) s = ValidateJson(*c.payload_json, "payload");
    bool any_files = false;
    for (size_t k = 0; s.ok() && k < c.outputs.size(); ++k) {
      s = ValidateNewItem(c.outputs[k], "outputs", k);
      any_files = any_files || !c.outputs[k].files.empty();
    }
    if (s.ok() && any_files) {
      staged[i].resize(c.outputs.size());
      for (size_t k = 0; s.ok() && k < c.outputs.size(); ++k) {
        for (const NewFile& f : c.outputs[k].files) {
          auto st = StageFile(f);
          if (!st.ok()) {
            s = st.status();
            break;
          }
          staged[i][k].push_back(std::move(st).value());
        }
      }
    }
    if (!s.ok()) {
      results[i] = s;
      valid[i] = 0;
    }
  }
  std::vector<Status> inner(n);
  std::vector<PlainOutput> plain;
  std::vector<DoneRow> done;  // finished in bulk after the loop
  Status s = SubmitOp([&](bool isolated) {
    const int64_t now = Now();
    sqlite3* db = writer_->db.get();
    plain.clear();
    done.clear();
    for (size_t i = 0; i < n; ++i) {
      if (!valid[i]) continue;
      if (isolated) {
        inner[i] = RunInSavepoint([&] { return CompleteOne(completions[i], staged[i], now); });
        if (TxAborted()) return inner[i];
        continue;
      }
      if (completions[i].ok) {
        auto id = ParseId(completions[i].lease.item_id);
        if (!id) {
          inner[i] = NoItem(completions[i].lease.item_id);
          continue;
        }
        done.push_back({&completions[i], *id});
        continue;
      }
      const int64_t changes = sqlite3_total_changes64(db);
      inner[i] = CompleteOne(completions[i], staged[i], now);
      if (inner[i].ok()) continue;
      // Wrote something before failing, or the transaction is gone: let the writer roll
      // the batch back and run this operation again isolated.
      if (sqlite3_total_changes64(db) != changes || TxAborted()) return inner[i];
    }
    // The DONE completions and their outputs, many rows per statement. On any error
    // (a lost lease included) the writer rolls the batch back and runs it again
    // isolated, one completion (and one row) at a time.
    ROBOTNI_RETURN_IF_ERROR(FinishDoneRows(done, now));
    static const std::vector<StagedFile> kNoFiles;
    for (const DoneRow& row : done) {
      const size_t i = static_cast<size_t>(row.completion - completions.data());
      const int64_t id = row.id;
      inner[i] = Status::OK();
      const Completion& c = *row.completion;
      for (size_t k = 0; k < c.outputs.size(); ++k) {
        const NewItem& out = c.outputs[k];
        if (IsPlain(out)) {
          plain.push_back({&out, ParentOf(out, id)});
          continue;
        }
        int64_t out_id = 0;
        ROBOTNI_RETURN_IF_ERROR(
            InsertItem(out, staged[i].empty() ? kNoFiles : staged[i][k], id, now, &out_id));
      }
    }
    return InsertPlain(plain, now);
  });
  for (size_t i = 0; i < n; ++i) {
    for (auto& v : staged[i]) RemoveTmp(v);
    if (valid[i]) results[i] = s.ok() ? inner[i] : s;
  }
  return results;
}

Status SqliteStore::UpdatePayload(const Lease& lease, const std::string& payload_json) {
  ROBOTNI_RETURN_IF_ERROR(ValidateJson(payload_json, "payload"));
  auto id = ParseId(lease.item_id);
  if (!id) return NoItem(lease.item_id);
  return Submit([&] {
    StmtUse u(writer_->set_payload);
    u.Bind(1, *id).Bind(2, lease.owner).Bind(3, lease.attempt).Bind(4, Now());
    u.Bind(5, payload_json);
    u.Bind(6, lease.token);
    ROBOTNI_RETURN_IF_ERROR(u.Run("update payload"));
    return u.Changes() == 0 ? LeaseLost(lease) : Status::OK();
  });
}

Status SqliteStore::Progress(const Lease& lease, const std::string& message) {
  auto id = ParseId(lease.item_id);
  if (!id) return NoItem(lease.item_id);
  return Submit([&] {
    const int64_t now = Now();
    {
      StmtUse u(writer_->touch);
      u.Bind(1, *id).Bind(2, lease.owner).Bind(3, lease.attempt).Bind(4, now);
      u.Bind(6, lease.token);
      ROBOTNI_RETURN_IF_ERROR(u.Run("progress"));
      if (u.Changes() == 0) return LeaseLost(lease);
    }
    return AddTimeline(*id, now, "progress", lease.attempt, message);
  });
}

Status SqliteStore::RecordEvent(const std::string& item_id, const std::string& event,
                                const std::string& message) {
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  if (event.empty()) return Status::InvalidArgument("timeline event name is empty");
  return Submit([&] {
    int attempt = 0;
    {
      StmtUse u(writer_->item_state);
      u.Bind(1, *id);
      int rc = u.Step();
      if (rc == SQLITE_DONE) return NoItem(item_id);
      if (rc != SQLITE_ROW) return u.Error(rc, "record event");
      attempt = static_cast<int>(u.Int(1));
    }
    return AddTimeline(*id, Now(), event, attempt, message);
  });
}

// ---------------------------------------------------------------------------------
// Files

Status SqliteStore::AddFile(const std::string& item_id, const NewFile& file) {
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  auto st = StageFile(file);
  if (!st.ok()) return st.status();
  Status s = Submit([&] {
    {
      StmtUse u(writer_->item_exists);
      u.Bind(1, *id);
      int rc = u.Step();
      if (rc == SQLITE_DONE) return NoItem(item_id);
      if (rc != SQLITE_ROW) return u.Error(rc, "add file");
    }
    return CommitStagedFile(*id, *st);
  });
  ::unlink(st->tmp_path.c_str());
  return s;
}

Status SqliteStore::RemoveFile(const std::string& item_id, const std::string& name) {
  ROBOTNI_RETURN_IF_ERROR(ValidateFileName(name));
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  Status s = Submit([&] {
    StmtUse u(writer_->delete_file);
    u.Bind(1, *id).Bind(2, name);
    ROBOTNI_RETURN_IF_ERROR(u.Run("remove file"));
    if (u.Changes() == 0) {
      return Status::NotFound("work item " + item_id + " has no file '" + name + "'");
    }
    return Status::OK();
  });
  if (s.ok()) ::unlink((ItemDir(*id) + "/" + name).c_str());
  return s;
}

StatusOr<std::string> SqliteStore::GetFile(const std::string& item_id, const std::string& name) {
  ROBOTNI_RETURN_IF_ERROR(ValidateFileName(name));
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  {
    auto r = AcquireReader();
    if (!r.ok()) return r.status();
    StmtUse u((*r)->file_row);
    u.Bind(1, *id).Bind(2, name);
    int rc = u.Step();
    if (rc == SQLITE_DONE) {
      return Status::NotFound("work item " + item_id + " has no file '" + name + "'");
    }
    if (rc != SQLITE_ROW) return u.Error(rc, "get file");
  }
  std::string path = ItemDir(*id) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read " + path + ": " + ErrnoText());
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IOError("cannot read " + path);
  return data;
}

// ---------------------------------------------------------------------------------
// Cancel, flush, retry

Status SqliteStore::Cancel(const std::string& item_id) {
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  return Submit([&] {
    WriterConn& w = *writer_;
    const int64_t now = Now();
    std::string state;
    int attempt = 0;
    {
      StmtUse u(w.item_state);
      u.Bind(1, *id);
      int rc = u.Step();
      if (rc == SQLITE_DONE) return NoItem(item_id);
      if (rc != SQLITE_ROW) return u.Error(rc, "cancel");
      state = u.Text(0);
      attempt = static_cast<int>(u.Int(1));
    }
    if (state == "PENDING") {
      StmtUse u(w.cancel_pending);
      u.Bind(1, *id).Bind(2, now);
      ROBOTNI_RETURN_IF_ERROR(u.Run("cancel"));
      return AddTimeline(*id, now, "cancelled", attempt, "");
    }
    if (state == "RESERVED") {
      StmtUse u(w.request_cancel);
      u.Bind(1, *id).Bind(2, now);
      ROBOTNI_RETURN_IF_ERROR(u.Run("cancel"));
      return AddTimeline(*id, now, "cancel", attempt, "cancel requested");
    }
    if (state == "CANCELLED") return Status::OK();
    return Status::Conflict("work item " + item_id + " is already " + state);
  });
}

StatusOr<bool> SqliteStore::IsCancelRequested(const Lease& lease) {
  auto id = ParseId(lease.item_id);
  if (!id) return NoItem(lease.item_id);
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  StmtUse u((*r)->lease_row);
  u.Bind(1, *id);
  int rc = u.Step();
  if (rc == SQLITE_DONE) return NoItem(lease.item_id);
  if (rc != SQLITE_ROW) return u.Error(rc, "is cancel requested");
  if (u.Text(0) == "CANCELLED") return true;
  if (u.Text(0) != "RESERVED" || u.Text(1) != lease.owner || u.Int(2) != lease.attempt ||
      (lease.token != 0 && u.Int(4) != lease.token)) {
    return LeaseLost(lease);
  }
  return u.Int(3) != 0;
}

StatusOr<int64_t> SqliteStore::Flush(const std::string& queue) {
  if (queue.empty()) return Status::InvalidArgument("flush: queue is empty");
  int64_t n = 0;
  Status s = Submit([&] {
    const int64_t now = Now();
    {
      StmtUse u(writer_->flush_timeline);
      u.Bind(1, queue).Bind(2, now);
      ROBOTNI_RETURN_IF_ERROR(u.Run("flush"));
    }
    StmtUse u(writer_->flush);
    u.Bind(1, queue).Bind(2, now);
    ROBOTNI_RETURN_IF_ERROR(u.Run("flush"));
    n = u.Changes();
    return Status::OK();
  });
  if (!s.ok()) return s;
  return n;
}

Status SqliteStore::Retry(const std::string& item_id) {
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  return Submit([&] {
    WriterConn& w = *writer_;
    const int64_t now = Now();
    std::string state;
    {
      StmtUse u(w.item_state);
      u.Bind(1, *id);
      int rc = u.Step();
      if (rc == SQLITE_DONE) return NoItem(item_id);
      if (rc != SQLITE_ROW) return u.Error(rc, "retry");
      state = u.Text(0);
    }
    if (state != "FAILED" && state != "CANCELLED") {
      return Status::Conflict("work item " + item_id + " is " + state +
                              "; only FAILED or CANCELLED items can be retried");
    }
    ROBOTNI_RETURN_IF_ERROR(KeepStartedRow(*id));
    StmtUse u(w.retry);
    u.Bind(1, *id).Bind(2, now);
    ROBOTNI_RETURN_IF_ERROR(u.Run("retry"));
    return AddTimeline(*id, now, "retry", 0, "retried from " + state);
  });
}

// ---------------------------------------------------------------------------------
// Reaper and pruning

StatusOr<int64_t> SqliteStore::ReapExpired(int64_t now_ms) {
  int64_t n = 0;
  Status s = Submit([&] {
    n = 0;
    WriterConn& w = *writer_;
    struct Row {
      int64_t id;
      int attempt, max_attempts;
      bool cancel;
    };
    std::vector<Row> rows;
    {
      StmtUse u(w.expired);
      u.Bind(1, now_ms);
      int rc;
      while ((rc = u.Step()) == SQLITE_ROW) {
        rows.push_back(
            {u.Int(0), static_cast<int>(u.Int(1)), static_cast<int>(u.Int(2)), u.Int(3) != 0});
      }
      if (rc != SQLITE_DONE) return u.Error(rc, "reap");
    }
    for (const Row& r : rows) {
      ROBOTNI_RETURN_IF_ERROR(KeepStartedRow(r.id));
      StmtUse u(w.finish);
      u.Bind(1, r.id).Bind(10, now_ms);
      u.Bind(4, "APPLICATION").Bind(5, "LEASE_EXPIRED").Bind(6, "lease expired");
      std::string msg;
      if (r.cancel) {
        u.Bind(2, "CANCELLED").Bind(8, now_ms);
        msg = "lease expired; cancelled";
      } else if (r.attempt < r.max_attempts) {
        int64_t delay = BackoffMs(r.attempt);
        u.Bind(2, "PENDING").Bind(8, int64_t{0}).Bind(9, now_ms + delay);
        msg = "lease expired; retry in " + std::to_string(delay) + " ms";
      } else {
        u.Bind(2, "FAILED").Bind(8, now_ms);
        msg = "lease expired; attempts exhausted";
      }
      ROBOTNI_RETURN_IF_ERROR(u.Run("reap"));
      ROBOTNI_RETURN_IF_ERROR(AddTimeline(r.id, now_ms, "reaped", r.attempt, msg));
      ++n;
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  return n;
}

StatusOr<int64_t> SqliteStore::Prune(int64_t finished_before_ms) {
  std::vector<int64_t> ids;
  Status s = Submit([&] {
    ids.clear();
    WriterConn& w = *writer_;
    std::string queue, state;  // queues are never empty: ("", "") is before every group
    while (true) {
      {
        StmtUse u(w.prune_next_group);
        u.Bind(1, queue).Bind(2, state);
        int rc = u.Step();
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) return u.Error(rc, "prune");
        queue = u.Text(0);
        state = u.Text(1);
      }
      StmtUse u(w.prune_select);
      u.Bind(1, queue).Bind(2, state).Bind(3, finished_before_ms);
      int rc;
      while ((rc = u.Step()) == SQLITE_ROW) ids.push_back(u.Int(0));
      if (rc != SQLITE_DONE) return u.Error(rc, "prune");
    }
    for (int64_t id : ids) {
      for (Stmt* st : {&w.delete_files, &w.delete_timeline, &w.delete_item}) {
        StmtUse u(*st);
        u.Bind(1, id);
        ROBOTNI_RETURN_IF_ERROR(u.Run("prune"));
      }
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  for (int64_t id : ids) {
    std::error_code ec;
    fs::remove_all(ItemDir(id), ec);
  }
  return static_cast<int64_t>(ids.size());
}

Status SqliteStore::Delete(const std::string& item_id) {
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  Status s = Submit([&] {
    WriterConn& w = *writer_;
    {
      StmtUse u(w.item_exists);
      u.Bind(1, *id);
      int rc = u.Step();
      if (rc == SQLITE_DONE) return NoItem(item_id);
      if (rc != SQLITE_ROW) return u.Error(rc, "delete");
    }
    for (Stmt* st : {&w.delete_files, &w.delete_timeline, &w.delete_item}) {
      StmtUse u(*st);
      u.Bind(1, *id);
      ROBOTNI_RETURN_IF_ERROR(u.Run("delete"));
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  std::error_code ec;
  fs::remove_all(ItemDir(*id), ec);
  return Status::OK();
}

// ---------------------------------------------------------------------------------
// Reads

StatusOr<std::unique_ptr<SqliteStore::Reader>> SqliteStore::OpenReader() {
  auto db = OpenConnection(path_, options_.read_only, options_.synchronous_full);
  if (!db.ok()) return db.status();
  ROBOTNI_RETURN_IF_ERROR(Exec(db->get(), "PRAGMA query_only=1"));
  auto r = std::make_unique<Reader>();
  r->db = std::move(db).value();
  ROBOTNI_RETURN_IF_ERROR(r->Prepare());
  return r;
}

sqlite3* SqliteStore::WriterDb() { return writer_->db.get(); }

Status SqliteStore::WithReader(const std::function<Status(sqlite3*)>& fn) {
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  return fn((*r)->db.get());
}

StatusOr<SqliteStore::ReaderLease> SqliteStore::AcquireReader() {
  {
    std::lock_guard<std::mutex> lk(readers_mu_);
    if (!readers_.empty()) {
      auto r = std::move(readers_.back());
      readers_.pop_back();
      return ReaderLease(this, std::move(r));
    }
  }
  auto r = OpenReader();
  if (!r.ok()) return r.status();
  return ReaderLease(this, std::move(r).value());
}

namespace {

Status ReadFiles(Stmt& files, int64_t id, std::vector<FileRef>* out) {
  StmtUse u(files);
  u.Bind(1, id);
  int rc;
  while ((rc = u.Step()) == SQLITE_ROW) out->push_back({u.Text(0), u.Int(1), u.Text(2)});
  if (rc != SQLITE_DONE) return u.Error(rc, "files");
  return Status::OK();
}

}  // namespace

StatusOr<Item> SqliteStore::Get(const std::string& item_id) {
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  Item it;
  {
    StmtUse u((*r)->get_item);
    u.Bind(1, *id);
    int rc = u.Step();
    if (rc == SQLITE_DONE) return NoItem(item_id);
    if (rc != SQLITE_ROW) return u.Error(rc, "get");
    it = RowToItem(u);
  }
  ROBOTNI_RETURN_IF_ERROR(ReadFiles((*r)->item_files, *id, &it.files));
  return it;
}

namespace {

// `text` as a LIKE pattern matching it anywhere, its wildcards and the escape taken literally.
std::string ContainsPattern(const std::string& text) {
  std::string p = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') p += '\\';
    p += c;
  }
  return p + "%";
}

// Binds the filters shared by List and Count (?1, ?2, ?5 to ?13); `bounds`: the id range too.
void BindFilter(StmtUse& u, const ListFilter& f, const std::string& pattern, bool bounds) {
  u.Bind(1, f.queue);
  if (f.state) u.Bind(2, StateName(*f.state));
  u.Bind(13, static_cast<int64_t>(f.held_as_pending ? 1 : 0));
  if (f.due_by_ms) u.Bind(5, *f.due_by_ms);
  if (f.due_after_ms) u.Bind(6, *f.due_after_ms);
  if (f.kind) u.Bind(7, KindName(*f.kind));
  if (!f.text.empty()) u.BindStatic(8, pattern);
  u.Bind(9, f.created_from_ms.value_or(INT64_MIN));
  u.Bind(10, f.created_to_ms.value_or(INT64_MAX));
  u.Bind(11, bounds && f.id_below ? *f.id_below : INT64_MAX);
  u.Bind(12, bounds && f.id_above ? *f.id_above : INT64_MIN);
}

}  // namespace

StatusOr<std::vector<Item>> SqliteStore::List(const ListFilter& filter) {
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  std::vector<Item> items;
  const std::string pattern = ContainsPattern(filter.text);
  {
    const bool jobs = filter.kind == Kind::kJob;
    StmtUse u(jobs ? (filter.newest_first ? (*r)->list_jobs_desc : (*r)->list_jobs_asc)
                   : (filter.newest_first ? (*r)->list_desc : (*r)->list_asc));
    BindFilter(u, filter, pattern, /*bounds=*/true);
    u.Bind(3, std::max(0, filter.limit)).Bind(4, std::max(0, filter.offset));
    int rc;
    while ((rc = u.Step()) == SQLITE_ROW) items.push_back(RowToItem(u));
    if (rc != SQLITE_DONE) return u.Error(rc, "list");
  }
  for (Item& it : items) {
    ROBOTNI_RETURN_IF_ERROR(ReadFiles((*r)->item_files, std::stoll(it.id), &it.files));
  }
  return items;
}

StatusOr<int64_t> SqliteStore::Count(const ListFilter& filter) {
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  const std::string pattern = ContainsPattern(filter.text);
  StmtUse u(filter.kind == Kind::kJob ? (*r)->count_jobs : (*r)->count_items);
  BindFilter(u, filter, pattern, /*bounds=*/false);
  int rc = u.Step();
  if (rc != SQLITE_ROW) return u.Error(rc, "count");
  return u.Int(0);
}

StatusOr<std::vector<QueueStats>> SqliteStore::Stats(const std::string& queue) {
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  // One read transaction: an item changing state between the three counts is counted once.
  {
    StmtUse b((*r)->begin_read);
    ROBOTNI_RETURN_IF_ERROR(b.Run("stats"));
  }
  struct EndRead {
    Stmt& st;
    ~EndRead() { (void)StmtUse(st).Run("stats"); }
  } end_read{(*r)->end_read};
  std::map<std::string, QueueStats> by_queue;
  for (auto& pair : (*r)->stats) {
    StmtUse u(pair[queue.empty() ? 0 : 1]);
    u.Bind(1, Now()).Bind(2, queue);
    int rc;
    while ((rc = u.Step()) == SQLITE_ROW) {
      std::string q = u.Text(0);
      QueueStats& qs = by_queue[q];
      qs.queue = q;
      std::string state = u.Text(1);
      int64_t part = u.Int(2), count = u.Int(3);
      if (state == "PENDING") {
        qs.scheduled = part;
        qs.pending = count - part;
      } else if (state == "RESERVED") {
        qs.held = part;
        qs.reserved = count - part;
      } else if (state == "DONE") {
        qs.done = count;
      } else if (state == "FAILED") {
        qs.failed = count;
      } else if (state == "CANCELLED") {
        qs.cancelled = count;
      }
    }
    if (rc != SQLITE_DONE) return u.Error(rc, "stats");
  }
  std::vector<QueueStats> out;
  out.reserve(by_queue.size());
  for (auto& [q, qs] : by_queue) out.push_back(std::move(qs));
  return out;
}

// The common events are not rows: "queued", the current attempt's "started" and a DONE
// item's "finished" come from the item's own columns (three fewer inserts per item on
// the hot path). Rows hold the rest, plus the "started" of attempts whose column was
// since overwritten (KeepStartedRow) and rows written by older versions; a row that
// matches a derived entry (same event, attempt and time) stands for it.
StatusOr<std::vector<TimelineEntry>> SqliteStore::Timeline(const std::string& item_id) {
  auto id = ParseId(item_id);
  if (!id) return NoItem(item_id);
  auto r = AcquireReader();
  if (!r.ok()) return r.status();
  int64_t created = 0, started = 0, finished = 0;
  int attempt = 0;
  std::string state, owner;
  {
    StmtUse u((*r)->timeline_item);
    u.Bind(1, *id);
    int rc = u.Step();
    if (rc == SQLITE_DONE) return NoItem(item_id);
    if (rc != SQLITE_ROW) return u.Error(rc, "timeline");
    created = u.Int(0);
    started = u.Int(1);
    finished = u.Int(2);
    attempt = static_cast<int>(u.Int(3));
    state = u.Text(4);
    owner = u.Text(5);
  }
  struct Entry {
    TimelineEntry e;
    int rank;  // orders entries of the same time and attempt
    size_t seq;
  };
  std::vector<Entry> all;
  bool has_queued = false, has_started = false, has_finished = false;
  {
    StmtUse u((*r)->timeline);
    u.Bind(1, *id);
    int rc;
    while ((rc = u.Step()) == SQLITE_ROW) {
      TimelineEntry e{u.Int(0), u.Text(1), static_cast<int>(u.Int(2)), u.Text(3)};
      has_queued |= e.event == "queued";
      has_started |= e.event == "started" && e.attempt == attempt && e.at_ms == started;
      has_finished |= e.event == "finished" && e.attempt == attempt && e.at_ms == finished;
      const int rank = e.event == "started" ? 1 : e.event == "finished" ? 3 : 2;
      all.push_back({std::move(e), rank, all.size()});
    }
    if (rc != SQLITE_DONE) return u.Error(rc, "timeline");
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

}  // namespace robotni::store::sqlite

namespace robotni::store::sqlite {

StatusOr<int64_t> SqliteStore::AllocateIds(int n) {
  if (n <= 0) return Status::InvalidArgument("AllocateIds: n must be positive");
  int64_t last = 0;
  Status s = Submit([&] {
    {
      StmtUse u(writer_->bump_sequence);
      u.Bind(1, n);
      int rc = u.Step();
      if (rc == SQLITE_ROW) {
        last = u.Int(0);
        return Status::OK();
      }
      if (rc != SQLITE_DONE) return u.Error(rc, "allocate ids");
    }
    StmtUse u(writer_->insert_sequence);
    u.Bind(1, n);
    int rc = u.Step();
    if (rc != SQLITE_ROW) return u.Error(rc, "allocate ids");
    last = u.Int(0);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return last - n + 1;
}

Status SqliteStore::Unreserve(const Lease& lease) {
  auto id = ParseId(lease.item_id);
  if (!id) return NoItem(lease.item_id);
  return Submit([&] {
    int64_t now = Now();
    bool cancelled = false;
    {
      StmtUse u(writer_->unreserve);
      u.Bind(1, *id).Bind(2, lease.owner).Bind(3, lease.attempt).Bind(4, lease.token).Bind(5, now);
      int rc = u.Step();
      if (rc == SQLITE_DONE) return LeaseLost(lease);
      if (rc != SQLITE_ROW) return u.Error(rc, "unreserve");
      cancelled = u.Text(0) == "CANCELLED";
    }
    if (cancelled)
      return AddTimeline(*id, now, "cancelled", lease.attempt, "cancelled while it ran");
    return AddTimeline(*id, now, "unreserved", lease.attempt, "given back unused");
  });
}

StatusOr<int64_t> SqliteStore::ReleaseDeadOwners(
    const std::function<bool(const std::string& owner)>& is_dead) {
  std::vector<std::string> dead;
  {
    auto reader = AcquireReader();
    if (!reader.ok()) return reader.status();
    Stmt owners;
    ROBOTNI_RETURN_IF_ERROR(owners.Prepare(
        (*reader)->db.get(), "SELECT DISTINCT lease_owner FROM items WHERE state = 'RESERVED'"));
    StmtUse u(owners);
    int rc;
    while ((rc = u.Step()) == SQLITE_ROW) {
      std::string owner = u.Text(0);
      if (is_dead(owner)) dead.push_back(owner);
    }
    if (rc != SQLITE_DONE) return u.Error(rc, "lease owners");
  }
  int64_t n = 0;
  for (const std::string& owner : dead) {
    int64_t released = 0;
    Status s = Submit([&] {
      released = 0;
      int64_t now = Now();
      std::vector<std::tuple<int64_t, int, std::string>> rows;
      {
        StmtUse u(writer_->release_owner);
        u.Bind(1, owner).Bind(2, now);
        int rc;
        while ((rc = u.Step()) == SQLITE_ROW)
          rows.emplace_back(u.Int(0), static_cast<int>(u.Int(1)), u.Text(2));
        if (rc != SQLITE_DONE) return u.Error(rc, "release dead owner");
      }
      for (const auto& [id, attempt, state] : rows) {
        ROBOTNI_RETURN_IF_ERROR(KeepStartedRow(id));
        ROBOTNI_RETURN_IF_ERROR(
            AddTimeline(id, now, "reaped", attempt, "holder " + owner + " died; now " + state));
        ++released;
      }
      return Status::OK();
    });
    if (!s.ok()) return s;
    n += released;
  }
  return n;
}

}  // namespace robotni::store::sqlite
