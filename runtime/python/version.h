#ifndef ROBOTNI_RUNTIME_PYTHON_VERSION_H_
#define ROBOTNI_RUNTIME_PYTHON_VERSION_H_

// What `robotni version` reports: robotni's version, the embedded CPython's and SQLite's
// (as linked, read at run time), and where robotni's Python packages were found.
// Needs no started interpreter; may be called from any thread.

#include <string>

#include "python/python_dir.h"
#include "robotni/status.h"

namespace robotni::python {

struct VersionReport {
  std::string robotni;         // e.g. "0.1.0"
  std::string python;          // the linked libpython's, e.g. "3.11.2" (Py_GetVersion)
  std::string python_headers;  // PY_VERSION robotni was compiled against
  std::string sqlite;          // sqlite3_libversion()
  std::string sqlite_headers;  // SQLITE_VERSION robotni was compiled against
  std::string libuv;           // uv_version_string()
  StatusOr<PythonDirLocation> packages = Status::NotFound("not looked up");
};

VersionReport VersionInfo();

// The report as `robotni version` prints it, one "name value" line each:
//   robotni 0.1.0
//   python 3.11.2
//   sqlite 3.40.1
//   libuv 1.44.2
//   packages /usr/share/robotni/python (installed)
// ("(built with X)" follows a version whose headers differed; "packages not found" when
// they were not).
std::string FormatVersionReport(const VersionReport& report);

}  // namespace robotni::python

#endif  // ROBOTNI_RUNTIME_PYTHON_VERSION_H_
