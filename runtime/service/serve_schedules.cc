#include "service/serve_schedules.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>

#include "api/jobs_api.h"
#include "core/iso_time.h"
#include "core/log.h"
#include "loop/uv_handle.h"
#include "schedule/cron.h"

namespace robotni::service {

namespace {

using nlohmann::json;

// A timer never waits longer than this: the wall clock is read again then, so a clock that
// jumped (NTP, a suspended machine) moves the next tick with it.
constexpr int64_t kMaxWaitMs = 5 * 60 * 1000;
// After a store error, the next try.
constexpr int64_t kRetryMs = 5000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t FloorSeconds(int64_t ms) { return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); }

json IsoOrNull(int64_t ms) { return ms > 0 ? json(FormatIsoTime(ms)) : json(); }

struct Def {
  store::Schedule row;  // name, queue, cron, timezone, params, paused (the definition)
  schedule::CronSchedule cron;
  int max_attempts = 0;  // the type's; 0 = the store's default
};

}  // namespace

struct ServeSchedules::Impl : std::enable_shared_from_this<Impl> {
  store::WorkItemStore* store = nullptr;
  std::vector<Def> defs;
  // Loop thread only:
  uv_loop_t* loop = nullptr;
  exec::WorkQueue* blocking = nullptr;
  std::shared_ptr<loop::LoopPoster> poster;
  std::vector<loop::UvHandle<uv_timer_t>> timers;  // by index into defs
  std::vector<bool> in_flight;
  std::vector<bool> again;  // asked to check again while a check ran
  std::atomic<bool> stopped{false};

  // Loop thread: a store check of defs[i] off the loop, then the timer armed to what it says.
  void Check(size_t i) {
    if (stopped || !timers[i]) return;
    if (in_flight[i]) {
      again[i] = true;
      return;
    }
    in_flight[i] = true;
    auto self = shared_from_this();
    blocking->Submit([self, i] {
      int64_t wait_ms = self->stopped ? 0 : self->Tick(self->defs[i]);
      self->poster->Post([self, i, wait_ms] {
        self->in_flight[i] = false;
        if (self->stopped || !self->timers[i]) return;
        if (self->again[i]) {
          self->again[i] = false;
          return self->Check(i);
        }
        uv_update_time(self->loop);
        uv_timer_start(self->timers[i].get(), OnTimer, static_cast<uint64_t>(wait_ms), 0);
      });
    });
  }

  static void OnTimer(uv_timer_t* t) {
    auto* self = static_cast<Impl*>(t->data);
    if (self == nullptr) return;
    for (size_t i = 0; i < self->timers.size(); ++i) {
      if (self->timers[i].get() == t) return self->Check(i);
    }
  }

  // Worker thread: enqueues the due tick of `d`, if any; returns the ms until the next check.
  int64_t Tick(const Def& d) {
    for (int round = 0; round < 3; ++round) {
      auto rows = store->ListSchedules();
      if (!rows.ok()) {
        log::Warn("schedule '" + d.row.name + "': " + rows.status().message(),
                  {{"event", "schedule_error"}, {"schedule", d.row.name}});
        return kRetryMs;
      }
      auto it = std::find_if(rows->begin(), rows->end(),
                             [&](const store::Schedule& r) { return r.name == d.row.name; });
      if (it == rows->end()) return kMaxWaitMs;  // deleted from the store meanwhile
      const int64_t now = NowMs();
      std::optional<int64_t> due;
      if (!it->paused) due = d.cron.LatestIn(FloorSeconds(it->last_tick_ms), FloorSeconds(now));
      if (due) {
        const int64_t tick_ms = *due * 1000;
        store::NewItem job;
        job.queue = d.row.queue;
        job.payload_json = d.row.params_json;
        job.kind = store::Kind::kJob;
        if (d.max_attempts > 0) job.max_attempts = d.max_attempts;
        // The tick's job, whoever enqueues it: a second insert of this key is the first job.
        job.idempotency_key = "schedule:" + d.row.name + ":" + std::to_string(*due);
        auto id = store->FireSchedule(d.row.name, it->last_tick_ms, tick_ms, job);
        if (id.ok()) {
          bool late = now - tick_ms > 60'000;
          log::Info("schedule '" + d.row.name + "': job " + *id + " (" + d.row.queue +
                        ") for the tick of " + FormatIsoTime(tick_ms) +
                        (late ? " (a missed tick, caught up)" : ""),
                    {{"event", "schedule_fired"},
                     {"schedule", d.row.name},
                     {"type", d.row.queue},
                     {"job_id", *id},
                     {"tick", FormatIsoTime(tick_ms)},
                     {"late", late}});
        } else if (!id.status().IsConflict()) {
          log::Warn("schedule '" + d.row.name + "': cannot enqueue the tick of " +
                        FormatIsoTime(tick_ms) + ": " + id.status().message(),
                    {{"event", "schedule_error"}, {"schedule", d.row.name}});
          return kRetryMs;
        }
        continue;  // read again: the last tick moved (here or elsewhere), or it was paused
      }
      std::optional<int64_t> next =
          d.cron.Next(std::max(FloorSeconds(now), FloorSeconds(it->last_tick_ms)));
      if (!next) return kMaxWaitMs;
      return std::clamp<int64_t>(*next * 1000 - NowMs(), 0, kMaxWaitMs);
    }
    return 0;
  }

  json RowJson(const store::Schedule& r) const {
    const Def* def = nullptr;
    for (const Def& d : defs) {
      if (d.row.name == r.name) def = &d;
    }
    std::optional<int64_t> next;
    if (!r.paused) {
      const int64_t after = std::max(FloorSeconds(NowMs()), FloorSeconds(r.last_tick_ms));
      if (def) {
        next = def->cron.Next(after);
      } else if (auto c = schedule::CronSchedule::Parse(r.cron, r.timezone); c.ok()) {
        next = c->Next(after);
      }
    }
    return {{"name", r.name},
            {"type", r.queue},
            {"cron", r.cron},
            {"timezone", r.timezone},
            {"params", json::parse(r.params_json, nullptr, false)},
            {"paused", r.paused},
            {"served", def != nullptr},
            {"last_tick", IsoOrNull(r.last_tick_ms)},
            {"last_job_id", r.last_job_id.empty() ? json() : json(r.last_job_id)},
            {"next_run", next ? IsoOrNull(*next * 1000) : json()}};
  }
};

StatusOr<std::shared_ptr<ServeSchedules>> ServeSchedules::Create(
    const std::vector<exec::JobTypeInfo>& types,
    const std::vector<config::ScheduleEntry>& configured, store::WorkItemStore* store) {
  // By name: the decorators' first, then the config's over them.
  std::map<std::string, config::ScheduleEntry> entries;
  std::map<std::string, std::string> where;
  for (const auto& t : types) {
    if (t.schedule_cron.empty()) continue;
    config::ScheduleEntry e;
    e.name = e.type = t.name;
    e.cron = t.schedule_cron;
    e.timezone = t.schedule_timezone.empty() ? "UTC" : t.schedule_timezone;
    e.params_json = t.schedule_params.dump();
    entries[e.name] = e;
    where[e.name] = "@job('" + t.name + "', schedule=...)";
  }
  for (size_t i = 0; i < configured.size(); ++i) {
    entries[configured[i].name] = configured[i];
    where[configured[i].name] = "schedules[" + std::to_string(i) + "]";
  }
  auto impl = std::make_shared<Impl>();
  impl->store = store;
  std::vector<store::Schedule> rows;
  for (const auto& [name, e] : entries) {
    const std::string& at = where[name];
    if (!config::ValidScheduleName(name))
      return Status::InvalidArgument(at + ": the schedule name '" + name +
                                     "' must be 1 to 200 letters, digits, '.', '_', '-' or ':'");
    auto type = std::find_if(types.begin(), types.end(),
                             [&](const exec::JobTypeInfo& t) { return t.name == e.type; });
    if (type == types.end())
      return Status::InvalidArgument(at + ": type '" + e.type +
                                     "' is not a job type this server serves");
    auto cron = schedule::CronSchedule::Parse(e.cron, e.timezone);
    if (!cron.ok()) return Status::InvalidArgument(at + ": " + cron.status().message());
    json params = json::parse(e.params_json, nullptr, false);
    if (!params.is_object())
      return Status::InvalidArgument(at + ": params: expected a JSON object");
    if (std::string why = api::CheckParams(*type, params); !why.empty())
      return Status::InvalidArgument(at + ": params do not match the input schema of '" + e.type +
                                     "': " + why);
    store::Schedule row;
    row.name = name;
    row.queue = e.type;
    row.cron = e.cron;
    row.timezone = cron->timezone();
    row.params_json = params.dump();
    row.paused = e.paused;
    rows.push_back(row);
    impl->defs.push_back({row, std::move(cron).value(), type->max_attempts});
  }
  if (!rows.empty()) {
    auto defined = store->DefineSchedules(rows);
    if (!defined.ok()) return defined.status();
  }
  return std::shared_ptr<ServeSchedules>(new ServeSchedules(std::move(impl)));
}

ServeSchedules::~ServeSchedules() { impl_->stopped = true; }

void ServeSchedules::Start(uv_loop_t* loop, exec::WorkQueue* blocking,
                           std::shared_ptr<loop::LoopPoster> poster) {
  Impl& s = *impl_;
  s.loop = loop;
  s.blocking = blocking;
  s.poster = std::move(poster);
  s.in_flight.assign(s.defs.size(), false);
  s.again.assign(s.defs.size(), false);
  for (size_t i = 0; i < s.defs.size(); ++i) {
    auto t = loop::UvHandle<uv_timer_t>::Make();
    uv_timer_init(loop, t.get());
    t.get()->data = &s;
    uv_unref(t.handle());  // a schedule never keeps serve running
    s.timers.push_back(std::move(t));
  }
  for (size_t i = 0; i < s.defs.size(); ++i) s.Check(i);
}

void ServeSchedules::Stop() {
  impl_->stopped = true;
  for (auto& t : impl_->timers) t.Reset();
}

size_t ServeSchedules::size() const { return impl_->defs.size(); }

StatusOr<nlohmann::json> ServeSchedules::List() {
  auto rows = impl_->store->ListSchedules();
  if (!rows.ok()) return rows.status();
  json list = json::array();
  for (const auto& r : *rows) list.push_back(impl_->RowJson(r));
  return json{{"schedules", list}};
}

StatusOr<nlohmann::json> ServeSchedules::SetPaused(const std::string& name, bool paused) {
  auto row = impl_->store->SetSchedulePaused(name, paused);
  if (!row.ok()) return row.status();
  // A resume here arms this process's timer at once (others find it at their next check).
  auto self = impl_;
  for (size_t i = 0; i < self->defs.size(); ++i) {
    if (self->defs[i].row.name == name && self->poster)
      self->poster->Post([self, i] { self->Check(i); });
  }
  return impl_->RowJson(*row);
}

}  // namespace robotni::service
