// PgStore::Restore and RestoreSchedules (store.h): items and schedules written exactly as
// another store held them, for `robotni store migrate`.
#include <algorithm>
#include <string>
#include <vector>

#include "store/postgres/pg_store.h"
#include "store/restore_checks.h"

namespace robotni::store::postgres {

StatusOr<int64_t> PgStore::Restore(const std::vector<ItemRecord>& records) {
  int64_t highest = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    auto row = CheckItemRecord(records[i], i);
    if (!row.ok()) return row.status();
    ROBOTNI_RETURN_IF_ERROR(ValidateNewItem(*row, "records", i));
    for (const NewFile& f : records[i].files) {
      ROBOTNI_RETURN_IF_ERROR(ValidateFileName(f.name));
      if (static_cast<int64_t>(f.content.size()) > options_.max_file_bytes)
        return Status::InvalidArgument(RecordWhere(i) + "file " + f.name +
                                       " is over the size limit");
    }
    highest = std::max<int64_t>(highest, std::stoll(records[i].item.id));
  }
  int64_t written = 0;
  Status s = Submit([&] {
    written = 0;
    for (size_t i = 0; i < records.size(); ++i) {
      const Item& it = records[i].item;
      const int64_t id = std::stoll(it.id);
      auto found = W().Exec(
          "SELECT id, queue, created FROM items WHERE id = $1 OR ($2::text IS NOT NULL AND "
          "idempotency_key = $2) ORDER BY id = $1 DESC LIMIT 1",
          Params().Add(id).OrNull(it.idempotency_key));
      if (!found.ok()) return found.status();
      if (found->rows() > 0) {
        if (found->Int(0, 0) == id && found->Text(0, 1) == it.queue &&
            found->Int(0, 2) == it.created_ms)
          continue;
        return Status::Conflict(RecordWhere(i) + "item " + it.id + " (" + it.queue +
                                ") cannot be written: the store holds item " + found->Text(0, 0) +
                                " (" + found->Text(0, 1) + ") under " +
                                (found->Int(0, 0) == id ? "that id" : "its idempotency key"));
      }
      Params p;
      p.Add(id).Add(it.queue).Add(StateName(it.state)).Add(it.payload_json).Add(it.priority);
      p.Add(it.attempt).Add(it.max_attempts);
      if (it.parent_id.empty())
        p.Null();
      else
        p.Add(it.parent_id);
      p.OrNull(it.idempotency_key).OrNull(it.lease_owner).Add(it.lease_expires_ms);
      p.Add(it.created_ms).Add(it.not_before_ms).Add(it.started_ms).Add(it.finished_ms);
      p.Add(it.updated_ms).OrNull(it.result_json).OrNull(ExceptionTypeName(it.exception_type));
      p.OrNull(it.error_code).OrNull(it.error_message).OrNull(it.traceback);
      p.Add(it.cancel_requested).Add(it.lease_token).OrNull(it.meta_json);
      p.Add(KindName(it.kind));
      auto ins = W().Exec(
          "INSERT INTO items(id, queue, state, payload, priority, attempt, max_attempts, "
          "parent_id, idempotency_key, lease_owner, lease_expires, created, not_before, started, "
          "finished, updated, result, exception_type, error_code, error_message, traceback, "
          "cancel_requested, lease_token, meta, kind) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, "
          "$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)",
          p);
      if (!ins.ok()) return ins.status();
      for (const TimelineEntry& e : records[i].timeline) {
        auto t = W().Exec(
            "INSERT INTO timeline(item_id, at, event, attempt, message) VALUES($1,$2,$3,$4,$5)",
            Params().Add(id).Add(e.at_ms).Add(e.event).Add(e.attempt).Add(e.message));
        if (!t.ok()) return t.status();
      }
      for (const NewFile& f : records[i].files) ROBOTNI_RETURN_IF_ERROR(InsertFile(id, f));
      ++written;
    }
    // Ids handed out later start above every restored one.
    return W()
        .Exec("UPDATE id_counter SET next_id = greatest(next_id, $1)", Params().Add(highest + 1))
        .status();
  });
  if (!s.ok()) return s;
  return written;
}

Status PgStore::RestoreSchedules(const std::vector<Schedule>& schedules) {
  for (size_t i = 0; i < schedules.size(); ++i) {
    const Schedule& d = schedules[i];
    std::string what = "schedules[" + std::to_string(i) + "]";
    if (d.name.empty()) return Status::InvalidArgument(what + ": name is empty");
    if (d.queue.empty()) return Status::InvalidArgument(what + ": type is empty");
    ROBOTNI_RETURN_IF_ERROR(ValidateJson(d.params_json, what + ": params"));
  }
  return Submit([&] {
    for (const Schedule& d : schedules) {
      Params p;
      p.Add(d.name).Add(d.queue).Add(d.cron).Add(d.timezone).Add(d.params_json).Add(d.paused);
      p.Add(d.last_tick_ms).OrNull(d.last_job_id).Add(d.updated_ms);
      auto r = W().Exec(
          "INSERT INTO schedules(name, queue, cron, timezone, params, paused, last_tick, "
          "last_job_id, updated) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT(name) DO "
          "UPDATE SET queue = excluded.queue, cron = excluded.cron, timezone = "
          "excluded.timezone, params = excluded.params, paused = excluded.paused, last_tick = "
          "excluded.last_tick, last_job_id = excluded.last_job_id, updated = excluded.updated",
          p);
      if (!r.ok()) return r.status();
    }
    return Status::OK();
  });
}

}  // namespace robotni::store::postgres
