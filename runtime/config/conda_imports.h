#ifndef ROBOTNI_RUNTIME_CONFIG_CONDA_IMPORTS_H_
#define ROBOTNI_RUNTIME_CONFIG_CONDA_IMPORTS_H_

// What `robotni env check` looks for, for each conda.yaml dependency: the conda or pip
// name mapped to the module the embedded Python imports (docs/packaging.md has the table).
//   python            the embedded CPython's version against the spec
//   pip               skipped: robotni installs nothing with pip
//   nodejs, git, ...  a program looked up on PATH (not a Python package)
//   known renames     pyyaml -> yaml, beautifulsoup4 -> bs4, pillow -> PIL, ...
//   robocorp-x-y      robocorp.x_y
//   anything else     the name lowercased, '-' -> '_'
// A pip entry that is a URL, a path or a pip option is skipped.

#include <string>
#include <vector>

#include "config/conda_yaml.h"

namespace robotni::config {

struct DependencyCheck {
  enum class Kind { kSkip, kPython, kModule, kProgram };
  Kind kind = Kind::kModule;
  std::string source;        // "conda" or "pip"
  std::string spec;          // as written in conda.yaml
  std::string name;          // the package name, lowercase
  std::string version_spec;  // VersionSpecAllows syntax; "" admits any version
  std::string target;        // kModule: the import name; kProgram: the program
  std::string distribution;  // kModule: the name importlib.metadata.version() is given
  std::string note;          // kSkip: why
};

std::vector<DependencyCheck> PlanDependencyChecks(const CondaYaml& conda);

// "2.31.0" -> {2, 31, 0}; leading digits of each part ("0rc1" -> 0); false when the
// version does not start with a number.
bool NumericVersion(const std::string& version, int* major, int* minor, int* micro);

}  // namespace robotni::config

#endif  // ROBOTNI_RUNTIME_CONFIG_CONDA_IMPORTS_H_
