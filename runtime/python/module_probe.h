#ifndef ROBOTNI_RUNTIME_PYTHON_MODULE_PROBE_H_
#define ROBOTNI_RUNTIME_PYTHON_MODULE_PROBE_H_

// Whether the embedded Python can import modules, and the installed version of their
// distributions: importlib.util.find_spec and importlib.metadata.version, in a
// sub-interpreter made for the probe and ended after it. A module is found, not run (a
// dotted name's parent packages are imported), so probing has no side effects on the
// interpreters that run tasks.

#include <string>
#include <vector>

#include "robotni/status.h"

namespace robotni::python {

struct ModuleQuery {
  std::string module;        // "yaml", "google.protobuf"
  std::string distribution;  // "pyyaml"; "" to skip the version
};

struct ModuleProbe {
  bool found = false;
  std::string origin;   // the module's file or package folder
  std::string version;  // "" when the distribution has no metadata
  std::string error;    // an exception find_spec raised ("" when none)
};

// One result per query, in order. `path_prepend` goes before sys.path (a robot's
// PYTHONPATH). Starts the interpreter host when it has not been.
StatusOr<std::vector<ModuleProbe>> ProbeModules(const std::vector<ModuleQuery>& queries,
                                                const std::vector<std::string>& path_prepend);

}  // namespace robotni::python

#endif  // ROBOTNI_RUNTIME_PYTHON_MODULE_PROBE_H_
