#ifndef ROBOTNI_RUNTIME_SERVICE_HTTP_SERVICE_H_
#define ROBOTNI_RUNTIME_SERVICE_HTTP_SERVICE_H_

// HttpService: the HTTP side of a running runtime. One libuv loop owns the listening socket,
// the webhooks sender, signals (when asked) and the SIGHUP reloader; the job API, the
// Action Server work-items API, the dashboard, /metrics and /openapi.json answer on it;
// robot.yaml consumer tasks run beside the dispatcher. What `robotni serve` is, and what
// Runtime::StartServing / Serve / ServeOnHostLoop run.
//
// Thread-safety: Create, Run, RunOnce, BackendFd and BackendTimeout run on the thread that
// drives the loop; RequestStop may be called from any thread; the destructor runs on the
// loop's thread after the loop stopped.

#include <uv.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>

#include "config/robot_yaml.h"
#include "config/serve_settings.h"
#include "exec/dispatcher.h"
#include "exec/task_env.h"
#include "python/interpreter_pool.h"
#include "store/store.h"

namespace robotni::service {

struct HttpServiceParts {
  store::WorkItemStore* store = nullptr;
  std::string store_url;
  exec::Dispatcher* dispatcher = nullptr;
  python::InterpreterPool* pool = nullptr;
  const config::RobotYaml* robot = nullptr;
  exec::Environment env;  // the robot's environment (host + robot.yaml)
  std::string owner;
  python::Interpreter::Kind kind = python::Interpreter::Kind::kSubinterpreter;
  // Tokens given as values ("read:TOKEN", ...), besides the token file.
  std::vector<std::string> tokens;
  bool handle_signals = false;  // SIGTERM / SIGINT drain and stop; SIGHUP reloads
};

class HttpService {
 public:
  // Binds the listening socket and starts the consumer tasks. `settings`: the merged serve
  // settings; `cli_given`: keys a SIGHUP reload keeps.
  static StatusOr<std::unique_ptr<HttpService>> Create(HttpServiceParts parts,
                                                       const config::ServeFlags& settings,
                                                       const std::set<std::string>& cli_given);
  ~HttpService();
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  // "HOST:PORT" as bound (the port chosen when 0 was asked).
  const std::string& address() const { return address_; }
  // Runs the loop until the service stopped.
  void Run();
  // One non-blocking turn of the loop; false once the service stopped.
  bool RunOnce();
  int BackendFd();
  int BackendTimeout();
  // Any thread: drains (running jobs get the grace, the rest go back) and stops, as
  // SIGTERM does. Returns at once; the loop ends when the drain is done.
  void RequestStop();
  bool stopped() const { return stopped_; }

  struct State;

 private:
  explicit HttpService(std::unique_ptr<State> state);
  std::unique_ptr<State> st_;
  std::string address_;
  std::atomic<bool> stopped_{false};
};

}  // namespace robotni::service

#endif  // ROBOTNI_RUNTIME_SERVICE_HTTP_SERVICE_H_
