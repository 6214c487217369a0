#ifndef ROBOTNI_RUNTIME_PACKAGE_CONDA_PACKAGE_H_
#define ROBOTNI_RUNTIME_PACKAGE_CONDA_PACKAGE_H_

// `robotni package`: a robot folder as a noarch conda package, .conda or .tar.bz2
// (docs/packaging.md). The same robot folder and options give byte-identical packages.
// Everything is built in memory: meant for robots (source and data files), not for
// multi-gigabyte folders.

#include <filesystem>
#include <string>

#include "config/robot_yaml.h"
#include "robotni/status.h"

namespace robotni::package {

struct PackageOptions {
  std::filesystem::path output_dir = "dist";
  std::string format = "conda";  // "conda" or "tar.bz2"
  std::string name;              // default: conda.yaml's name:, else the robot's folder name
  std::string version = "0.0.0";
};

struct PackageResult {
  std::filesystem::path path;  // the package written
  std::string name, version;
  size_t files = 0;  // robot files in it
};

// Where a package puts the robot's files, below the conda prefix.
std::string RobotPrefix(const std::string& name);

// InvalidArgument for a robot without a conda.yaml, a malformed conda.yaml, a bad name or
// version; IOError for a file that cannot be read or a package that cannot be written.
StatusOr<PackageResult> BuildCondaPackage(const config::RobotYaml& robot,
                                          const PackageOptions& options);

}  // namespace robotni::package

#endif  // ROBOTNI_RUNTIME_PACKAGE_CONDA_PACKAGE_H_
