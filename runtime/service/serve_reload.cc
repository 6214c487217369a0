#include "service/serve_reload.h"

#include <algorithm>
#include <csignal>

#include "core/log.h"

namespace robotni::service {

using config::ApplyServeConfig;
using config::ApplyServeEnvironment;
using config::KeepRestartOnly;
using config::RestartOnlyChanges;
using config::ValidateServeFlags;

namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::vector<std::string> TypeNames(const exec::Dispatcher& d) {
  std::vector<std::string> out;
  for (const auto& t : d.types()) out.push_back(t.name);
  return out;
}

// Elements of `a` not in `b` (both small).
std::vector<std::string> Minus(const std::vector<std::string>& a,
                               const std::vector<std::string>& b) {
  std::vector<std::string> out;
  for (const auto& x : a)
    if (std::find(b.begin(), b.end(), x) == b.end()) out.push_back(x);
  return out;
}

// What of robot.yaml the running service took at start and cannot change.
struct RobotSnapshot {
  std::string isolation;
  std::vector<std::string> path, pythonpath, jobs;
  explicit RobotSnapshot(const config::RobotYaml& r)
      : isolation(r.isolation),
        path(r.path_entries),
        pythonpath(r.pythonpath),
        jobs(r.job_modules) {}
  bool operator==(const RobotSnapshot&) const = default;
};

}  // namespace

struct ServeReloader::State {
  // Loop thread only.
  ServeFlags running;
  bool busy = false, again = false;
  // Read-only after construction.
  ServeFlags cli_base;
  std::set<std::string> cli_given;
  RobotSnapshot robot;
  exec::Dispatcher* dispatcher;
  exec::WorkQueue* blocking;
  Hooks hooks;
  std::shared_ptr<loop::LoopPoster> poster;  // set by Start
};

ServeReloader::ServeReloader(ServeFlags running, ServeFlags cli_base,
                             std::set<std::string> cli_given, const config::RobotYaml& robot,
                             exec::Dispatcher* dispatcher, exec::WorkQueue* blocking, Hooks hooks)
    : state_(new State{std::move(running), false, false, std::move(cli_base), std::move(cli_given),
                       RobotSnapshot(robot), dispatcher, blocking, std::move(hooks), nullptr}) {}

ServeReloader::~ServeReloader() { Stop(); }

void ServeReloader::Start(uv_loop_t* loop, std::shared_ptr<loop::LoopPoster> poster) {
  state_->poster = std::move(poster);
  hup_.Start(loop, {SIGHUP}, [this](int) { Reload(); });
}

void ServeReloader::Stop() {
  if (!hup_.watching()) return;
  hup_.Stop();
  // libuv put back the default action, which would kill a draining server: ignore SIGHUP.
  signal(SIGHUP, SIG_IGN);
}

void ServeReloader::Reload() { Run(state_); }

void ServeReloader::Run(std::shared_ptr<State> st) {
  if (st->busy) {
    st->again = true;
    return;
  }
  st->busy = true;
  log::Info("SIGHUP: reloading", {{"event", "reload_started"}});
  ServeFlags running = st->running;
  st->blocking->Submit([st, running] {
    // Off the loop: files, imports and the token file may take a while.
    int errors = 0;
    ServeFlags next = st->cli_base;
    if (!running.config.empty()) {
      Status s = ApplyServeConfig(running.config, st->cli_given, &next);
      ApplyServeEnvironment(st->cli_given, &next);
      if (s.ok()) s = ValidateServeFlags(next);
      if (!s.ok()) {
        ++errors;
        log::Error("reload: " + s.message() + "; the running settings stay",
                   {{"event", "reload_failed"}, {"part", "config"}, {"error", s.message()}});
        next = running;
      }
    } else {
      next = running;
    }
    if (auto changed = RestartOnlyChanges(running, next); !changed.empty()) {
      log::Warn("reload: " + Join(changed) + " changed; that needs a restart (kept as running)",
                {{"event", "reload_needs_restart"}, {"settings", changed}});
      KeepRestartOnly(running, &next);
    }

    auto robot = config::LoadRobotYaml(next.robot);
    Status rs = robot.ok() ? config::ValidateRobotYaml(*robot) : robot.status();
    if (!rs.ok()) {
      ++errors;
      log::Error("reload: robot.yaml: " + rs.message(),
                 {{"event", "reload_failed"}, {"part", "robot"}, {"error", rs.message()}});
    } else if (!(RobotSnapshot(*robot) == st->robot)) {
      log::Warn(
          "reload: robot.yaml's isolation, PATH, PYTHONPATH or jobs changed; that needs a "
          "restart",
          {{"event", "reload_needs_restart"}, {"settings", {"robot.yaml"}}});
    }

    std::vector<std::string> before = TypeNames(*st->dispatcher);
    if (Status s = st->dispatcher->LoadJobTypes(); !s.ok()) {
      ++errors;
      log::Error(
          "reload: job types: " + s.message() + "\nkeeping the running job types: " + Join(before),
          {{"event", "reload_failed"},
           {"part", "job_types"},
           {"error", s.message()},
           {"types", before}});
    } else {
      std::vector<std::string> after = TypeNames(*st->dispatcher);
      log::Info("reload: job types: " + (after.empty() ? std::string("none") : Join(after)),
                {{"event", "job_types_loaded"},
                 {"types", after},
                 {"added", Minus(after, before)},
                 {"removed", Minus(before, after)}});
    }

    std::shared_ptr<api::Auth> auth;
    if (st->hooks.make_auth) {
      auth = st->hooks.make_auth(next);
      if (!auth) ++errors;  // make_auth logged why; the running tokens stay
    }
    bool posted = st->poster->Post([st, next, auth, errors] {
      st->running = next;
      if (st->hooks.apply) st->hooks.apply(next, auth);
      log::Write(errors ? log::Level::kWarn : log::Level::kInfo,
                 errors ? "reload finished with " + std::to_string(errors) + " error(s)"
                        : std::string("reload finished"),
                 {{"event", "reload_finished"}, {"errors", errors}});
      st->busy = false;
      if (st->again) {  // a SIGHUP came meanwhile: the files may have changed again
        st->again = false;
        Run(st);
      }
    });
    if (!posted) log::Info("reload: the server stopped meanwhile; nothing applied");
  });
}

}  // namespace robotni::service
