#ifndef ROBOTNI_RUNTIME_SERVICE_SERVE_SCHEDULES_H_
#define ROBOTNI_RUNTIME_SERVICE_SERVE_SCHEDULES_H_

// ServeSchedules: serve's periodic jobs (docs/serve.md "Periodic jobs"). Each schedule has a
// libuv timer on serve's loop armed to its next tick (at most 5 minutes ahead, so a wall
// clock that jumps is followed). When it fires, a WorkQueue thread reads the schedule from the
// store and, when a tick is due, enqueues its job with the store's compare and set of the
// schedule's last tick (WorkItemStore::FireSchedule): processes sharing the store enqueue
// one job per tick between them, and a restart never enqueues a tick again. After a
// downtime one job is enqueued for the latest missed tick, not one per missed tick.
//
// Thread-safety: Create, Start and Stop on the loop thread; List and SetPaused block on the
// store (call them off the loop) and may be called from any thread.

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/schedules_yaml.h"
#include "exec/job_type.h"
#include "exec/work_queue.h"
#include "loop/loop_poster.h"
#include "store/store.h"

namespace robotni::service {

class ServeSchedules {
 public:
  // The schedules of the served job types' decorators and of the config's `schedules:` (an
  // entry of the same name wins). InvalidArgument naming the schedule when its type is not
  // served here or its cron, timezone or params do not parse. Defines them in the store.
  static StatusOr<std::shared_ptr<ServeSchedules>> Create(
      const std::vector<exec::JobTypeInfo>& types,
      const std::vector<config::ScheduleEntry>& configured, store::WorkItemStore* store);
  ~ServeSchedules();

  // Loop thread: arms the timers; the store work runs on `blocking`, results come back
  // through `poster`.
  void Start(uv_loop_t* loop, exec::WorkQueue* blocking, std::shared_ptr<loop::LoopPoster> poster);
  // Loop thread: no more ticks (a drain); closes the timers.
  void Stop();

  size_t size() const;
  // Every schedule of the store, with its next run: {"schedules": [...]}.
  StatusOr<nlohmann::json> List();
  // Pauses or resumes; the schedule as List shows it. NotFound.
  StatusOr<nlohmann::json> SetPaused(const std::string& name, bool paused);

  struct Impl;

 private:
  explicit ServeSchedules(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace robotni::service

#endif  // ROBOTNI_RUNTIME_SERVICE_SERVE_SCHEDULES_H_
