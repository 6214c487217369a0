// robotni._native: the host-facing Python module. A Python program (a web app, a notebook,
// a test suite) imports `robotni` and opens a robotni.Runtime in its own process; robotni's
// tasks and job types still run in robotni's sub-interpreters on robotni's threads.
//
// Rules this file follows (STYLE.md, "Python 3.11 + pybind11 2.10.3"):
// - It is imported only in the host's main interpreter: a pybind11 module deadlocks when
//   first imported in a 3.11 sub-interpreter (robotni/__init__.py refuses that).
// - Every call into the Runtime is made with the GIL released (py::gil_scoped_release):
//   robotni's threads need the GIL to run Python. Nothing here calls Python from a robotni
//   thread, so there is no gil_scoped_acquire / PyGILState anywhere.
// - C++ types never escape: Status errors become robotni.RobotniError (or a subclass) with
//   the runtime's message and .code; payloads and results are JSON-converted Python objects.
//
// Thread-safety: a robotni.Runtime may be used from several Python threads at once; close()
// waits for the calls in progress on other threads (a reader/writer lock taken with the GIL
// released, so a waiting close() never blocks the other threads' Python).

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "robotni/runtime.h"
#include "robotni/status.h"

namespace py = pybind11;

namespace robotni {
namespace pyhost {
namespace {

// The exception classes, created once at import. The module is imported once per process,
// in the main interpreter only (see the header comment), so process-wide handles are right
// here; they are never released (the classes live as long as the interpreter).
struct Errors {
  py::handle base;              // robotni.RobotniError(RuntimeError)
  py::handle not_found;         // robotni.NotFoundError(RobotniError)
  py::handle invalid_argument;  // robotni.InvalidArgumentError(RobotniError, ValueError)
  py::handle busy;              // robotni.BusyError(RobotniError)
};
Errors g_errors;

// Raises the Python exception for a non-OK status (the GIL must be held).
[[noreturn]] void Raise(const Status& s) {
  py::handle cls = g_errors.base;
  if (s.code() == Status::Code::kNotFound) cls = g_errors.not_found;
  if (s.code() == Status::Code::kInvalidArgument) cls = g_errors.invalid_argument;
  if (s.code() == Status::Code::kBusy) cls = g_errors.busy;
  py::object exc = cls(s.message());
  exc.attr("code") = py::str(Status::CodeName(s.code()));
  PyErr_SetObject(cls.ptr(), exc.ptr());
  throw py::error_already_set();
}

[[noreturn]] void RaiseClosed() { Raise(Status::Cancelled("the runtime is closed")); }

template <typename T>
T ValueOrRaise(StatusOr<T>&& v) {
  if (!v.ok()) Raise(v.status());
  return std::move(v).value();
}

// str, bytes or os.PathLike -> a file-system string; None -> "".
std::string FsString(const py::object& o) {
  if (o.is_none()) return "";
  py::object p = py::module_::import("os").attr("fsdecode")(o);
  return p.cast<std::string>();
}

std::vector<std::string> FsStrings(const py::object& o, const char* what) {
  std::vector<std::string> out;
  if (o.is_none()) return out;
  if (py::isinstance<py::str>(o) || py::isinstance<py::bytes>(o))
    throw py::type_error(std::string(what) + ": expected a list of strings, got a string");
  for (py::handle h : o) out.push_back(FsString(py::reinterpret_borrow<py::object>(h)));
  return out;
}

std::string JsonDumps(const py::object& o) {
  return py::module_::import("json").attr("dumps")(o).cast<std::string>();
}

// JSON text -> a Python object; text that is not JSON is given back as a str.
py::object JsonLoads(const std::string& text) {
  if (text.empty()) return py::none();
  try {
    return py::module_::import("json").attr("loads")(py::str(text));
  } catch (py::error_already_set&) {
    return py::str(text);
  }
}

py::dict ItemDict(const ItemInfo& info) {
  py::dict d = JsonLoads(info.ToJson());
  d["finished"] = py::bool_(info.finished());
  return d;
}

// A datetime (naive = local time, like datetime.timestamp) or epoch seconds -> epoch ms.
int64_t RunAtMs(const py::object& run_at) {
  if (run_at.is_none()) return 0;
  double seconds;
  if (py::isinstance<py::int_>(run_at) || py::isinstance<py::float_>(run_at)) {
    seconds = run_at.cast<double>();
  } else if (py::hasattr(run_at, "timestamp")) {
    seconds = run_at.attr("timestamp")().cast<double>();
  } else {
    throw py::type_error("run_at: expected a datetime or epoch seconds");
  }
  if (!std::isfinite(seconds) || seconds < 0)
    Raise(Status::InvalidArgument("run_at: expected a datetime or epoch seconds >= 0"));
  return static_cast<int64_t>(std::llround(seconds * 1000.0));
}

std::map<std::string, std::string> Files(const py::object& files) {
  std::map<std::string, std::string> out;
  if (files.is_none()) return out;
  for (auto [k, v] : files.cast<py::dict>()) {
    std::string name = py::str(k);
    if (py::isinstance<py::bytes>(v) || py::isinstance<py::bytearray>(v) ||
        py::isinstance<py::memoryview>(v)) {
      out[name] = py::bytes(py::reinterpret_borrow<py::object>(v)).cast<std::string>();
    } else if (py::isinstance<py::str>(v)) {
      out[name] = v.cast<std::string>();  // UTF-8
    } else {
      throw py::type_error("files['" + name + "']: expected bytes or str");
    }
  }
  return out;
}

std::map<std::string, std::string> StringMap(const py::object& o, const char* what) {
  std::map<std::string, std::string> out;
  if (o.is_none()) return out;
  for (auto [k, v] : o.cast<py::dict>()) {
    if (!py::isinstance<py::str>(k) || !py::isinstance<py::str>(v))
      throw py::type_error(std::string(what) + ": expected a dict of str to str");
    out[k.cast<std::string>()] = v.cast<std::string>();
  }
  return out;
}

// The runtime behind a robotni.Runtime, shared with the atexit hook so that the hook can
// close it even if the Python object goes away meanwhile.
struct Held {
  std::shared_mutex mu;  // shared: a call in progress; exclusive: close. Never taken with
                         // the GIL held (a caller holds it while re-taking the GIL).
  std::unique_ptr<Runtime> rt;

  // With the GIL released.
  Status Close() {
    std::unique_ptr<Runtime> closing;
    {
      std::unique_lock<std::shared_mutex> l(mu);
      closing = std::move(rt);
    }
    if (!closing) return Status::OK();
    Status s = closing->Close();
    closing.reset();
    return s;
  }
};

// Every open runtime, closed by the atexit hook before CPython finalises (robotni's threads
// cannot take the GIL once finalisation has begun). Touched with the GIL held.
std::set<std::shared_ptr<Held>>& Live() {
  static auto* live = new std::set<std::shared_ptr<Held>>;
  return *live;
}

// robotni.Runtime: owns one robotni::Runtime.
class PyRuntime {
 public:
  explicit PyRuntime(std::unique_ptr<Runtime> rt) : held_(std::make_shared<Held>()) {
    held_->rt = std::move(rt);
    Live().insert(held_);
  }
  ~PyRuntime() {
    // From tp_dealloc, with the GIL held: closing joins robotni's threads, which may need
    // the GIL to end their interpreters, so it is released (only when there is work).
    Live().erase(held_);
    if (held_.use_count() == 1 && held_->rt == nullptr) return;  // closed, nobody else uses it
    py::gil_scoped_release release;
    (void)held_->Close();
  }
  PyRuntime(const PyRuntime&) = delete;
  PyRuntime& operator=(const PyRuntime&) = delete;

  // Runs fn(Runtime&) with the GIL released and the runtime kept open meanwhile.
  template <typename Fn>
  auto Call(Fn&& fn) {
    std::shared_ptr<Held> held = held_;
    std::shared_lock<std::shared_mutex> l(held->mu, std::defer_lock);
    bool open;
    {
      py::gil_scoped_release release;
      l.lock();
      open = held->rt != nullptr;
    }
    if (!open) RaiseClosed();
    py::gil_scoped_release release;
    return fn(*held->rt);
  }

  void Close() {
    Status s;
    {
      py::gil_scoped_release release;
      s = held_->Close();
    }
    Live().erase(held_);
    if (!s.ok()) Raise(s);
  }

  bool closed() {
    py::gil_scoped_release release;
    std::shared_lock<std::shared_mutex> l(held_->mu);
    return held_->rt == nullptr;
  }

  std::string address;  // where serve() listens; "" = not serving (guarded by the GIL)

 private:
  std::shared_ptr<Held> held_;
};

std::unique_ptr<PyRuntime> OpenRuntime(const py::object& store, const py::object& robot,
                                       const py::object& isolation, int concurrency,
                                       const py::object& job_modules, const py::object& types,
                                       const py::object& consumer_tasks,
                                       double consumer_task_timeout, const py::object& owner,
                                       const std::string& log, const std::string& log_level,
                                       const std::string& log_format) {
  RuntimeOptions o;
  o.store = FsString(store);
  o.robot = FsString(robot);
  o.isolation = isolation.is_none() ? "" : isolation.cast<std::string>();
  o.concurrency = concurrency;
  o.job_modules = FsStrings(job_modules, "job_modules");
  o.types = FsStrings(types, "types");
  o.consumer_tasks = FsStrings(consumer_tasks, "consumer_tasks");
  o.consumer_task_timeout = consumer_task_timeout;
  o.owner = owner.is_none() ? "" : owner.cast<std::string>();
  o.log_level = log_level;
  o.log_format = log_format;
  if (log == "stderr") {
    // Written from robotni's threads without touching Python.
    o.log = [](std::string_view level, std::string_view line) {
      std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
    };
  } else if (!log.empty() && log != "none") {
    Raise(Status::InvalidArgument("log: expected None, 'none' or 'stderr', got '" + log + "'"));
  }
  StatusOr<std::unique_ptr<Runtime>> rt = Status::OK();
  {
    py::gil_scoped_release release;
    rt = Runtime::Open(o);
  }
  return std::make_unique<PyRuntime>(ValueOrRaise(std::move(rt)));
}

py::dict OutcomeDict(const TaskOutcome& t) {
  py::dict d;
  d["exit_code"] = t.exit_code;
  d["ok"] = t.ok();
  d["message"] = py::str(t.message);
  // Task output is text the task wrote; undecodable bytes are replaced, not fatal.
  auto text = [](const std::string& s) {
    return py::reinterpret_steal<py::object>(
        PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace"));
  };
  d["stdout"] = text(t.stdout_text);
  d["stderr"] = text(t.stderr_text);
  d["seconds"] = t.seconds;
  return d;
}

void ClosePyRuntimesAtExit() {
  std::vector<std::shared_ptr<Held>> live(Live().begin(), Live().end());
  Live().clear();
  py::gil_scoped_release release;
  for (auto& held : live) (void)held->Close();
}

}  // namespace
}  // namespace pyhost
}  // namespace robotni

PYBIND11_MODULE(_native, m) {
  using robotni::pyhost::PyRuntime;
  namespace ph = robotni::pyhost;
  m.doc() = "robotni's host API: open a robotni runtime inside a Python program "
            "(docs/python-host.md). Import it as `robotni`, not directly.";

  auto make = [&m](const char* name, const char* doc, py::handle bases) {
    std::string dotted = std::string("robotni.") + name;
    PyObject* cls = PyErr_NewExceptionWithDoc(dotted.c_str(), doc, bases.ptr(), nullptr);
    if (!cls) throw py::error_already_set();
    m.add_object(name, py::handle(cls));  // the module keeps a reference too
    return py::handle(cls);               // and this one is never released
  };
  ph::g_errors.base = make("RobotniError",
                           "A robotni runtime error: str(e) is the runtime's message, e.code "
                           "the status code's name (NotFound, InvalidArgument, IOError, ...).",
                           PyExc_RuntimeError);
  m.attr("RobotniError").attr("code") = py::str("Unknown");
  ph::g_errors.not_found = make("NotFoundError", "An unknown item id, task or file.",
                                ph::g_errors.base);
  py::tuple value_error_bases = py::make_tuple(ph::g_errors.base, py::handle(PyExc_ValueError));
  ph::g_errors.invalid_argument = make(
      "InvalidArgumentError", "A bad option, payload or file (also a ValueError).",
      value_error_bases);
  ph::g_errors.busy = make("BusyError", "Already serving, or busy otherwise.", ph::g_errors.base);

  py::class_<PyRuntime>(m, "Runtime", R"doc(
A robotni runtime inside this Python program: a work-item store, warm sub-interpreters that
run robot tasks and job types, a job dispatcher, and (with serve()) the HTTP job API.

Runtime(store=None, robot=None, isolation=None, concurrency=2, job_modules=None, types=None,
        consumer_tasks=None, consumer_task_timeout=0, owner=None, log=None, log_level="info",
        log_format="text")

store: "sqlite:///abs/path.db" or a path (None: RC_WORKITEM_DB_PATH, else
<robot root>/.robotni/workitems.db). robot: robot.yaml for run_task(). isolation:
"subinterpreter" or "main". job_modules: files (relative to the robot root) or dotted modules
with @robotni.job types. log: None (dropped) or "stderr".
)doc")
      .def(py::init(&ph::OpenRuntime), py::arg("store") = py::none(),
           py::arg("robot") = py::none(), py::arg("isolation") = py::none(),
           py::arg("concurrency") = 2, py::arg("job_modules") = py::none(),
           py::arg("types") = py::none(), py::kw_only(),
           py::arg("consumer_tasks") = py::none(), py::arg("consumer_task_timeout") = 0.0,
           py::arg("owner") = py::none(), py::arg("log") = "",
           py::arg("log_level") = "info", py::arg("log_format") = "text")
      .def(
          "run_task",
          [](PyRuntime& self, const py::object& name, const py::object& env, double timeout,
             const py::object& args, const py::object& input, const py::object& env_json) {
            robotni::RunOptions o;
            if (py::isinstance<py::str>(name)) {
              o.tasks = {name.cast<std::string>()};
            } else if (!name.is_none()) {
              o.tasks = ph::FsStrings(name, "name");
            }
            o.env = ph::StringMap(env, "env");
            o.timeout = timeout;
            o.args = ph::FsStrings(args, "args");
            o.input = ph::FsString(input);
            o.env_json = ph::FsString(env_json);
            auto out = self.Call([&](robotni::Runtime& rt) { return rt.Run(o); });
            return ph::OutcomeDict(ph::ValueOrRaise(std::move(out)));
          },
          py::arg("name") = py::none(), py::arg("env") = py::none(), py::kw_only(),
          py::arg("timeout") = 0.0, py::arg("args") = py::none(),
          py::arg("input") = py::none(), py::arg("env_json") = py::none(),
          R"doc(Runs a robot.yaml task (or a list of tasks, in order) like `rcc run -t` and
waits. Returns {"exit_code", "ok", "stdout", "stderr", "message", "seconds"}: a failing task
is a result with exit_code != 0 (10 = the task failed, 3 = no such task, ...), not an
exception. Raises RobotniError only when the runtime could not try (no robot.yaml, closed).)doc")
      .def(
          "enqueue",
          [](PyRuntime& self, const std::string& queue, const py::object& payload, int priority,
             const py::object& run_at, int max_attempts, const py::object& idempotency_key,
             const py::object& files) {
            robotni::EnqueueRequest r;
            r.queue = queue;
            r.payload_json = ph::JsonDumps(payload);
            r.priority = priority;
            r.run_at_ms = ph::RunAtMs(run_at);
            r.max_attempts = max_attempts;
            r.idempotency_key = idempotency_key.is_none() ? "" : idempotency_key.cast<std::string>();
            r.files = ph::Files(files);
            auto id = self.Call([&](robotni::Runtime& rt) { return rt.Enqueue(r); });
            return ph::ValueOrRaise(std::move(id));
          },
          py::arg("type_or_queue"), py::arg("payload") = py::dict(), py::kw_only(),
          py::arg("priority") = 0, py::arg("run_at") = py::none(), py::arg("max_attempts") = 3,
          py::arg("idempotency_key") = py::none(), py::arg("files") = py::none(),
          R"doc(Enqueues a job (a job type's name) or a work item (a queue's name). payload:
any JSON-serialisable object. run_at: a datetime or epoch seconds. files: {name: bytes | str}.
Returns the new item's id (the first one's when idempotency_key was seen before).)doc")
      .def(
          "get",
          [](PyRuntime& self, const std::string& id) {
            auto info = self.Call([&](robotni::Runtime& rt) { return rt.Get(id); });
            return ph::ItemDict(ph::ValueOrRaise(std::move(info)));
          },
          py::arg("id"),
          R"doc(The item as a dict: id, queue, state (PENDING, RESERVED, DONE, FAILED,
CANCELLED), payload, result, error ({"type", "code", "message"} or None), attempt,
max_attempts, priority, created_ms, started_ms, finished_ms, files, timeline, finished.
Raises NotFoundError for an unknown id.)doc")
      .def(
          "wait",
          [](PyRuntime& self, const std::string& id, double timeout) {
            // In slices, so that Ctrl+C (a pending signal) interrupts a long wait.
            using Clock = std::chrono::steady_clock;
            auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(std::max(0.0, timeout)));
            for (;;) {
              double left = std::chrono::duration<double>(deadline - Clock::now()).count();
              double slice = std::clamp(left, 0.0, 0.25);
              auto info = self.Call([&](robotni::Runtime& rt) { return rt.Wait(id, slice); });
              robotni::ItemInfo item = ph::ValueOrRaise(std::move(info));
              if (item.finished() || left <= slice) return ph::ItemDict(item);
              if (PyErr_CheckSignals() != 0) throw py::error_already_set();
            }
          },
          py::arg("id"), py::arg("timeout") = 30.0,
          R"doc(Blocks until the item is DONE, FAILED or CANCELLED, or `timeout` seconds pass,
and returns it as get() does (check item["finished"]). NotFoundError for an unknown id.)doc")
      .def(
          "cancel",
          [](PyRuntime& self, const std::string& id) {
            auto s = self.Call([&](robotni::Runtime& rt) { return rt.Cancel(id); });
            if (!s.ok()) ph::Raise(s);
          },
          py::arg("id"),
          "Cancels a PENDING item; a running job sees run.is_cancelled().")
      .def_property_readonly(
          "job_types",
          [](PyRuntime& self) {
            return self.Call([](robotni::Runtime& rt) { return rt.JobTypes(); });
          },
          "The job types this runtime serves.")
      .def(
          "serve",
          [](PyRuntime& self, const std::string& listen, const py::object& tokens,
             const py::object& token_file, bool no_auth, double rate_limit, bool public_metrics,
             double grace, const py::object& webhook_secret, int webhook_max_attempts,
             double webhook_timeout, const py::object& config_file) {
            robotni::ServeOptions o;
            o.listen = listen;
            o.tokens = ph::FsStrings(tokens, "tokens");
            o.token_file = ph::FsString(token_file);
            o.no_auth = no_auth;
            o.rate_limit = rate_limit;
            o.public_metrics = public_metrics;
            o.grace = grace;
            o.webhook_secret = webhook_secret.is_none() ? "" : webhook_secret.cast<std::string>();
            o.webhook_max_attempts = webhook_max_attempts;
            o.webhook_timeout = webhook_timeout;
            o.config_file = ph::FsString(config_file);
            o.handle_signals = false;  // the host owns its signals
            auto address = self.Call([&](robotni::Runtime& rt) { return rt.StartServing(o); });
            self.address = ph::ValueOrRaise(std::move(address));
            return self.address;
          },
          py::arg("listen") = "127.0.0.1:0", py::kw_only(), py::arg("tokens") = py::none(),
          py::arg("token_file") = py::none(), py::arg("no_auth") = false,
          py::arg("rate_limit") = 0.0, py::arg("public_metrics") = false,
          py::arg("grace") = 30.0, py::arg("webhook_secret") = py::none(),
          py::arg("webhook_max_attempts") = 5, py::arg("webhook_timeout") = 10.0,
          py::arg("config_file") = py::none(),
          R"doc(Starts the HTTP job API on a background thread and returns "HOST:PORT" once
listening (port 0 = any free port). tokens: ["read,write:SECRET", "read:OTHER", ...];
no_auth=True only on a loopback address. BusyError when already serving.)doc")
      .def(
          "stop_serving",
          [](PyRuntime& self) {
            if (self.closed()) return;
            auto s = self.Call([](robotni::Runtime& rt) { return rt.StopServing(); });
            self.address.clear();
            if (!s.ok()) ph::Raise(s);
          },
          "Drains (running jobs get the grace) and stops the HTTP service; blocks until stopped.")
      .def_property_readonly(
          "address",
          [](PyRuntime& self) -> py::object {
            if (self.address.empty()) return py::none();
            return py::str(self.address);
          },
          "\"HOST:PORT\" while serving, else None.")
      .def("close", &PyRuntime::Close,
           "Stops serving, stops the runners (unfinished jobs go back to the queue) and closes "
           "the store. Idempotent; later calls raise RobotniError.")
      .def_property_readonly("closed", &PyRuntime::closed)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__",
           [](PyRuntime& self, const py::object&, const py::object&, const py::object&) {
             self.Close();
             return false;
           })
      .def("__repr__",
           [](PyRuntime& self) {
             if (self.closed()) return std::string("<robotni.Runtime closed>");
             return "<robotni.Runtime" +
                    (self.address.empty() ? std::string() : " serving " + self.address) + ">";
           })
      .def_static("version", &robotni::Runtime::VersionString,
                  "robotni's, the embedded Python's and SQLite's versions, and where robotni's "
                  "Python packages are.");

  // Close what the program left open before CPython finalises.
  py::module_::import("atexit").attr("register")(
      py::cpp_function(&ph::ClosePyRuntimesAtExit));
}
