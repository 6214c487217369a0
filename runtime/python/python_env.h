#ifndef ROBOTNI_RUNTIME_PYTHON_PYTHON_ENV_H_
#define ROBOTNI_RUNTIME_PYTHON_PYTHON_ENV_H_

// The Python environment robotni runs in (a venv, a conda environment, or a prefix named
// with --python-prefix): its site-packages goes on the tasks' sys.path, after robotni's
// shims and before Debian's dist-packages (docs/packaging.md, "Running in an environment").
//
// Thread-safety: FindPythonEnvironment reads the environment and the file system only.

#include <filesystem>
#include <optional>
#include <string>

#include "robotni/status.h"

namespace robotni::python {

// `--python-prefix PREFIX` is passed on in this variable, so that worker processes (which
// inherit the environment) use the same prefix.
inline constexpr const char* kPythonPrefixVariable = "ROBOTNI_PYTHON_PREFIX";

struct PythonEnvironment {
  std::filesystem::path prefix;
  std::string source;                   // "--python-prefix", "VIRTUAL_ENV" or "CONDA_PREFIX"
  std::filesystem::path site_packages;  // <prefix>/lib/python3.11/site-packages
};

// The environment named by, first to last, $ROBOTNI_PYTHON_PREFIX (--python-prefix),
// $VIRTUAL_ENV, $CONDA_PREFIX (empty values are unset); nullopt when none is set.
// InvalidArgument ("... is a Python 3.12 environment; robotni embeds CPython 3.11 ...")
// when the environment is for another Python minor version (a venv's pyvenv.cfg
// `version`, else the prefix's lib/python3.X/site-packages) or has no
// lib/python3.11/site-packages at all.
StatusOr<std::optional<PythonEnvironment>> FindPythonEnvironment();

// Same, for a given prefix (`source` names where it came from, for messages).
StatusOr<PythonEnvironment> InspectPythonPrefix(const std::filesystem::path& prefix,
                                                const std::string& source);

}  // namespace robotni::python

#endif  // ROBOTNI_RUNTIME_PYTHON_PYTHON_ENV_H_
