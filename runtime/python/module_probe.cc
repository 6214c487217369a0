#include "python/module_probe.h"

#include <Python.h>

#include <nlohmann/json.hpp>

#include "python/interpreter.h"

namespace robotni::python {

namespace {

// Reads `_in` (JSON) and leaves `_out` (JSON). robotni_host's guard against modules that
// break sub-interpreters is taken out first: finding a module does not load it.
constexpr const char* kProbe = R"PY(
import importlib.metadata, importlib.util, json, sys
_req = json.loads(_in)
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_SubinterpreterGuard"]
sys.path[0:0] = _req["path"]
_res = []
for _mod, _dist in _req["queries"]:
    _r = {"found": False, "origin": "", "version": "", "error": ""}
    try:
        _spec = importlib.util.find_spec(_mod)
        if _spec is not None:
            _r["found"] = True
            _r["origin"] = _spec.origin or next(iter(_spec.submodule_search_locations or []), "")
    except Exception as _e:
        _r["error"] = f"{type(_e).__name__}: {_e}"
    if _r["found"] and _dist:
        try:
            _r["version"] = importlib.metadata.version(_dist)
        except Exception:
            pass
    _res.append(_r)
_out = json.dumps(_res)
)PY";

std::string FetchPythonError() {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  std::string text = "unknown Python error";
  if (value) {
    PyObject* s = PyObject_Str(value);
    if (s && PyUnicode_Check(s)) text = PyUnicode_AsUTF8(s);
    Py_XDECREF(s);
  }
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  return text;
}

}  // namespace

StatusOr<std::vector<ModuleProbe>> ProbeModules(const std::vector<ModuleQuery>& queries,
                                                const std::vector<std::string>& path_prepend) {
  if (queries.empty()) return std::vector<ModuleProbe>{};
  nlohmann::json req;
  req["path"] = path_prepend;
  req["queries"] = nlohmann::json::array();
  for (const auto& q : queries) req["queries"].push_back({q.module, q.distribution});
  const std::string in = req.dump();

  auto interp = Interpreter::Create(Interpreter::Kind::kSubinterpreter);
  if (!interp.ok()) return interp.status();
  std::string out, error;
  (*interp)->Call([&] {
    PyObject* globals = PyDict_New();
    PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
    PyObject* in_str = PyUnicode_FromStringAndSize(in.data(), static_cast<Py_ssize_t>(in.size()));
    PyDict_SetItemString(globals, "_in", in_str);
    Py_XDECREF(in_str);
    PyObject* r = PyRun_String(kProbe, Py_file_input, globals, globals);
    if (!r) {
      error = FetchPythonError();
    } else {
      Py_DECREF(r);
      PyObject* o = PyDict_GetItemString(globals, "_out");  // borrowed
      if (o && PyUnicode_Check(o)) out = PyUnicode_AsUTF8(o);
    }
    Py_DECREF(globals);
  });
  if (!error.empty()) return Status::PythonError("probing modules: " + error);
  auto parsed = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array() || parsed.size() != queries.size())
    return Status::PythonError("probing modules: unexpected answer " + out);
  std::vector<ModuleProbe> probes;
  for (const auto& p : parsed)
    probes.push_back({p.value("found", false), p.value("origin", ""), p.value("version", ""),
                      p.value("error", "")});
  return probes;
}

}  // namespace robotni::python
