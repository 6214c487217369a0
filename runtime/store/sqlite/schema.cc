#include "store/sqlite/schema.h"

#include <algorithm>
#include <string>

#include "store/sqlite/sqlite_util.h"

namespace robotni::store::sqlite {
namespace {

// kMigrations[i] brings the schema from version i to version i+1. Append only.
const char* const kMigrations[] = {
    // 1: items, files, timeline.
    R"sql(
-- AUTOINCREMENT: ids are never reused, also after Prune deleted the newest rows.
CREATE TABLE items(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  state TEXT NOT NULL,
  payload TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 3,
  parent_id INTEGER,
  idempotency_key TEXT,
  lease_owner TEXT,
  lease_expires INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL,
  not_before INTEGER NOT NULL DEFAULT 0,
  started INTEGER NOT NULL DEFAULT 0,
  finished INTEGER NOT NULL DEFAULT 0,
  updated INTEGER NOT NULL,
  result TEXT,
  exception_type TEXT,
  error_code TEXT,
  error_message TEXT,
  traceback TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  lease_token INTEGER NOT NULL DEFAULT 0
);
-- Reserve: index-only seek per queue in (priority DESC, id) order; not_before and
-- cancel_requested are filtered from the index without touching the table (state is a
-- column too so SQLite 3.40 treats the partial index as covering). Queries name it with
-- INDEXED BY: without ANALYZE data the planner prefers items_queue_state and sorts.
CREATE INDEX items_ready
  ON items(queue, priority DESC, id, not_before, cancel_requested, state) WHERE state = 'PENDING';
CREATE UNIQUE INDEX items_idempotency ON items(idempotency_key)
  WHERE idempotency_key IS NOT NULL;
-- Reaper: expired leases only.
CREATE INDEX items_lease ON items(lease_expires) WHERE state = 'RESERVED';
-- Prune: finished rows by finish time.
CREATE INDEX items_finished ON items(finished)
  WHERE state IN ('DONE', 'FAILED', 'CANCELLED');
-- Stats and List by queue/state: index-only counts.
CREATE INDEX items_queue_state ON items(queue, state, not_before);
CREATE TABLE files(
  item_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY(item_id, name)
) WITHOUT ROWID;
CREATE TABLE timeline(
  id INTEGER PRIMARY KEY,
  item_id INTEGER NOT NULL,
  at INTEGER NOT NULL,
  event TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX timeline_item ON timeline(item_id, id);
)sql",
    // 2: items.has_files, kept by triggers on files, so Reserve reads the files table only
    // for items that have files.
    R"sql(
ALTER TABLE items ADD COLUMN has_files INTEGER NOT NULL DEFAULT 0;
UPDATE items SET has_files = 1 WHERE id IN (SELECT item_id FROM files);
CREATE TRIGGER files_added AFTER INSERT ON files BEGIN
  UPDATE items SET has_files = 1 WHERE id = NEW.item_id AND has_files = 0;
END;
CREATE TRIGGER files_removed AFTER DELETE ON files BEGIN
  UPDATE items SET has_files = EXISTS(SELECT 1 FROM files WHERE item_id = OLD.item_id)
    WHERE id = OLD.item_id;
END;
)sql",
    // 3: items.meta, a JSON object the service keeps with a job (webhook URLs).
    R"sql(
ALTER TABLE items ADD COLUMN meta TEXT;
)sql",
    // 4: items_finished by `finished > 0` (set exactly when an item reaches DONE, FAILED or
    // CANCELLED). SQLite checks a partial index's `state IN (...)` with a fresh ephemeral
    // table for every row written; that was a third of the writer's time per item.
    R"sql(
DROP INDEX items_finished;
CREATE INDEX items_finished ON items(finished) WHERE finished > 0;
)sql",
    // 5: fewer index moves per item. items_queue_state held every row and moved on every
    // state change (two of an item's three writes): 35% of the writer's time per consumed
    // item. Stats now count each state from the partial index that holds it: PENDING from
    // items_ready, RESERVED from items_lease (now with queue), final states from
    // items_final, which also serves Prune per (queue, state).
    R"sql(
DROP INDEX items_queue_state;
DROP INDEX items_finished;
DROP INDEX items_lease;
CREATE INDEX items_lease ON items(lease_expires, queue, state) WHERE state = 'RESERVED';
CREATE INDEX items_final ON items(queue, state, finished) WHERE finished > 0;
)sql",
    // 6: items.kind, 'job' for items made through the job API, 'item' for all others, so the
    // job API answers for jobs only and lists them from items_jobs (a seek; only job rows
    // are in it and kind never changes, so a work item's writes never touch it). Rows from
    // before: a job is recognised by what only the job API leaves on an item (webhook URLs
    // in meta, the captured job.log); a job that has neither stays a work item (docs/serve.md).
    R"sql(
ALTER TABLE items ADD COLUMN kind TEXT NOT NULL DEFAULT 'item';
UPDATE items SET kind = 'job'
  WHERE meta IS NOT NULL OR id IN (SELECT item_id FROM files WHERE name = 'job.log');
CREATE INDEX items_jobs ON items(id) WHERE kind = 'job';
)sql",
    // 7: schedules, periodic jobs (docs/serve.md "Periodic jobs"). last_tick (ms) is the tick
    // handled last; a process enqueues a tick's job only by moving it forward with a compare
    // and set in the job's transaction, so processes sharing the store enqueue it once.
    R"sql(
CREATE TABLE schedules(
  name TEXT PRIMARY KEY,
  queue TEXT NOT NULL,
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL,
  params TEXT NOT NULL,
  paused INTEGER NOT NULL DEFAULT 0,
  last_tick INTEGER NOT NULL,
  last_job_id INTEGER,
  updated INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
};

constexpr int kNumMigrations = sizeof(kMigrations) / sizeof(kMigrations[0]);

}  // namespace

int CurrentSchemaVersion() { return kNumMigrations; }

StatusOr<int> ReadSchemaVersion(sqlite3* db) {
  Stmt exists;
  ROBOTNI_RETURN_IF_ERROR(exists.Prepare(
      db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'"));
  {
    StmtUse u(exists);
    int rc = u.Step();
    if (rc == SQLITE_DONE) return 0;
    if (rc != SQLITE_ROW) return u.Error(rc, "reading the schema");
  }
  Stmt version;
  ROBOTNI_RETURN_IF_ERROR(version.Prepare(db, "SELECT max(version) FROM schema_version"));
  StmtUse u(version);
  int rc = u.Step();
  if (rc != SQLITE_ROW) return u.Error(rc, "reading schema_version");
  return static_cast<int>(u.Int(0));
}

Status RefuseForeignTables(sqlite3* db, const std::string& path) {
  // An empty file becomes a store; another program's tables are left alone (an Action
  // Server / actions-work-items database has `work_items`).
  Stmt tables;
  ROBOTNI_RETURN_IF_ERROR(
      tables.Prepare(db,
                     "SELECT group_concat(name, ', ') FROM sqlite_master WHERE type='table' AND "
                     "name NOT LIKE 'sqlite_%'"));
  StmtUse u(tables);
  int rc = u.Step();
  if (rc != SQLITE_ROW) return u.Error(rc, "reading the schema");
  std::string names = u.Text(0);
  if (names.empty()) return Status::OK();
  std::string hint = names.find("work_items") != std::string::npos
                         ? "; it looks like an Action Server / actions-work-items database, "
                           "which robotni does not take over: give robotni a store file of "
                           "its own (--store or RC_WORKITEM_DB_PATH) and import this one into "
                           "it with `robotni items import --from-action-server " +
                               path + "`"
                         : "";
  return Status::InvalidArgument(path + " is not a robotni work-item store (it has tables " +
                                 names + ")" + hint);
}

Status Migrate(sqlite3* db, const std::string& path) { return MigrateTo(db, path, kNumMigrations); }

Status MigrateTo(sqlite3* db, const std::string& path, int target) {
  target = std::min(target, kNumMigrations);
  StatusOr<int> v = ReadSchemaVersion(db);
  if (!v.ok()) return v.status();
  if (*v > kNumMigrations) {
    return Status::InvalidArgument(path + " was written by a newer robotni (schema " +
                                   std::to_string(*v) + ", this build knows " +
                                   std::to_string(kNumMigrations) + ")");
  }
  for (int from = *v; from < target; ++from) {
    ROBOTNI_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE"));
    // Re-check inside the write lock: another process may have migrated meanwhile.
    StatusOr<int> now = ReadSchemaVersion(db);
    if (!now.ok() || *now != from) {
      Exec(db, "ROLLBACK");
      if (!now.ok()) return now.status();
      if (*now > kNumMigrations) return MigrateTo(db, path, target);
      from = *now - 1;
      continue;
    }
    Status s = Exec(db, kMigrations[from]);
    if (s.ok() && from == 0) {
      s = Exec(db, "CREATE TABLE schema_version(version INTEGER NOT NULL)");
    }
    if (s.ok()) {
      s = Exec(db, ("DELETE FROM schema_version; INSERT INTO schema_version VALUES(" +
                    std::to_string(from + 1) + ")")
                       .c_str());
    }
    if (s.ok()) s = Exec(db, "COMMIT");
    if (!s.ok()) {
      Exec(db, "ROLLBACK");
      return Status::IOError(path + ": schema migration to version " + std::to_string(from + 1) +
                             " failed: " + s.message());
    }
  }
  return Status::OK();
}

}  // namespace robotni::store::sqlite
