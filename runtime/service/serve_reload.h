#ifndef ROBOTNI_RUNTIME_SERVICE_SERVE_RELOAD_H_
#define ROBOTNI_RUNTIME_SERVICE_SERVE_RELOAD_H_

// SIGHUP for `robotni serve`: re-reads the --config file and robot.yaml, re-imports the job
// modules, re-reads the tokens, and applies what can change while serving (job types,
// tokens, rate limit, public metrics, grace, log and webhook settings). Settings that need a
// restart (listen, store, robot, jobs, types, concurrency, isolation, no_auth, tasks, and
// robot.yaml's PATH / PYTHONPATH / isolation) are logged as such and keep their running
// values. Each part fails on its own: a broken part is logged and keeps its old state; the
// service never stops because of a reload.
//
// Thread-safety: Start, Stop and the signal run on the loop thread; the reading and the
// imports run on the WorkQueue; the results are applied on the loop thread.

#include <uv.h>

#include <functional>
#include <memory>
#include <set>

#include "api/auth.h"
#include "config/robot_yaml.h"
#include "config/serve_settings.h"
#include "exec/dispatcher.h"
#include "exec/work_queue.h"
#include "loop/loop_poster.h"
#include "loop/signal_watcher.h"

namespace robotni::service {

using config::ServeFlags;

class ServeReloader {
 public:
  struct Hooks {
    // Off the loop: the Auth for `flags` (token file re-read); nullptr after logging why.
    std::function<std::unique_ptr<api::Auth>(const ServeFlags& flags)> make_auth;
    // On the loop thread: installs the reloaded settings; `auth` is null when it stays.
    std::function<void(const ServeFlags& flags, std::shared_ptr<api::Auth> auth)> apply;
  };

  // `running`: the settings in use; `cli_base`: the command line's (before the file);
  // `cli_given`: keys given on the command line; `robot`: the robot.yaml in use.
  ServeReloader(ServeFlags running, ServeFlags cli_base, std::set<std::string> cli_given,
                const config::RobotYaml& robot, exec::Dispatcher* dispatcher,
                exec::WorkQueue* blocking, Hooks hooks);
  ~ServeReloader();
  ServeReloader(const ServeReloader&) = delete;
  ServeReloader& operator=(const ServeReloader&) = delete;

  // Loop thread: SIGHUP on `loop` starts a reload; results come back through `poster`.
  void Start(uv_loop_t* loop, std::shared_ptr<loop::LoopPoster> poster);
  // Loop thread: stops listening for SIGHUP (on drain, before the loop ends). Idempotent.
  void Stop();
  // Loop thread: what SIGHUP does. A SIGHUP during a reload runs one more after it.
  void Reload();

 private:
  struct State;
  static void Run(std::shared_ptr<State> st);

  std::shared_ptr<State> state_;  // shared with the reload running on the WorkQueue
  loop::SignalWatcher hup_;
};

}  // namespace robotni::service

#endif  // ROBOTNI_RUNTIME_SERVICE_SERVE_RELOAD_H_
