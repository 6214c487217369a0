#include "python/robotni_module.h"

#include <string>

namespace robotni::python {
namespace {

struct ModuleState {
  PyObject* writer_type;   // heap type: sys.stdout / sys.stderr replacement
  PyObject* task_timeout;  // TaskTimeout(BaseException)
  InterpreterSlot* slot;   // owned by the host
};

PyModuleDef* ModuleDef();

ModuleState* StateOf(PyObject* module) {
  return static_cast<ModuleState*>(PyModule_GetState(module));
}

// The slot of the Interpreter whose executor thread this is. Several Interpreters of kind
// kMain share the main interpreter and so one module state: each executor thread must find
// its own run's context, not the one bound last.
thread_local InterpreterSlot* t_executor_slot = nullptr;

TaskContext* ContextOf(PyObject* module) {
  if (t_executor_slot) return t_executor_slot->current();
  ModuleState* st = StateOf(module);  // a thread the task started
  return st && st->slot ? st->slot->current() : nullptr;
}

// Maps a runtime Status to the Python exception a robocorp adapter would raise.
PyObject* RaiseStatus(const Status& s) {
  PyObject* type = PyExc_RuntimeError;
  switch (s.code()) {
    case Status::Code::kNotFound:
      type = PyExc_FileNotFoundError;
      break;
    case Status::Code::kInvalidArgument:
      type = PyExc_ValueError;
      break;
    case Status::Code::kTimeout:
      type = PyExc_TimeoutError;
      break;
    default:
      break;
  }
  PyErr_SetString(type, s.message().c_str());
  return nullptr;
}

PyObject* NoneOrRaise(const Status& s) {
  if (!s.ok()) return RaiseStatus(s);
  Py_RETURN_NONE;
}

WorkItemBackend* BackendOrRaise(PyObject* module) {
  TaskContext* ctx = ContextOf(module);
  WorkItemBackend* b = ctx ? ctx->work_items() : nullptr;
  if (!b) PyErr_SetString(PyExc_RuntimeError, "this run is not bound to a robotni work-item store");
  return b;
}

JobBackend* JobOrRaise(PyObject* module) {
  TaskContext* ctx = ContextOf(module);
  JobBackend* j = ctx ? ctx->job() : nullptr;
  if (!j) PyErr_SetString(PyExc_RuntimeError, "not running inside a robotni job");
  return j;
}

// Runs `fn` with the GIL released: store calls block on the writer thread.
template <typename Fn>
auto WithoutGil(Fn&& fn) {
  PyThreadState* save = PyEval_SaveThread();
  auto r = fn();
  PyEval_RestoreThread(save);
  return r;
}

PyObject* Str(const std::string& s) { return PyUnicode_FromStringAndSize(s.data(), s.size()); }

// ---- Writer: a text stream that forwards to the current task's capture. ----
struct WriterObject {
  PyObject_HEAD int stream;
};

PyObject* WriterWrite(PyObject* self, PyObject* arg) {
  if (!PyUnicode_Check(arg)) {
    PyErr_Format(PyExc_TypeError, "write() argument must be str, not %.100s",
                 Py_TYPE(arg)->tp_name);
    return nullptr;
  }
  Py_ssize_t n = 0;
  const char* data = PyUnicode_AsUTF8AndSize(arg, &n);
  if (!data) return nullptr;
  PyObject* module = PyType_GetModuleByDef(Py_TYPE(self), ModuleDef());
  if (!module) return nullptr;
  TaskContext* ctx = ContextOf(module);
  int stream = reinterpret_cast<WriterObject*>(self)->stream;
  if (ctx && n > 0) {
    Py_BEGIN_ALLOW_THREADS ctx->Write(stream, std::string_view(data, n));
    Py_END_ALLOW_THREADS
  }
  return PyLong_FromSsize_t(PyUnicode_GET_LENGTH(arg));
}

PyObject* WriterFlush(PyObject*, PyObject*) { Py_RETURN_NONE; }
PyObject* WriterFalse(PyObject*, PyObject*) { Py_RETURN_FALSE; }
PyObject* WriterTrue(PyObject*, PyObject*) { Py_RETURN_TRUE; }
PyObject* WriterFileno(PyObject* self, PyObject*) {
  // Like io.StringIO: tasks that need a real fd (subprocess) get their own pipes.
  PyObject* io = PyImport_ImportModule("io");
  if (!io) return nullptr;
  PyObject* exc = PyObject_GetAttrString(io, "UnsupportedOperation");
  Py_DECREF(io);
  if (!exc) return nullptr;
  PyErr_SetString(exc, "fileno: robotni captures this stream");
  Py_DECREF(exc);
  return nullptr;
}
PyObject* WriterWritelines(PyObject* self, PyObject* lines) {
  PyObject* it = PyObject_GetIter(lines);
  if (!it) return nullptr;
  while (PyObject* line = PyIter_Next(it)) {
    PyObject* r = WriterWrite(self, line);
    Py_DECREF(line);
    if (!r) {
      Py_DECREF(it);
      return nullptr;
    }
    Py_DECREF(r);
  }
  Py_DECREF(it);
  if (PyErr_Occurred()) return nullptr;
  Py_RETURN_NONE;
}
PyObject* WriterGetEncoding(PyObject*, void*) { return PyUnicode_FromString("utf-8"); }
PyObject* WriterGetErrors(PyObject*, void*) { return PyUnicode_FromString("strict"); }
PyObject* WriterGetName(PyObject* self, void*) {
  return PyUnicode_FromString(reinterpret_cast<WriterObject*>(self)->stream == 1 ? "<stdout>"
                                                                                 : "<stderr>");
}
PyObject* WriterGetClosed(PyObject*, void*) { Py_RETURN_FALSE; }

int WriterInit(PyObject* self, PyObject* args, PyObject* kwds) {
  int stream = 1;
  if (!PyArg_ParseTuple(args, "i", &stream)) return -1;
  if (stream != 1 && stream != 2) {
    PyErr_SetString(PyExc_ValueError, "stream must be 1 (stdout) or 2 (stderr)");
    return -1;
  }
  reinterpret_cast<WriterObject*>(self)->stream = stream;
  return 0;
}

int WriterTraverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  return 0;
}

void WriterDealloc(PyObject* self) {
  PyTypeObject* tp = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  tp->tp_free(self);
  Py_DECREF(tp);
}

PyMethodDef kWriterMethods[] = {{"write", WriterWrite, METH_O, "Write text to the task's capture."},
                                {"writelines", WriterWritelines, METH_O, nullptr},
                                {"flush", WriterFlush, METH_NOARGS, nullptr},
                                {"isatty", WriterFalse, METH_NOARGS, nullptr},
                                {"readable", WriterFalse, METH_NOARGS, nullptr},
                                {"seekable", WriterFalse, METH_NOARGS, nullptr},
                                {"writable", WriterTrue, METH_NOARGS, nullptr},
                                {"fileno", WriterFileno, METH_NOARGS, nullptr},
                                {nullptr, nullptr, 0, nullptr}};

PyGetSetDef kWriterGetSet[] = {{"encoding", WriterGetEncoding, nullptr, nullptr, nullptr},
                               {"errors", WriterGetErrors, nullptr, nullptr, nullptr},
                               {"name", WriterGetName, nullptr, nullptr, nullptr},
                               {"closed", WriterGetClosed, nullptr, nullptr, nullptr},
                               {nullptr, nullptr, nullptr, nullptr, nullptr}};

PyType_Slot kWriterSlots[] = {{Py_tp_init, reinterpret_cast<void*>(WriterInit)},
                              {Py_tp_methods, kWriterMethods},
                              {Py_tp_getset, kWriterGetSet},
                              {Py_tp_traverse, reinterpret_cast<void*>(WriterTraverse)},
                              {Py_tp_dealloc, reinterpret_cast<void*>(WriterDealloc)},
                              {Py_tp_new, reinterpret_cast<void*>(PyType_GenericNew)},
                              {0, nullptr}};

PyType_Spec kWriterSpec = {"_robotni.Writer", sizeof(WriterObject), 0,
                           Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
                           kWriterSlots};

// ---- module functions ----
PyObject* HasStore(PyObject* m, PyObject*) {
  TaskContext* ctx = ContextOf(m);
  return PyBool_FromLong(ctx && ctx->work_items() != nullptr);
}

PyObject* InputQueue(PyObject* m, PyObject*) {
  WorkItemBackend* b = BackendOrRaise(m);
  return b ? Str(b->input_queue()) : nullptr;
}

PyObject* OutputQueue(PyObject* m, PyObject*) {
  WorkItemBackend* b = BackendOrRaise(m);
  return b ? Str(b->output_queue()) : nullptr;
}

PyObject* ReserveInput(PyObject* m, PyObject*) {
  WorkItemBackend* b = BackendOrRaise(m);
  if (!b) return nullptr;
  auto r = WithoutGil([&] { return b->ReserveInput(); });
  if (!r.ok()) return RaiseStatus(r.status());
  if (!r->has_value()) Py_RETURN_NONE;
  return Str(**r);
}

// Optional str argument: None -> nullopt.
bool OptionalString(PyObject* o, std::optional<std::string>* out) {
  if (!o || o == Py_None) return true;
  PyObject* s = PyUnicode_Check(o) ? (Py_INCREF(o), o) : PyObject_Str(o);
  if (!s) return false;
  const char* c = PyUnicode_AsUTF8(s);
  if (c) *out = c;
  Py_DECREF(s);
  return c != nullptr;
}

// reserve_input() + load_payload() + list_files() in one call: the first is per item,
// so the two lookups ride along instead of costing two more GIL round trips.
// Returns None or (id, payload_text, [file names]).
PyObject* ReserveInputLoaded(PyObject* m, PyObject*) {
  WorkItemBackend* b = BackendOrRaise(m);
  if (!b) return nullptr;
  struct Loaded {
    Status status;
    std::optional<std::string> id;
    std::string payload;
    std::vector<std::string> files;
  };
  Loaded got = WithoutGil([&] {
    Loaded l;
    auto r = b->ReserveInput();
    if (!r.ok()) return l.status = r.status(), l;
    if (!r->has_value()) return l;
    l.id = std::move(**r);
    auto payload = b->LoadPayload(*l.id);
    if (!payload.ok()) return l.status = payload.status(), l;
    l.payload = std::move(*payload);
    auto files = b->ListFiles(*l.id);
    if (!files.ok()) return l.status = files.status(), l;
    l.files = std::move(*files);
    return l;
  });
  if (!got.status.ok()) return RaiseStatus(got.status);
  if (!got.id) Py_RETURN_NONE;
  PyObject* files = PyList_New(static_cast<Py_ssize_t>(got.files.size()));
  if (!files) return nullptr;
  for (size_t i = 0; i < got.files.size(); ++i) {
    PyObject* name = Str(got.files[i]);
    if (!name) return Py_DECREF(files), nullptr;
    PyList_SET_ITEM(files, static_cast<Py_ssize_t>(i), name);
  }
  return Py_BuildValue("(s#s#N)", got.id->data(), static_cast<Py_ssize_t>(got.id->size()),
                       got.payload.data(), static_cast<Py_ssize_t>(got.payload.size()), files);
}

PyObject* ReleaseInput(PyObject* m, PyObject* args) {
  const char* id;
  const char* state;
  PyObject* exc = Py_None;
  if (!PyArg_ParseTuple(args, "ss|O", &id, &state, &exc)) return nullptr;
  WorkItemBackend* b = BackendOrRaise(m);
  if (!b) return nullptr;
  WorkItemBackend::Release rel;
  std::string st = state;
  if (st == "COMPLETED" || st == "DONE") {
    rel.done = true;
  } else if (st == "FAILED") {
    rel.done = false;
  } else {
    PyErr_Format(PyExc_ValueError, "unknown release state '%s' (COMPLETED or FAILED)", state);
    return nullptr;
  }
  if (exc != Py_None) {
    if (!PyDict_Check(exc)) {
      PyErr_SetString(PyExc_TypeError, "exception must be a dict or None");
      return nullptr;
    }
    std::optional<std::string> type;
    if (!OptionalString(PyDict_GetItemString(exc, "type"), &type) ||  // borrowed
        !OptionalString(PyDict_GetItemString(exc, "code"), &rel.code) ||
        !OptionalString(PyDict_GetItemString(exc, "message"), &rel.message))
      return nullptr;
    if (type) {
      std::string t = *type;
      if (auto dot = t.rfind('.'); dot != std::string::npos) t = t.substr(dot + 1);
      for (auto& c : t) c = static_cast<char>(toupper(c));
      rel.type =
          t == "BUSINESS" ? store::ExceptionType::kBusiness : store::ExceptionType::kApplication;
    }
  }
  std::string sid = id;
  Status s = WithoutGil([&] { return b->ReleaseInput(sid, rel); });
  return NoneOrRaise(s);
}

PyObject* CreateOutput(PyObject* m, PyObject* args) {
  const char* parent;
  const char* payload;
  if (!PyArg_ParseTuple(args, "ss", &parent, &payload)) return nullptr;
  WorkItemBackend* b = BackendOrRaise(m);
  if (!b) return nullptr;
  std::string p = parent, j = payload;
  auto r = WithoutGil([&] { return b->CreateOutput(p, std::move(j)); });
  if (!r.ok()) return RaiseStatus(r.status());
  return Str(*r);
}

PyObject* LoadPayload(PyObject* m, PyObject* args) {
  const char* id;
  if (!PyArg_ParseTuple(args, "s", &id)) return nullptr;
  WorkItemBackend* b = BackendOrRaise(m);
  if (!b) return nullptr;
  std::string sid = id;
  auto r = WithoutGil([&] { return b->LoadPayload(sid); });
  if (!r.ok()) return RaiseStatus(r.status());
  return Str(*r);
}

PyObject* SavePayload(PyObject* m, PyObject* args) {
  const char* id;
  const char* payload;
  if (!PyArg_ParseTuple(args, "ss", &id, &payload)) return nullptr;
  WorkItemBackend* b = BackendOrRaise(m);
  if (!b) return nullptr;
  std::string sid = id, j = payload;
  Status s = WithoutGil([&] { return b->SavePayload(sid, std::move(j)); });
  return NoneOrRaise(s);
}

PyObject* ListFiles(PyObject* m, PyObject* args) {
  const char* id;
  if (!PyArg_ParseTuple(args, "s", &id)) return nullptr;
  WorkItemBackend* b = BackendOrRaise(m);
  if (!b) return nullptr;
  std::string sid = id;
  auto r = WithoutGil([&] { return b->ListFiles(sid); });
  if (!r.ok()) return RaiseStatus(r.status());
  PyObject* list = PyList_New(0);
  for (const auto& name : *r) {
    PyObject* s = Str(name);
    if (!s || PyList_Append(list, s) < 0) {
      Py_XDECREF(s);
      Py_DECREF(list);
      return nullptr;
    }
    Py_DECREF(s);
  }
  return list;
}

PyObject* GetFile(PyObject* m, PyObject* args) {
  const char* id;
  const char* name;
  if (!PyArg_ParseTuple(args, "ss", &id, &name)) return nullptr;
  WorkItemBackend* b = BackendOrRaise(m);
  if (!b) return nullptr;
  std::string sid = id, sname = name;
  auto r = WithoutGil([&] { return b->GetFile(sid, sname); });
  if (!r.ok()) return RaiseStatus(r.status());
  return PyBytes_FromStringAndSize(r->data(), r->size());
}

PyObject* AddFile(PyObject* m, PyObject* args) {
  const char* id;
  const char* name;
  Py_buffer content;
  if (!PyArg_ParseTuple(args, "ssy*", &id, &name, &content)) return nullptr;
  std::string data(static_cast<const char*>(content.buf), content.len);
  PyBuffer_Release(&content);
  WorkItemBackend* b = BackendOrRaise(m);
  if (!b) return nullptr;
  std::string sid = id, sname = name;
  Status s = WithoutGil([&] { return b->AddFile(sid, sname, std::move(data)); });
  return NoneOrRaise(s);
}

PyObject* RemoveFile(PyObject* m, PyObject* args) {
  const char* id;
  const char* name;
  if (!PyArg_ParseTuple(args, "ss", &id, &name)) return nullptr;
  WorkItemBackend* b = BackendOrRaise(m);
  if (!b) return nullptr;
  std::string sid = id, sname = name;
  Status s = WithoutGil([&] { return b->RemoveFile(sid, sname); });
  return NoneOrRaise(s);
}

PyObject* Flush(PyObject* m, PyObject*) {
  WorkItemBackend* b = BackendOrRaise(m);
  if (!b) return nullptr;
  Status s = WithoutGil([&] { return b->Flush(); });
  return NoneOrRaise(s);
}

PyObject* CurrentJob(PyObject* m, PyObject*) {
  TaskContext* ctx = ContextOf(m);
  JobBackend* j = ctx ? ctx->job() : nullptr;
  if (!j) Py_RETURN_NONE;
  const store::Item& it = j->item();
  return Py_BuildValue("{s:s#,s:s#,s:s#,s:i,s:i}", "id", it.id.data(), (Py_ssize_t)it.id.size(),
                       "type", it.queue.data(), (Py_ssize_t)it.queue.size(), "payload",
                       it.payload_json.data(), (Py_ssize_t)it.payload_json.size(), "attempt",
                       it.attempt, "max_attempts", it.max_attempts);
}

PyObject* Heartbeat(PyObject* m, PyObject* args) {
  double seconds = 60;
  if (!PyArg_ParseTuple(args, "|d", &seconds)) return nullptr;
  JobBackend* j = JobOrRaise(m);
  if (!j) return nullptr;
  Status s = WithoutGil([&] { return j->Heartbeat(seconds); });
  return NoneOrRaise(s);
}

PyObject* IsCancelled(PyObject* m, PyObject*) {
  JobBackend* j = JobOrRaise(m);
  if (!j) return nullptr;
  auto r = WithoutGil([&] { return j->IsCancelled(); });
  if (!r.ok()) return RaiseStatus(r.status());
  return PyBool_FromLong(*r);
}

PyObject* Progress(PyObject* m, PyObject* args) {
  const char* msg;
  if (!PyArg_ParseTuple(args, "s", &msg)) return nullptr;
  JobBackend* j = JobOrRaise(m);
  if (!j) return nullptr;
  std::string s = msg;
  Status st = WithoutGil([&] { return j->Progress(s); });
  return NoneOrRaise(st);
}

PyObject* SetResult(PyObject* m, PyObject* args) {
  const char* json;
  if (!PyArg_ParseTuple(args, "s", &json)) return nullptr;
  JobBackend* j = JobOrRaise(m);
  if (!j) return nullptr;
  j->SetResult(json);
  Py_RETURN_NONE;
}

PyObject* SetFailure(PyObject* m, PyObject* args) {
  const char* kind;
  const char* code;
  const char* message;
  const char* tb;
  if (!PyArg_ParseTuple(args, "szss", &kind, &code, &message, &tb)) return nullptr;
  JobBackend* j = JobOrRaise(m);
  if (!j) return nullptr;
  j->SetFailure(std::string(kind) == "BUSINESS" ? store::ExceptionType::kBusiness
                                                : store::ExceptionType::kApplication,
                code ? code : "", message, tb);
  Py_RETURN_NONE;
}

// gc_hold(obj): takes a work item the task keeps alive anyway out of the cyclic GC. A run
// keeps every Input and Output it touched (upstream semantics), and CPython's full
// collections walked them all again and again: 22% of a 100,000-item consumer's time.
// gc_release(objs): puts each back (the shim does so before it lets go of them), so a
// cycle through a work item is collected as usual once the task is done with it.
PyObject* GcHold(PyObject*, PyObject* obj) {
  if (PyObject_IS_GC(obj) && PyObject_GC_IsTracked(obj)) PyObject_GC_UnTrack(obj);
  Py_RETURN_NONE;
}

PyObject* GcRelease(PyObject*, PyObject* objs) {
  PyObject* it = PyObject_GetIter(objs);
  if (!it) return nullptr;
  while (PyObject* o = PyIter_Next(it)) {
    if (PyObject_IS_GC(o) && !PyObject_GC_IsTracked(o)) PyObject_GC_Track(o);
    Py_DECREF(o);
  }
  Py_DECREF(it);
  if (PyErr_Occurred()) return nullptr;
  Py_RETURN_NONE;
}

PyMethodDef kMethods[] = {
    {"has_store", HasStore, METH_NOARGS, "True when this run is bound to a work-item store."},
    {"input_queue", InputQueue, METH_NOARGS, nullptr},
    {"output_queue", OutputQueue, METH_NOARGS, nullptr},
    {"reserve_input", ReserveInput, METH_NOARGS, nullptr},
    {"reserve_input_loaded", ReserveInputLoaded, METH_NOARGS,
     "None, or (id, payload JSON text, file names) of the next reserved input."},
    {"release_input", ReleaseInput, METH_VARARGS, nullptr},
    {"create_output", CreateOutput, METH_VARARGS, nullptr},
    {"load_payload", LoadPayload, METH_VARARGS, nullptr},
    {"save_payload", SavePayload, METH_VARARGS, nullptr},
    {"list_files", ListFiles, METH_VARARGS, nullptr},
    {"get_file", GetFile, METH_VARARGS, nullptr},
    {"add_file", AddFile, METH_VARARGS, nullptr},
    {"remove_file", RemoveFile, METH_VARARGS, nullptr},
    {"flush", Flush, METH_NOARGS, nullptr},
    {"current_job", CurrentJob, METH_NOARGS, nullptr},
    {"heartbeat", Heartbeat, METH_VARARGS, nullptr},
    {"is_cancelled", IsCancelled, METH_NOARGS, nullptr},
    {"progress", Progress, METH_VARARGS, nullptr},
    {"set_result", SetResult, METH_VARARGS, "The job's JSON result."},
    {"set_failure", SetFailure, METH_VARARGS, "(type, code, message, traceback) of a failed job."},
    {"gc_hold", GcHold, METH_O, "Takes an object the caller keeps alive out of the cyclic GC."},
    {"gc_release", GcRelease, METH_O, "Puts each object of an iterable back under the cyclic GC."},
    {nullptr, nullptr, 0, nullptr}};

int ModuleExec(PyObject* m) {
  ModuleState* st = StateOf(m);
  st->slot = nullptr;
  st->writer_type = PyType_FromModuleAndSpec(m, &kWriterSpec, nullptr);
  if (!st->writer_type || PyModule_AddObjectRef(m, "Writer", st->writer_type) < 0) return -1;
  st->task_timeout = PyErr_NewExceptionWithDoc(
      "_robotni.TaskTimeout",
      "Raised into a task that exceeded its timeout. A BaseException, so that "
      "`except Exception:` in task code does not swallow it.",
      PyExc_BaseException, nullptr);
  if (!st->task_timeout || PyModule_AddObjectRef(m, "TaskTimeout", st->task_timeout) < 0) return -1;
  if (PyModule_AddStringConstant(m, "version", ROBOTNI_VERSION) < 0) return -1;
  return 0;
}

int ModuleTraverse(PyObject* m, visitproc visit, void* arg) {
  ModuleState* st = StateOf(m);
  if (st) {
    Py_VISIT(st->writer_type);
    Py_VISIT(st->task_timeout);
  }
  return 0;
}

int ModuleClear(PyObject* m) {
  ModuleState* st = StateOf(m);
  if (st) {
    Py_CLEAR(st->writer_type);
    Py_CLEAR(st->task_timeout);
  }
  return 0;
}

void ModuleFree(void* m) { ModuleClear(static_cast<PyObject*>(m)); }

PyModuleDef_Slot kSlots[] = {{Py_mod_exec, reinterpret_cast<void*>(ModuleExec)},
#if PY_VERSION_HEX >= 0x030C0000
                             {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
                             {0, nullptr}};

PyModuleDef kDef = {
    PyModuleDef_HEAD_INIT, "_robotni",  "robotni's native task API (docs/robotni-module.md).",
    sizeof(ModuleState),   kMethods,    kSlots,
    ModuleTraverse,        ModuleClear, ModuleFree};

PyModuleDef* ModuleDef() { return &kDef; }

PyObject* InitModule() { return PyModuleDef_Init(&kDef); }

}  // namespace

void RegisterRobotniModule() { PyImport_AppendInittab("_robotni", &InitModule); }

PyObject* ImportRobotniModule() {
  PyObject* mod = PyImport_ImportModule("_robotni");
  if (mod || !PyErr_ExceptionMatches(PyExc_ModuleNotFoundError)) return mod;
  // CPython was started by the host (not in the inittab): build the module from its
  // definition, as the import system would, and cache it in this interpreter's sys.modules.
  PyErr_Clear();
  PyObject* machinery = PyImport_ImportModule("importlib.machinery");
  PyObject* spec =
      machinery ? PyObject_CallMethod(machinery, "ModuleSpec", "sO", "_robotni", Py_None) : nullptr;
  Py_XDECREF(machinery);
  if (!spec) return nullptr;
  mod = PyModule_FromDefAndSpec(&kDef, spec);
  Py_DECREF(spec);
  if (mod && PyModule_ExecDef(mod, &kDef) != 0) Py_CLEAR(mod);
  PyObject* modules = PyImport_GetModuleDict();  // borrowed
  if (mod && PyDict_SetItemString(modules, "_robotni", mod) != 0) Py_CLEAR(mod);
  return mod;
}

void BindRobotniModule(PyObject* module, InterpreterSlot* slot) {
  StateOf(module)->slot = slot;
  t_executor_slot = slot;  // Boot runs on the executor thread, bound to it for life
}

}  // namespace robotni::python
