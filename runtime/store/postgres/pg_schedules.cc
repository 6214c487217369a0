// PgStore's schedules (store.h, Schedule): periodic jobs' definitions and the tick each
// handled last; FireSchedule's compare and set on last_tick makes processes sharing the store
// enqueue a tick's job once.
#include <string>
#include <vector>

#include "store/postgres/pg_store.h"

namespace robotni::store::postgres {

namespace {

constexpr const char* kScheduleCols =
    "name, queue, cron, timezone, params, paused, last_tick, last_job_id, updated";

StatusOr<std::vector<Schedule>> SelectSchedules(PgConn& c, const std::string& name) {
  Params p;
  if (!name.empty()) p.Add(name);
  auto r = c.Exec(std::string("SELECT ") + kScheduleCols + " FROM schedules" +
                      (name.empty() ? "" : " WHERE name = $1") + " ORDER BY name COLLATE \"C\"",
                  p);
  if (!r.ok()) return r.status();
  std::vector<Schedule> out;
  for (int i = 0; i < r->rows(); ++i) {
    Schedule s;
    s.name = r->Text(i, 0);
    s.queue = r->Text(i, 1);
    s.cron = r->Text(i, 2);
    s.timezone = r->Text(i, 3);
    s.params_json = r->Text(i, 4);
    s.paused = r->Bool(i, 5);
    s.last_tick_ms = r->Int(i, 6);
    const int64_t job = r->IsNull(i, 7) ? 0 : r->Int(i, 7);
    s.last_job_id = job > 0 ? std::to_string(job) : "";
    s.updated_ms = r->Int(i, 8);
    out.push_back(std::move(s));
  }
  return out;
}

Status NoSchedule(const std::string& name) {
  return Status::NotFound("no schedule '" + name + "'");
}

}  // namespace

StatusOr<std::vector<Schedule>> PgStore::DefineSchedules(const std::vector<Schedule>& defs) {
  for (size_t i = 0; i < defs.size(); ++i) {
    const Schedule& d = defs[i];
    std::string what = "schedules[" + std::to_string(i) + "]";
    if (d.name.empty()) return Status::InvalidArgument(what + ": name is empty");
    if (d.queue.empty()) return Status::InvalidArgument(what + ": type is empty");
    ROBOTNI_RETURN_IF_ERROR(ValidateJson(d.params_json, what + ": params"));
  }
  std::vector<Schedule> out;
  Status s = Submit([&] {
    const int64_t now = Now();
    for (const Schedule& d : defs) {
      // A new schedule starts at now; an existing one keeps its last tick and pause.
      auto r = W().Exec(
          "INSERT INTO schedules AS s(name, queue, cron, timezone, params, paused, last_tick, "
          "updated) VALUES($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT(name) DO UPDATE SET "
          "queue = excluded.queue, cron = excluded.cron, timezone = excluded.timezone, "
          "params = excluded.params, paused = s.paused OR excluded.paused, "
          "updated = CASE WHEN s.queue = excluded.queue AND s.cron = excluded.cron AND "
          "s.timezone = excluded.timezone AND s.params = excluded.params AND "
          "(s.paused OR NOT excluded.paused) THEN s.updated ELSE excluded.updated END",
          Params()
              .Add(d.name)
              .Add(d.queue)
              .Add(d.cron)
              .Add(d.timezone)
              .Add(d.params_json)
              .Add(d.paused)
              .Add(now));
      if (!r.ok()) return r.status();
    }
    auto all = SelectSchedules(W(), "");
    if (!all.ok()) return all.status();
    out = std::move(all).value();
    return Status::OK();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<Schedule>> PgStore::ListSchedules() {
  auto c = AcquireReader();
  if (!c.ok()) return c.status();
  return SelectSchedules(**c, "");
}

StatusOr<Schedule> PgStore::SetSchedulePaused(const std::string& name, bool paused) {
  std::vector<Schedule> out;
  Status s = Submit([&] {
    auto r = W().Exec(paused ? "UPDATE schedules SET paused = true, updated = $2 WHERE name = $1"
                             : "UPDATE schedules SET paused = false, updated = $2, "
                               "last_tick = greatest(last_tick, $2) WHERE name = $1",
                      Params().Add(name).Add(Now()));
    if (!r.ok()) return r.status();
    if (r->affected() == 0) return NoSchedule(name);
    auto one = SelectSchedules(W(), name);
    if (!one.ok()) return one.status();
    out = std::move(one).value();
    return Status::OK();
  });
  if (!s.ok()) return s;
  if (out.empty()) return NoSchedule(name);
  return out.front();
}

StatusOr<std::string> PgStore::FireSchedule(const std::string& name, int64_t expected_last_tick_ms,
                                            int64_t tick_ms, const NewItem& job) {
  ROBOTNI_RETURN_IF_ERROR(ValidateNewItem(job, "schedule job"));
  if (!job.files.empty()) return Status::InvalidArgument("a schedule's job has no files");
  int64_t id = 0;
  Status s = Submit([&] {
    auto cas = W().Exec(
        "UPDATE schedules SET last_tick = $3 WHERE name = $1 AND last_tick = $2 AND NOT paused",
        Params().Add(name).Add(expected_last_tick_ms).Add(tick_ms));
    if (!cas.ok()) return cas.status();
    if (cas->affected() == 0)
      return Status::Conflict("schedule '" + name +
                              "' moved on: its tick was handled elsewhere, or it is paused");
    ROBOTNI_RETURN_IF_ERROR(InsertItem(job, 0, Now(), &id));
    return W()
        .Exec("UPDATE schedules SET last_job_id = $2 WHERE name = $1", Params().Add(name).Add(id))
        .status();
  });
  if (!s.ok()) return s;
  return std::to_string(id);
}

}  // namespace robotni::store::postgres
