// SqliteStore::Restore and RestoreSchedules (store.h): items and schedules written exactly as
// another store held them, for `robotni store migrate`. Rare and bulk, so statements are
// prepared per call.
#include <string>
#include <vector>

#include "store/restore_checks.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/sqlite_util.h"

namespace robotni::store::sqlite {

StatusOr<int64_t> SqliteStore::Restore(const std::vector<ItemRecord>& records) {
  for (size_t i = 0; i < records.size(); ++i) {
    auto row = CheckItemRecord(records[i], i);
    if (!row.ok()) return row.status();
    ROBOTNI_RETURN_IF_ERROR(ValidateNewItem(*row, "records", i));
  }
  std::vector<std::vector<StagedFile>> staged(records.size());
  auto cleanup = [&] {
    for (auto& v : staged)
      for (auto& f : v) ::unlink(f.tmp_path.c_str());
  };
  for (size_t i = 0; i < records.size(); ++i) {
    for (const NewFile& f : records[i].files) {
      auto st = StageFile(f);
      if (!st.ok()) {
        cleanup();
        return st.status();
      }
      staged[i].push_back(std::move(st).value());
    }
  }
  int64_t written = 0;
  Status s = Submit([&] {
    written = 0;
    sqlite3* db = WriterDb();
    Stmt find, insert, timeline;
    ROBOTNI_RETURN_IF_ERROR(
        find.Prepare(db,
                     "SELECT id, queue, created FROM items WHERE id = ?1 OR "
                     "(?2 IS NOT NULL AND idempotency_key = ?2) ORDER BY id = ?1 DESC LIMIT 1"));
    // Every column as given; has_files follows from the files table's triggers.
    ROBOTNI_RETURN_IF_ERROR(insert.Prepare(
        db,
        "INSERT INTO items(id, queue, state, payload, priority, attempt, max_attempts, "
        "parent_id, idempotency_key, lease_owner, lease_expires, created, not_before, started, "
        "finished, updated, result, exception_type, error_code, error_message, traceback, "
        "cancel_requested, lease_token, meta, kind) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
        "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)"));
    ROBOTNI_RETURN_IF_ERROR(timeline.Prepare(
        db, "INSERT INTO timeline(item_id, at, event, attempt, message) VALUES(?1,?2,?3,?4,?5)"));
    for (size_t i = 0; i < records.size(); ++i) {
      const Item& it = records[i].item;
      const int64_t id = std::stoll(it.id);
      {
        StmtUse u(find);
        u.Bind(1, id).BindStaticOrNull(2, it.idempotency_key);
        int rc = u.Step();
        if (rc == SQLITE_ROW) {
          if (u.Int(0) == id && u.TextView(1) == it.queue && u.Int(2) == it.created_ms) continue;
          return Status::Conflict(RecordWhere(i) + "item " + it.id + " (" + it.queue +
                                  ") cannot be written: the store holds item " +
                                  std::to_string(u.Int(0)) + " (" + std::string(u.TextView(1)) +
                                  ") under " +
                                  (u.Int(0) == id ? "that id" : "its idempotency key"));
        }
        if (rc != SQLITE_DONE) return u.Error(rc, "restore lookup");
      }
      {
        StmtUse u(insert);
        u.Bind(1, id).BindStatic(2, it.queue).BindStatic(3, StateName(it.state));
        u.BindStatic(4, it.payload_json).Bind(5, it.priority).Bind(6, it.attempt);
        u.Bind(7, it.max_attempts);
        if (!it.parent_id.empty()) u.Bind(8, static_cast<int64_t>(std::stoll(it.parent_id)));
        u.BindStaticOrNull(9, it.idempotency_key).BindStaticOrNull(10, it.lease_owner);
        u.Bind(11, it.lease_expires_ms).Bind(12, it.created_ms).Bind(13, it.not_before_ms);
        u.Bind(14, it.started_ms).Bind(15, it.finished_ms).Bind(16, it.updated_ms);
        u.BindStaticOrNull(17, it.result_json);
        u.BindStaticOrNull(18, ExceptionTypeName(it.exception_type));
        u.BindStaticOrNull(19, it.error_code).BindStaticOrNull(20, it.error_message);
        u.BindStaticOrNull(21, it.traceback).Bind(22, it.cancel_requested ? 1 : 0);
        u.Bind(23, it.lease_token).BindStaticOrNull(24, it.meta_json);
        u.BindStatic(25, KindName(it.kind));
        ROBOTNI_RETURN_IF_ERROR(u.Run("restore item " + it.id));
      }
      for (const TimelineEntry& e : records[i].timeline) {
        StmtUse u(timeline);
        u.Bind(1, id).Bind(2, e.at_ms).BindStatic(3, e.event).Bind(4, e.attempt);
        u.BindStatic(5, e.message);
        ROBOTNI_RETURN_IF_ERROR(u.Run("restore timeline of " + it.id));
      }
      for (const StagedFile& f : staged[i]) ROBOTNI_RETURN_IF_ERROR(CommitStagedFile(id, f));
      ++written;
    }
    return Status::OK();
  });
  cleanup();
  if (!s.ok()) return s;
  return written;
}

Status SqliteStore::RestoreSchedules(const std::vector<Schedule>& schedules) {
  for (size_t i = 0; i < schedules.size(); ++i) {
    const Schedule& d = schedules[i];
    std::string what = "schedules[" + std::to_string(i) + "]";
    if (d.name.empty()) return Status::InvalidArgument(what + ": name is empty");
    if (d.queue.empty()) return Status::InvalidArgument(what + ": type is empty");
    ROBOTNI_RETURN_IF_ERROR(ValidateJson(d.params_json, what + ": params"));
  }
  return Submit([&] {
    Stmt upsert;
    ROBOTNI_RETURN_IF_ERROR(upsert.Prepare(
        WriterDb(),
        "INSERT OR REPLACE INTO schedules(name, queue, cron, timezone, params, paused, "
        "last_tick, last_job_id, updated) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
    for (const Schedule& d : schedules) {
      StmtUse u(upsert);
      u.Bind(1, d.name).Bind(2, d.queue).Bind(3, d.cron).Bind(4, d.timezone);
      u.Bind(5, d.params_json).Bind(6, d.paused ? 1 : 0).Bind(7, d.last_tick_ms);
      if (!d.last_job_id.empty()) u.Bind(8, static_cast<int64_t>(std::stoll(d.last_job_id)));
      u.Bind(9, d.updated_ms);
      ROBOTNI_RETURN_IF_ERROR(u.Run("restore schedule " + d.name));
    }
    return Status::OK();
  });
}

}  // namespace robotni::store::sqlite
