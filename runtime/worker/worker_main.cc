#include "worker/worker_main.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>

#include "exec/job_type.h"
#include "exec/python_jobs.h"
#include "python/interpreter.h"
#include "python/interpreter_pool.h"
#include "worker/frame.h"

namespace robotni::worker {

namespace {

using json = nlohmann::json;

// The stream to the control process. Writes come from the job's thread and from threads
// it starts; a call (is_cancelled) holds the lock until its answer arrives, which works
// because the control process only ever answers during a job.
class Channel {
 public:
  explicit Channel(int fd) : fd_(fd) {}
  Status Send(const json& m) {
    std::lock_guard<std::mutex> l(mu_);
    return WriteFrame(fd_, m);
  }
  StatusOr<json> Call(const json& m) {
    std::lock_guard<std::mutex> l(mu_);
    ROBOTNI_RETURN_IF_ERROR(WriteFrame(fd_, m));
    json reply;
    ROBOTNI_RETURN_IF_ERROR(ReadFrame(fd_, &reader_, &reply));
    return reply;
  }
  Status Read(json* m) { return ReadFrame(fd_, &reader_, m); }

 private:
  int fd_;
  std::mutex mu_;
  FrameReader reader_;
};

// The job API (`from robotni import run`) of one job, over the channel.
class ChannelJob : public python::JobBackend {
 public:
  ChannelJob(Channel* channel, store::Item item) : channel_(channel), item_(std::move(item)) {}
  const store::Item& item() const override { return item_; }
  Status Heartbeat(double seconds) override {
    return channel_->Send({{"t", "heartbeat"}, {"seconds", seconds}});
  }
  StatusOr<bool> IsCancelled() override {
    auto reply = channel_->Call({{"t", "is_cancelled"}});
    if (!reply.ok()) return reply.status();
    return reply->value("value", false);
  }
  Status Progress(const std::string& message) override {
    return channel_->Send({{"t", "progress"}, {"message", message}});
  }
  void SetResult(std::string result_json) override {
    outcome_ = {{"ok", true}, {"result", std::move(result_json)}};
  }
  void SetFailure(store::ExceptionType type, std::string code, std::string message,
                  std::string traceback) override {
    outcome_ = {{"ok", false},
                {"exception_type", store::ExceptionTypeName(type)},
                {"code", std::move(code)},
                {"message", std::move(message)},
                {"traceback", std::move(traceback)}};
  }
  const json& outcome() const { return outcome_; }  // null when nothing was reported

 private:
  Channel* channel_;
  store::Item item_;
  json outcome_;
};

exec::PythonJobsConfig ConfigFrom(const json& c) {
  exec::PythonJobsConfig config;
  config.robot_key = c.value("robot_key", "");
  config.robot_root = c.value("robot_root", "");
  config.job_modules = c.value("job_modules", std::vector<std::string>{});
  config.sys_path = c.value("sys_path", std::vector<std::string>{});
  config.environ_keys_values = c.value("environ", std::vector<std::string>{});
  config.kind = c.value("kind", "main") == "subinterpreter"
                    ? python::Interpreter::Kind::kSubinterpreter
                    : python::Interpreter::Kind::kMain;
  config.max_output_bytes = c.value("max_output_bytes", int64_t{-1});
  return config;
}

store::Item ItemFrom(const json& j) {
  store::Item item;
  item.id = j.value("id", "");
  item.queue = j.value("type", "");
  item.payload_json = j.value("payload", "{}");
  item.attempt = j.value("attempt", 0);
  item.max_attempts = j.value("max_attempts", 0);
  return item;
}

[[noreturn]] void Leave(int code) {
  fflush(stdout);
  fflush(stderr);
  _exit(code);
}

}  // namespace

int WorkerMain(int fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  Channel channel(fd);
  json init;
  if (!channel.Read(&init).ok() || init.value("t", "") != "init") Leave(2);
  exec::PythonJobsConfig config = ConfigFrom(init.value("config", json::object()));
  uint64_t generation = init.value("generation", uint64_t{0});

  json hello = {{"t", "hello"}, {"pid", getpid()}};
  python::InterpreterPool pool(python::InterpreterPool::Options{1, 1});
  Status started = python::InterpreterHost::Start();
  if (started.ok()) {
    auto types = exec::LoadPythonJobTypes(&pool, config, generation);
    if (types.ok())
      hello["types"] = exec::JobTypesToJson(*types);
    else
      hello["error"] = types.status().message();
  } else {
    hello["error"] = started.message();
  }
  if (!channel.Send(hello).ok() || hello.contains("error")) Leave(hello.contains("error") ? 3 : 0);

  for (;;) {
    json m;
    if (!channel.Read(&m).ok()) Leave(0);  // the control process closed the stream
    if (m.value("t", "") != "run") continue;
    ChannelJob job(&channel, ItemFrom(m.value("item", json::object())));
    exec::PythonJobRun run =
        exec::RunPythonJob(&pool, config, generation, &job, m.value("timeout", 0.0));
    json done = {{"t", "done"},
                 {"outcome", job.outcome()},
                 {"log", std::move(run.log)},
                 {"timed_out", run.timed_out},
                 {"why", run.why}};
    if (!channel.Send(done).ok()) Leave(0);
  }
}

}  // namespace robotni::worker
