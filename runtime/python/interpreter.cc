#include "python/interpreter.h"

#include <Python.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "python/python_dir.h"
#include "python/python_env.h"
#include "python/robotni_module.h"
#include "python/watchdog.h"

namespace robotni::python {

namespace {

std::mutex g_host_mu;
bool g_started = false;
bool g_owned = false;                // robotni initialised CPython (else a host program did)
PyThreadState* g_main_ts = nullptr;  // the main thread's, saved while Python is idle
HostOptions g_options;
std::vector<std::string> g_site_dirs;  // the environment's site-packages (python_env.h)

// Writes a task's output straight to the process's stdout / stderr.
class ConsoleContext : public TaskContext {
 public:
  void Write(int stream, std::string_view text) override {
    int fd = stream == 2 ? 2 : 1;
    while (!text.empty()) {
      ssize_t n = ::write(fd, text.data(), text.size());
      if (n <= 0) break;
      text.remove_prefix(static_cast<size_t>(n));
    }
  }
};
ConsoleContext g_console;

// Fetches the pending Python error as one line ("TypeError: ...") and clears it.
std::string FetchError() {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  std::string msg = "unknown Python error";
  if (value) {
    PyObject* s = PyObject_Str(value);
    const char* c = s ? PyUnicode_AsUTF8(s) : nullptr;
    msg = std::string(type ? reinterpret_cast<PyTypeObject*>(type)->tp_name : "?") + ": " +
          (c ? c : "?");
    Py_XDECREF(s);
    PyErr_Clear();
  }
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  return msg;
}

PyObject* StringList(const std::vector<std::string>& v) {
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(v.size()));
  for (size_t i = 0; i < v.size(); ++i)
    PyList_SET_ITEM(list, i, PyUnicode_DecodeFSDefaultAndSize(v[i].data(), v[i].size()));
  return list;
}

}  // namespace

// ---------------------------------------------------------------------------
// InterpreterHost

std::filesystem::path InterpreterHost::PythonDir() {
  // Relative to the installed runtime, never a compiled-in path (python_dir.h); empty
  // when the packages are missing.
  auto found = LocatePythonDir();
  return found.ok() ? found->dir : std::filesystem::path();
}

Status InterpreterHost::Start(const HostOptions& options) {
  std::lock_guard<std::mutex> l(g_host_mu);
  if (g_started) return Status::OK();
  g_options = options;
  g_site_dirs.clear();
  if (options.use_python_environment) {
    auto env = FindPythonEnvironment();
    if (!env.ok()) return env.status();
    if (*env) g_site_dirs.push_back((*env)->site_packages.string());
  }
  if (Py_IsInitialized()) {
    // A Python program hosts robotni: its interpreter is the main one, and it holds the GIL
    // only while it runs Python (it calls into robotni with the GIL released).
    g_started = true;
    g_owned = false;
    return Status::OK();
  }
  RegisterRobotniModule();

  PyConfig config;
  PyConfig_InitIsolatedConfig(&config);
  config.install_signal_handlers = 0;  // libuv owns signals
  config.site_import = 0;              // sys.path is set explicitly (R1)
  config.write_bytecode = 0;
  config.user_site_directory = 0;
  config.parse_argv = 0;
  // The CPython robotni was built against (CMake's ROBOTNI_PYTHON, Debian's by default),
  // whatever python3 comes first on PATH: its stdlib is found from it.
  PyStatus st = PyConfig_SetBytesString(&config, &config.program_name, ROBOTNI_PYTHON_EXECUTABLE);
  if (!PyStatus_Exception(st))
    st = PyConfig_SetBytesString(&config, &config.executable, ROBOTNI_PYTHON_EXECUTABLE);
  if (!PyStatus_Exception(st)) st = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(st)) {
    return Status::PythonError(std::string("cannot initialise CPython: ") +
                               (st.err_msg ? st.err_msg : "unknown error"));
  }
  // R4.1: threading in main early so threading.main_thread() is right; atexit
  // before finalisation.
  PyObject* m = PyImport_ImportModule("threading");
  Py_XDECREF(m);
  m = PyImport_ImportModule("atexit");
  Py_XDECREF(m);
  if (PyErr_Occurred()) PyErr_Print();
  g_main_ts = PyEval_SaveThread();
  g_started = true;
  g_owned = true;
  return Status::OK();
}

void InterpreterHost::Stop() {
  std::lock_guard<std::mutex> l(g_host_mu);
  if (!g_started) return;
  if (!g_owned) {  // the host program's CPython: it finalises it
    g_started = false;
    return;
  }
  PyEval_RestoreThread(g_main_ts);
  Py_FinalizeEx();
  g_main_ts = nullptr;
  g_started = false;
}

std::vector<std::string> InterpreterHost::SiteDirs() {
  std::lock_guard<std::mutex> l(g_host_mu);
  return g_site_dirs;
}

bool InterpreterHost::started() {
  std::lock_guard<std::mutex> l(g_host_mu);
  return g_started;
}

// ---------------------------------------------------------------------------
// ParsePythonCommand

std::optional<PythonCommand> ParsePythonCommand(const std::vector<std::string>& argv) {
  if (argv.empty()) return std::nullopt;
  std::string exe = std::filesystem::path(argv[0]).filename().string();
  if (exe != "python" && exe != "python3" && exe != "python3.11") return std::nullopt;
  size_t i = 1;
  for (; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-m" || a == "-c") break;
    if (a.size() >= 2 && a[0] == '-' && a.find_first_not_of("uBEsSIO", 1) == std::string::npos)
      continue;  // flags that change nothing robotni relies on
    if (!a.empty() && a[0] == '-') return std::nullopt;
    break;
  }
  if (i >= argv.size()) return std::nullopt;  // an interactive python: not a task
  PythonCommand cmd;
  if (argv[i] == "-m" || argv[i] == "-c") {
    if (i + 1 >= argv.size()) return std::nullopt;
    cmd.mode = argv[i] == "-m" ? PythonCommand::Mode::kModule : PythonCommand::Mode::kCode;
    cmd.target = argv[i + 1];
    // CPython: -m sets argv[0] to the module's file (runpy does that), -c to "-c".
    cmd.argv.push_back(argv[i] == "-m" ? argv[i + 1] : "-c");
    cmd.argv.insert(cmd.argv.end(), argv.begin() + i + 2, argv.end());
  } else {
    cmd.mode = PythonCommand::Mode::kScript;
    cmd.target = argv[i];
    cmd.argv.assign(argv.begin() + i, argv.end());
  }
  return cmd;
}

// ---------------------------------------------------------------------------
// Interpreter

struct Interpreter::Impl {
  Kind kind = Kind::kSubinterpreter;
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> jobs;
  bool stop = false;
  std::atomic<bool> poisoned{false};

  // Owned by the executor thread.
  PyThreadState* ts = nullptr;
  PyInterpreterState* interp = nullptr;
  unsigned long thread_id = 0;
  bool running = false;              // a task is in run_task; read and written with the GIL held
  PyObject* run_task = nullptr;      // robotni_host.run_task
  PyObject* timeout_type = nullptr;  // _robotni.TaskTimeout
  // The last run's environment, decoded: a service runs every job with the same one,
  // and decoding ~90 strings cost more than the job. Each run gets its own copy.
  std::vector<std::pair<std::string, std::string>> env_key;
  PyObject* env_dict = nullptr;
  InterpreterSlot slot;
  std::unique_ptr<Watchdog> watchdog;

  Status Boot();
  void Shutdown();
  void Loop();
  void Post(std::function<void()> fn) {
    std::lock_guard<std::mutex> l(mu);
    jobs.push_back(std::move(fn));
    cv.notify_one();
  }
  TaskResult RunLocked(const TaskSpec& spec, TaskContext* context);
};

// Creates the interpreter on this (executor) thread so that the thread's first
// registered thread state belongs to it (R5): a temporary main-interpreter thread
// state only carries the GIL while Py_NewInterpreter runs, and is deleted (which
// clears the thread's PyGILState slot) before the executor's own state is made.
Status Interpreter::Impl::Boot() {
  // robotni's Python packages first: without them there is nothing to boot.
  auto located = LocatePythonDir();
  if (!located.ok()) return located.status();
  slot.fallback = &g_console;
  PyInterpreterState* main_interp = PyInterpreterState_Main();
  if (kind == Kind::kSubinterpreter) {
    PyThreadState* tmp = PyThreadState_New(main_interp);
    PyEval_RestoreThread(tmp);
    PyThreadState_Swap(nullptr);
    PyThreadState* init_ts = Py_NewInterpreter();
    if (!init_ts) {
      PyThreadState_Swap(tmp);
      PyThreadState_Clear(tmp);
      PyThreadState_DeleteCurrent();
      return Status::PythonError("Py_NewInterpreter failed");
    }
    interp = PyThreadState_GetInterpreter(init_ts);
    PyThreadState_Swap(tmp);
    PyThreadState_Clear(tmp);
    PyThreadState_DeleteCurrent();  // releases the GIL
    ts = PyThreadState_New(interp);
    PyEval_RestoreThread(ts);
    PyThreadState_Clear(init_ts);
    PyThreadState_Delete(init_ts);
  } else {
    interp = main_interp;
    ts = PyThreadState_New(interp);
    PyEval_RestoreThread(ts);
  }
  thread_id = PyThread_get_thread_ident();

  Status status;
  PyObject* mod = ImportRobotniModule();
  PyObject* host = nullptr;
  PyObject* r = nullptr;
  std::string dir = located->dir.string();
  std::vector<std::string> first = {dir + "/shims"};
  const std::vector<std::string>& last = g_options.extra_sys_path;
  if (mod) {
    BindRobotniModule(mod, &slot);
    timeout_type = PyObject_GetAttrString(mod, "TaskTimeout");
    PyObject* sys_path = PySys_GetObject("path");  // borrowed
    PyObject* host_dir = PyUnicode_FromString((dir + "/host").c_str());
    if (sys_path && host_dir) PyList_Insert(sys_path, 0, host_dir);
    Py_XDECREF(host_dir);
    host = PyImport_ImportModule("robotni_host");
    if (sys_path && PyList_GET_SIZE(sys_path) > 0) PySequence_DelItem(sys_path, 0);
  }
  if (host) {
    PyObject* first_list = StringList(first);
    PyObject* site_list = StringList(g_site_dirs);
    PyObject* last_list = StringList(last);
    r = PyObject_CallMethod(host, "setup", "OOOO",
                            kind == Kind::kSubinterpreter ? Py_True : Py_False, first_list,
                            site_list, last_list);
    Py_DECREF(first_list);
    Py_DECREF(site_list);
    Py_DECREF(last_list);
    run_task = PyObject_GetAttrString(host, "run_task");
  }
  if (!mod || !host || !r || !run_task || !timeout_type) {
    status = Status::PythonError("cannot set up the interpreter (" + FetchError() +
                                 "); robotni's Python files are looked up in " + dir);
  }
  Py_XDECREF(r);
  Py_XDECREF(host);
  Py_XDECREF(mod);
  PyEval_SaveThread();
  if (status.ok()) watchdog = std::make_unique<Watchdog>(interp);
  return status;
}

void Interpreter::Impl::Shutdown() {
  watchdog.reset();  // deletes its thread state of this interpreter (R27)
  PyEval_RestoreThread(ts);
  Py_CLEAR(run_task);
  Py_CLEAR(timeout_type);
  Py_CLEAR(env_dict);
  if (kind == Kind::kSubinterpreter) {
    Py_EndInterpreter(ts);  // the GIL stays held, with no current thread state
    PyThreadState* tmp = PyThreadState_New(PyInterpreterState_Main());
    PyThreadState_Swap(tmp);
    PyThreadState_Clear(tmp);
    PyThreadState_DeleteCurrent();
  } else {
    PyThreadState_Clear(ts);
    PyThreadState_DeleteCurrent();
  }
  ts = nullptr;
}

void Interpreter::Impl::Loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return stop || !jobs.empty(); });
      if (jobs.empty()) return;
      job = std::move(jobs.front());
      jobs.pop_front();
    }
    job();
  }
}

TaskResult Interpreter::Impl::RunLocked(const TaskSpec& spec, TaskContext* context) {
  TaskResult result;
  if (poisoned) {
    result.outcome = TaskResult::Outcome::kHostError;
    result.exit_code = 1;
    result.detail = "interpreter is poisoned by an earlier task that did not stop";
    return result;
  }
  slot.context.store(context, std::memory_order_release);
  bool watched = spec.timeout_seconds > 0;
  if (watched) {
    auto deadline =
        Watchdog::Clock::now() + std::chrono::duration_cast<Watchdog::Clock::duration>(
                                     std::chrono::duration<double>(spec.timeout_seconds));
    auto grace = std::chrono::duration_cast<Watchdog::Clock::duration>(
        std::chrono::duration<double>(spec.hard_timeout_grace_seconds));
    auto on_hard = spec.on_hard_timeout;
    watchdog->Arm(thread_id, timeout_type, deadline, grace, [this, on_hard] {
      poisoned = true;
      if (on_hard) on_hard();
    });
  }
  watchdog->SetBusy(true);
  PyEval_RestoreThread(ts);
  running = true;
  // No PyThreadState_SetAsyncExc(tid, NULL) here (R20's guard): on 3.11 it raises the
  // interpreter's eval breaker without anything to deliver, which then never clears,
  // and with a profile or trace function active RESUME loops on it forever. A timeout
  // that fired too late is consumed below instead.
  PyObject* path = StringList(spec.path_prepend);
  PyObject* argv = StringList(spec.command.argv);
  if (!env_dict || env_key != spec.environ) {
    Py_CLEAR(env_dict);
    env_dict = PyDict_New();
    for (const auto& [k, v] : spec.environ) {
      PyObject* val = PyUnicode_DecodeFSDefaultAndSize(v.data(), v.size());
      PyObject* key = PyUnicode_DecodeFSDefaultAndSize(k.data(), k.size());
      if (key && val) PyDict_SetItem(env_dict, key, val);
      Py_XDECREF(key);
      Py_XDECREF(val);
    }
    PyErr_Clear();  // an undecodable variable is left out, as before
    env_key = spec.environ;
  }
  PyObject* env = PyDict_Copy(env_dict);
  if (!env) {
    PyErr_Clear();
    env = PyDict_New();
  }
  const char* mode = spec.command.mode == PythonCommand::Mode::kModule   ? "module"
                     : spec.command.mode == PythonCommand::Mode::kScript ? "script"
                                                                         : "code";
  PyObject* r =
      PyObject_CallFunction(run_task, "ssOOO", mode, spec.command.target.c_str(), argv, path, env);
  if (r && PyTuple_Check(r) && PyTuple_GET_SIZE(r) == 3) {
    result.exit_code = static_cast<int>(PyLong_AsLong(PyTuple_GET_ITEM(r, 0)));
    std::string outcome = PyUnicode_AsUTF8(PyTuple_GET_ITEM(r, 1));
    const char* detail = PyUnicode_AsUTF8(PyTuple_GET_ITEM(r, 2));
    result.detail = detail ? detail : "";
    if (outcome == "exception") result.outcome = TaskResult::Outcome::kException;
    if (outcome == "timeout") result.outcome = TaskResult::Outcome::kTimeout;
    if (outcome == "unsupported") result.outcome = TaskResult::Outcome::kUnsupported;
  } else {
    // A TaskTimeout that landed outside run_task's try (between bytecodes of the
    // host code itself) ends up here too.
    result.outcome = TaskResult::Outcome::kHostError;
    result.exit_code = 1;
    result.detail = FetchError();
  }
  Py_XDECREF(r);
  Py_DECREF(path);
  Py_DECREF(argv);
  Py_DECREF(env);
  running = false;
  PyEval_SaveThread();
  watchdog->SetBusy(false);
  if (watched && watchdog->Disarm()) {
    result.outcome = TaskResult::Outcome::kTimeout;
    if (result.exit_code == 0) result.exit_code = 1;
    // The timeout may have fired after the task returned: then it is still pending.
    // Running any code object delivers it (RESUME checks the eval breaker), and
    // delivery clears the breaker properly, so the next task starts clean (R20).
    PyEval_RestoreThread(ts);
    PyObject* globals = PyDict_New();
    PyObject* r2 = globals ? PyRun_String("None", Py_eval_input, globals, globals) : nullptr;
    Py_XDECREF(r2);
    Py_XDECREF(globals);
    PyErr_Clear();
    PyEval_SaveThread();
  }
  slot.context.store(nullptr, std::memory_order_release);
  return result;
}

Interpreter::Interpreter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StatusOr<std::unique_ptr<Interpreter>> Interpreter::Create(Kind kind) {
  if (!InterpreterHost::started()) ROBOTNI_RETURN_IF_ERROR(InterpreterHost::Start());
  auto impl = std::make_unique<Impl>();
  impl->kind = kind;
  std::promise<Status> booted;
  Impl* raw = impl.get();
  raw->thread = std::thread([raw, &booted] {
    Status s = raw->Boot();
    bool ok = s.ok();
    booted.set_value(std::move(s));
    if (ok) raw->Loop();
  });
  Status s = booted.get_future().get();
  if (!s.ok()) {
    // A half-built interpreter is left to Py_FinalizeEx, which ends it.
    raw->thread.join();
    return s;
  }
  return std::unique_ptr<Interpreter>(new Interpreter(std::move(impl)));
}

Interpreter::~Interpreter() {
  impl_->Post([impl = impl_.get()] { impl->Shutdown(); });
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->stop = true;
    impl_->cv.notify_one();
  }
  impl_->thread.join();
}

Interpreter::Kind Interpreter::kind() const { return impl_->kind; }
bool Interpreter::poisoned() const { return impl_->poisoned; }

void Interpreter::Interrupt() {
  // From a thread state of the task's own interpreter, as the watchdog does (R18); with
  // the GIL held, `running` cannot change under us, so nothing lands in a later task.
  PyThreadState* t = PyThreadState_New(impl_->interp);
  if (!t) return;
  PyEval_RestoreThread(t);
  if (impl_->running) PyThreadState_SetAsyncExc(impl_->thread_id, PyExc_KeyboardInterrupt);
  PyThreadState_Clear(t);
  PyThreadState_DeleteCurrent();
}

TaskResult Interpreter::Run(const TaskSpec& spec, TaskContext* context) {
  std::promise<TaskResult> done;
  impl_->Post([&] { done.set_value(impl_->RunLocked(spec, context)); });
  return done.get_future().get();
}

void Interpreter::RunEach(
    const std::function<bool(const TaskSpec** spec, TaskContext** context)>& next,
    const std::function<void(TaskResult result)>& done) {
  std::promise<void> finished;
  impl_->Post([&] {
    try {
      const TaskSpec* spec = nullptr;
      TaskContext* context = nullptr;
      while (next(&spec, &context)) done(impl_->RunLocked(*spec, context));
      finished.set_value();
    } catch (...) {  // the caller's, not the executor's: it must not end this thread
      finished.set_exception(std::current_exception());
    }
  });
  finished.get_future().get();
}

void Interpreter::Call(const std::function<void()>& fn) {
  std::promise<void> done;
  impl_->Post([&] {
    PyEval_RestoreThread(impl_->ts);
    fn();
    PyEval_SaveThread();
    done.set_value();
  });
  done.get_future().get();
}

}  // namespace robotni::python
