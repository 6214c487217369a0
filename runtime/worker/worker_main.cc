#include "worker/worker_main.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/base64.h"
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

// A robot task's work items (the robocorp BaseAdapter contract), each call a question to
// the control process, which answers it on its QueueBinding: the store stays there.
// Round trips are what a worker's item costs, so the common loop (reserve, read the
// payload, create outputs, release) takes two per item, not five: a reserve brings the
// item's payload and file names, read here afterwards, and a release brings the next
// input reserved ahead, which the next reserve takes without asking (it only tells the
// control process, one way, so an item taken is never given back unspent).
class ChannelWorkItems : public python::WorkItemBackend {
 public:
  ChannelWorkItems(Channel* channel, std::string input_queue, std::string output_queue)
      : channel_(channel), input_(std::move(input_queue)), output_(std::move(output_queue)) {}
  std::string input_queue() const override { return input_; }
  std::string output_queue() const override { return output_; }
  StatusOr<std::optional<std::string>> ReserveInput() override {
    std::optional<Loaded> next;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!ahead_.empty()) {
        next = std::move(ahead_.front());
        ahead_.pop_front();
      }
    }
    if (next) {
      ROBOTNI_RETURN_IF_ERROR(channel_->Send({{"t", "wi_took"}, {"id", next->id}}));
    } else {
      auto r = Call({{"m", "reserve"}});
      if (!r.ok()) return r.status();
      if (!r->is_object()) return std::optional<std::string>();
      next = Parse(*r);
    }
    std::string id = next->id;
    std::lock_guard<std::mutex> l(mu_);
    loaded_[id] = std::move(*next);
    return std::optional<std::string>(std::move(id));
  }
  Status ReleaseInput(const std::string& id, const Release& release) override {
    json m = {{"m", "release"},
              {"id", id},
              {"done", release.done},
              {"type", store::ExceptionTypeName(release.type)}};
    if (release.code) m["code"] = *release.code;
    if (release.message) m["message"] = *release.message;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (ahead_.empty()) m["next"] = true;
    }
    json reply;
    ROBOTNI_RETURN_IF_ERROR(Call(m, &reply).status());
    std::lock_guard<std::mutex> l(mu_);
    loaded_.erase(id);
    if (auto n = reply.find("next"); n != reply.end() && n->is_object())
      ahead_.push_back(Parse(*n));
    return Status::OK();
  }
  StatusOr<std::string> CreateOutput(const std::string& parent_id,
                                     std::string payload_json) override {
    return String(Call({{"m", "create_output"}, {"id", parent_id}, {"payload", payload_json}}));
  }
  StatusOr<std::string> LoadPayload(const std::string& id) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (auto it = loaded_.find(id); it != loaded_.end() && it->second.payload)
        return *it->second.payload;
    }
    return String(Call({{"m", "load_payload"}, {"id", id}}));
  }
  Status SavePayload(const std::string& id, std::string payload_json) override {
    ROBOTNI_RETURN_IF_ERROR(
        Call({{"m", "save_payload"}, {"id", id}, {"payload", payload_json}}).status());
    std::lock_guard<std::mutex> l(mu_);
    if (auto it = loaded_.find(id); it != loaded_.end()) it->second.payload = payload_json;
    return Status::OK();
  }
  StatusOr<std::vector<std::string>> ListFiles(const std::string& id) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (auto it = loaded_.find(id); it != loaded_.end() && it->second.files)
        return *it->second.files;
    }
    auto r = Call({{"m", "list_files"}, {"id", id}});
    if (!r.ok()) return r.status();
    return r->is_array() ? r->get<std::vector<std::string>>() : std::vector<std::string>{};
  }
  StatusOr<std::string> GetFile(const std::string& id, const std::string& name) override {
    auto b64 = String(Call({{"m", "get_file"}, {"id", id}, {"name", name}}));
    if (!b64.ok()) return b64.status();
    std::string bytes;
    if (!Base64Decode(*b64, &bytes)) return Status::IOError("worker protocol: bad file content");
    return bytes;
  }
  Status AddFile(const std::string& id, const std::string& name, std::string content) override {
    ForgetFiles(id);
    return Call({{"m", "add_file"}, {"id", id}, {"name", name}, {"b64", Base64Encode(content)}})
        .status();
  }
  Status RemoveFile(const std::string& id, const std::string& name) override {
    ForgetFiles(id);
    return Call({{"m", "remove_file"}, {"id", id}, {"name", name}}).status();
  }
  Status Flush() override { return Call({{"m", "flush"}}).status(); }

 private:
  // What a reserve brought of an input the task holds; nullopt once it may have changed.
  struct Loaded {
    std::string id;
    std::optional<std::string> payload;
    std::optional<std::vector<std::string>> files;
  };
  static Loaded Parse(const json& j) {
    Loaded l;
    l.id = j.value("id", "");
    if (auto p = j.find("payload"); p != j.end() && p->is_string())
      l.payload = p->get<std::string>();
    if (auto f = j.find("files"); f != j.end() && f->is_array())
      l.files = f->get<std::vector<std::string>>();
    return l;
  }
  void ForgetFiles(const std::string& id) {
    std::lock_guard<std::mutex> l(mu_);
    if (auto it = loaded_.find(id); it != loaded_.end()) it->second.files.reset();
  }
  // The reply's value; `whole` (when given) gets the whole reply.
  StatusOr<json> Call(json m, json* whole = nullptr) {
    m["t"] = "wi";
    auto reply = channel_->Call(m);
    if (!reply.ok()) return reply.status();
    Status s = StatusFromJson(reply->value("status", json::object()));
    if (!s.ok()) return s;
    json value = reply->value("value", json());
    if (whole) *whole = std::move(*reply);
    return value;
  }
  static StatusOr<std::string> String(StatusOr<json> r) {
    if (!r.ok()) return r.status();
    return r->is_string() ? r->get<std::string>() : std::string();
  }
  Channel* channel_;
  std::string input_, output_;
  std::mutex mu_;
  std::deque<Loaded> ahead_;                        // reserved with a release, not taken yet
  std::unordered_map<std::string, Loaded> loaded_;  // inputs handed out, not released
};

// A robot task's output goes to the control process as it is written.
class ChannelTaskContext : public python::TaskContext {
 public:
  ChannelTaskContext(Channel* channel, std::unique_ptr<ChannelWorkItems> work_items)
      : channel_(channel), work_items_(std::move(work_items)) {}
  void Write(int stream, std::string_view text) override {
    (void)channel_->Send({{"t", "out"}, {"s", stream}, {"x", std::string(text)}});
  }
  python::WorkItemBackend* work_items() override { return work_items_.get(); }

 private:
  Channel* channel_;
  std::unique_ptr<ChannelWorkItems> work_items_;
};

python::TaskSpec SpecFrom(const json& j) {
  python::TaskSpec spec;
  std::string mode = j.value("mode", "script");
  spec.command.mode = mode == "module" ? python::PythonCommand::Mode::kModule
                      : mode == "code" ? python::PythonCommand::Mode::kCode
                                       : python::PythonCommand::Mode::kScript;
  spec.command.target = j.value("target", "");
  spec.command.argv = j.value("argv", std::vector<std::string>{});
  spec.path_prepend = j.value("path", std::vector<std::string>{});
  for (const auto& kv : j.value("environ", json::array()))
    if (kv.is_array() && kv.size() == 2 && kv[0].is_string() && kv[1].is_string())
      spec.environ.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
  spec.timeout_seconds = j.value("timeout", 0.0);
  return spec;
}

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

// SIGINT from the control process (its Runtime::Interrupt): KeyboardInterrupt in the robot
// task running here. The handler only writes to a pipe; a thread does the rest.
std::atomic<python::Interpreter*> g_task_interp{nullptr};
int g_interrupt_pipe[2] = {-1, -1};

void OnInterrupt(int) {
  char b = 1;
  (void)!write(g_interrupt_pipe[1], &b, 1);
}

void WatchInterrupts() {
  if (pipe2(g_interrupt_pipe, O_CLOEXEC) != 0) return;
  std::thread([] {
    char b;
    for (;;) {
      ssize_t n = read(g_interrupt_pipe[0], &b, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n != 1) return;
      if (python::Interpreter* i = g_task_interp.load()) i->Interrupt();
    }
  }).detach();
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
}

[[noreturn]] void Leave(int code) {
  fflush(stdout);
  fflush(stderr);
  _exit(code);
}

}  // namespace

int WorkerMain(int fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGTERM, SIG_IGN);
  WatchInterrupts();
  signal(SIGPIPE, SIG_IGN);
  Channel channel(fd);
  json init;
  if (!channel.Read(&init).ok() || init.value("t", "") != "init") Leave(2);
  exec::PythonJobsConfig config = ConfigFrom(init.value("config", json::object()));
  uint64_t generation = init.value("generation", uint64_t{0});

  json hello = {{"t", "hello"}, {"pid", getpid()}, {"protocol", kWorkerProtocol}};
  python::InterpreterPool pool(python::InterpreterPool::Options{1, 1});
  const int protocol = init.value("protocol", 1);
  Status started =
      protocol == kWorkerProtocol
          ? python::InterpreterHost::Start()
          : Status::Unsupported("this worker (" + std::string(ROBOTNI_VERSION) +
                                ") speaks worker protocol " + std::to_string(kWorkerProtocol) +
                                ", its control process " + std::to_string(protocol) +
                                ": they are different versions of robotni");
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

  std::unique_ptr<python::Interpreter> task_interp;  // robot tasks: the main interpreter
  for (;;) {
    json m;
    if (!channel.Read(&m).ok()) Leave(0);  // the control process closed the stream
    if (m.value("t", "") == "task") {
      json done = {{"t", "task_done"}};
      if (!task_interp) {
        auto created = python::Interpreter::Create(python::Interpreter::Kind::kMain);
        if (!created.ok()) {
          done["exit_code"] = 1;
          done["outcome"] = static_cast<int>(python::TaskResult::Outcome::kHostError);
          done["detail"] = created.status().message();
          if (!channel.Send(done).ok()) Leave(0);
          continue;
        }
        task_interp = std::move(created).value();
        g_task_interp = task_interp.get();
      }
      std::unique_ptr<ChannelWorkItems> items;
      if (m.value("work_items", false))
        items = std::make_unique<ChannelWorkItems>(&channel, m.value("input_queue", ""),
                                                   m.value("output_queue", ""));
      ChannelTaskContext context(&channel, std::move(items));
      python::TaskResult r = task_interp->Run(SpecFrom(m.value("spec", json::object())), &context);
      done["exit_code"] = r.exit_code;
      done["outcome"] = static_cast<int>(r.outcome);
      done["detail"] = r.detail;
      if (!channel.Send(done).ok()) Leave(0);
      continue;
    }
    if (m.value("t", "") != "run") continue;
    // A run of jobs, run one after another on the interpreter's thread with one hand-off
    // for all; each one's outcome is sent as soon as it ends (so a death is blamed on the
    // job it happened in).
    const json jobs = m.value("jobs", json::array());
    size_t k = 0;
    std::optional<ChannelJob> job;
    // The job's output streams to the control process as it is written (up to max_output
    // per stream: a flood costs no more), so a job whose worker dies keeps what it printed.
    int64_t sent[3] = {0, 0, 0};  // guarded by the capture's lock, which calls the sink
    exec::RunPythonJobs(
        &pool, config, generation,
        [&](exec::PythonJobSpec* s) {
          if (k >= jobs.size()) return false;
          static const json kNone = json::object();  // a job is answered even when malformed
          const json& j = jobs[k].is_object() ? jobs[k] : kNone;
          job.emplace(&channel, ItemFrom(j.value("item", json::object())));
          sent[1] = sent[2] = 0;
          s->job = &*job;
          s->timeout = j.value("timeout", 0.0);
          s->max_output_bytes = j.value("max_output_bytes", int64_t{-1});
          s->on_output = [&channel, &sent, max = s->max_output_bytes](int stream,
                                                                      std::string_view text) {
            int st = stream == 2 ? 2 : 1;
            size_t take = max < 0 ? text.size()
                                  : std::min<size_t>(
                                        text.size(),
                                        static_cast<size_t>(std::max<int64_t>(0, max - sent[st])));
            if (take == 0) return;
            sent[st] += static_cast<int64_t>(take);
            (void)channel.Send({{"t", "out"}, {"s", st}, {"x", std::string(text.substr(0, take))}});
          };
          return true;
        },
        [&](exec::PythonJobRun run) {
          json done = {{"t", "done"},
                       {"outcome", job->outcome()},
                       {"log", std::move(run.log)},
                       {"timed_out", run.timed_out},
                       {"why", run.why}};
          if (!channel.Send(done).ok()) Leave(0);
          ++k;
        });
  }
}

}  // namespace robotni::worker
