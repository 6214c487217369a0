#include "python/version.h"

#include <Python.h>
#include <sqlite3.h>
#include <uv.h>

namespace robotni::python {

VersionReport VersionInfo() {
  VersionReport r;
  r.robotni = ROBOTNI_VERSION;
  // Py_GetVersion() is one of the calls allowed before Py_Initialize: "3.11.2 (main, ...".
  std::string full = Py_GetVersion();
  r.python = full.substr(0, full.find(' '));
  r.python_headers = PY_VERSION;
  r.sqlite = sqlite3_libversion();
  r.sqlite_headers = SQLITE_VERSION;
  r.libuv = uv_version_string();
  r.packages = LocatePythonDir();
  return r;
}

std::string FormatVersionReport(const VersionReport& r) {
  auto line = [](const std::string& name, const std::string& run, const std::string& built) {
    std::string s = name + " " + run;
    if (!built.empty() && built != run) s += " (built with " + built + ")";
    return s + "\n";
  };
  std::string out = line("robotni", r.robotni, "");
  out += line("python", r.python, r.python_headers);
  out += line("sqlite", r.sqlite, r.sqlite_headers);
  out += line("libuv", r.libuv, "");
  if (r.packages.ok()) {
    out += "packages " + r.packages->dir.string() + " (" +
           PythonDirSourceName(r.packages->source) + ")\n";
  } else {
    out += "packages not found\n";
  }
  return out;
}

}  // namespace robotni::python
