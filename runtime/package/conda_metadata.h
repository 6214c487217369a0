#ifndef ROBOTNI_RUNTIME_PACKAGE_CONDA_METADATA_H_
#define ROBOTNI_RUNTIME_PACKAGE_CONDA_METADATA_H_

// The info/ files of a robot's conda package (docs/packaging.md lists every field). Each
// is JSON with sorted keys and a final newline, or plain lines, so that the same input
// gives the same bytes.

#include <cstdint>
#include <string>
#include <vector>

#include "robotni/status.h"

namespace robotni::package {

struct PackageMeta {
  std::string name;     // conda package name
  std::string version;  // conda version
  std::string build = "py_0";
  int build_number = 0;
  std::vector<std::string> depends;  // match specs ("python 3.11.*", "robotni")
  std::vector<std::string> channels;
  std::vector<std::string> pip;  // conda.yaml's `- pip:` list, as written
  std::string prefix;            // where the robot's files are, e.g. share/robotni/robots/x
  std::vector<std::string> tasks;
};

struct PackagedFile {
  std::string path;  // relative to the conda prefix
  std::string sha256;
  uint64_t size = 0;
};

// A conda package name from a robot's: lowercase, each run of characters outside
// [a-z0-9._-] made one '-'. InvalidArgument when nothing is left.
StatusOr<std::string> CondaName(const std::string& raw);
// InvalidArgument unless `version` is a conda version: [A-Za-z0-9_.+!], no '-'.
Status CheckCondaVersion(const std::string& version);
// A conda.yaml dependency as an index.json match spec: "numpy=1.26" -> "numpy 1.26.*",
// "numpy==1.26.4" -> "numpy ==1.26.4", "numpy>=1.26" -> "numpy >=1.26",
// "numpy=1.26=py311_0" -> "numpy 1.26.* py311_0", "conda-forge::numpy" -> "numpy".
std::string MatchSpec(const std::string& dependency);

std::string IndexJson(const PackageMeta& meta);
std::string AboutJson(const PackageMeta& meta);
std::string LinkJson();
std::string PathsJson(const std::vector<PackagedFile>& files);
std::string FilesList(const std::vector<PackagedFile>& files);
std::string PipRequirements(const PackageMeta& meta);

}  // namespace robotni::package

#endif  // ROBOTNI_RUNTIME_PACKAGE_CONDA_METADATA_H_
