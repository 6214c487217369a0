// SqliteStore's schedules (store.h, Schedule): the definitions of periodic jobs and the tick
// each handled last. Few rows and a write per tick, so statements are prepared per call.
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/sqlite_util.h"

namespace robotni::store::sqlite {

namespace {

constexpr const char* kScheduleCols =
    "name, queue, cron, timezone, params, paused, last_tick, last_job_id, updated";

Schedule ReadSchedule(StmtUse& u) {
  Schedule s;
  s.name = u.Text(0);
  s.queue = u.Text(1);
  s.cron = u.Text(2);
  s.timezone = u.Text(3);
  s.params_json = u.Text(4);
  s.paused = u.Int(5) != 0;
  s.last_tick_ms = u.Int(6);
  int64_t job = u.Int(7);
  s.last_job_id = job > 0 ? std::to_string(job) : "";
  s.updated_ms = u.Int(8);
  return s;
}

Status SelectSchedules(sqlite3* db, const std::string& name, std::vector<Schedule>* out) {
  out->clear();
  Stmt st;
  ROBOTNI_RETURN_IF_ERROR(
      st.Prepare(db, (std::string("SELECT ") + kScheduleCols + " FROM schedules" +
                      (name.empty() ? "" : " WHERE name = ?1") + " ORDER BY name")
                         .c_str()));
  StmtUse u(st);
  if (!name.empty()) u.Bind(1, name);
  int rc;
  while ((rc = u.Step()) == SQLITE_ROW) out->push_back(ReadSchedule(u));
  if (rc != SQLITE_DONE) return u.Error(rc, "list schedules");
  return Status::OK();
}

Status NoSchedule(const std::string& name) {
  return Status::NotFound("no schedule '" + name + "'");
}

}  // namespace

StatusOr<std::vector<Schedule>> SqliteStore::DefineSchedules(const std::vector<Schedule>& defs) {
  for (size_t i = 0; i < defs.size(); ++i) {
    const Schedule& d = defs[i];
    std::string what = "schedules[" + std::to_string(i) + "]";
    if (d.name.empty()) return Status::InvalidArgument(what + ": name is empty");
    if (d.queue.empty()) return Status::InvalidArgument(what + ": type is empty");
    ROBOTNI_RETURN_IF_ERROR(ValidateJson(d.params_json, what + ": params"));
  }
  std::vector<Schedule> out;
  Status s = Submit([&] {
    sqlite3* db = WriterDb();
    const int64_t now = Now();
    Stmt upsert;
    // A new schedule starts at now; an existing one keeps its last tick and pause.
    ROBOTNI_RETURN_IF_ERROR(upsert.Prepare(
        db,
        "INSERT INTO schedules(name, queue, cron, timezone, params, paused, last_tick, updated) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) ON CONFLICT(name) DO UPDATE SET "
        "queue = excluded.queue, cron = excluded.cron, timezone = excluded.timezone, "
        "params = excluded.params, paused = max(paused, excluded.paused), "
        "updated = CASE WHEN queue IS excluded.queue AND cron IS excluded.cron AND timezone IS "
        "excluded.timezone AND params IS excluded.params AND paused >= excluded.paused "
        "THEN updated ELSE excluded.updated END"));
    for (const Schedule& d : defs) {
      StmtUse u(upsert);
      u.Bind(1, d.name).Bind(2, d.queue).Bind(3, d.cron).Bind(4, d.timezone);
      u.Bind(5, d.params_json).Bind(6, d.paused ? 1 : 0).Bind(7, now);
      ROBOTNI_RETURN_IF_ERROR(u.Run("define schedule"));
    }
    return SelectSchedules(db, "", &out);
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<Schedule>> SqliteStore::ListSchedules() {
  std::vector<Schedule> out;
  ROBOTNI_RETURN_IF_ERROR(WithReader([&](sqlite3* db) { return SelectSchedules(db, "", &out); }));
  return out;
}

StatusOr<Schedule> SqliteStore::SetSchedulePaused(const std::string& name, bool paused) {
  std::vector<Schedule> out;
  Status s = Submit([&] {
    sqlite3* db = WriterDb();
    Stmt st;
    ROBOTNI_RETURN_IF_ERROR(
        st.Prepare(db, paused ? "UPDATE schedules SET paused = 1, updated = ?2 WHERE name = ?1"
                              : "UPDATE schedules SET paused = 0, updated = ?2, "
                                "last_tick = max(last_tick, ?2) WHERE name = ?1"));
    StmtUse u(st);
    u.Bind(1, name).Bind(2, Now());
    ROBOTNI_RETURN_IF_ERROR(u.Run(paused ? "pause schedule" : "resume schedule"));
    if (u.Changes() == 0) return NoSchedule(name);
    return SelectSchedules(db, name, &out);
  });
  if (!s.ok()) return s;
  if (out.empty()) return NoSchedule(name);
  return out.front();
}

StatusOr<std::string> SqliteStore::FireSchedule(const std::string& name,
                                                int64_t expected_last_tick_ms, int64_t tick_ms,
                                                const NewItem& job) {
  ROBOTNI_RETURN_IF_ERROR(ValidateNewItem(job, "schedule job"));
  if (!job.files.empty()) return Status::InvalidArgument("a schedule's job has no files");
  int64_t id = 0;
  Status s = Submit([&] {
    sqlite3* db = WriterDb();
    Stmt cas;
    ROBOTNI_RETURN_IF_ERROR(cas.Prepare(
        db,
        "UPDATE schedules SET last_tick = ?3 WHERE name = ?1 AND last_tick = ?2 AND paused = 0"));
    {
      StmtUse u(cas);
      u.Bind(1, name).Bind(2, expected_last_tick_ms).Bind(3, tick_ms);
      ROBOTNI_RETURN_IF_ERROR(u.Run("fire schedule"));
      if (u.Changes() == 0)
        return Status::Conflict("schedule '" + name +
                                "' moved on: its tick was handled elsewhere, or it is paused");
    }
    ROBOTNI_RETURN_IF_ERROR(InsertItemWithoutFiles(job, Now(), &id));
    Stmt last;
    ROBOTNI_RETURN_IF_ERROR(
        last.Prepare(db, "UPDATE schedules SET last_job_id = ?2 WHERE name = ?1"));
    StmtUse u(last);
    u.Bind(1, name).Bind(2, id);
    return u.Run("fire schedule");
  });
  if (!s.ok()) return s;
  return std::to_string(id);
}

}  // namespace robotni::store::sqlite
