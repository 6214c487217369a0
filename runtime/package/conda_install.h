#ifndef ROBOTNI_RUNTIME_PACKAGE_CONDA_INSTALL_H_
#define ROBOTNI_RUNTIME_PACKAGE_CONDA_INSTALL_H_

// `robotni env create`: conda packages (.conda or .tar.bz2) unpacked into a prefix, each
// with its conda-meta/<name>-<version>-<build>.json record in conda's PrefixRecord format
// (docs/packaging.md). No solver and no download: the packages given are the ones
// installed. A package is read, checked and unpacked in memory first, so a corrupt
// archive or an unsafe path writes nothing; its record is written last, so a failure
// while writing files leaves no record claiming the package is installed.

#include <filesystem>
#include <string>
#include <vector>

#include "robotni/status.h"

namespace robotni::package {

struct PackageFile {
  enum class Type { kFile, kSymlink };
  Type type = Type::kFile;
  std::string source_path;  // in the package
  std::string path;         // in the prefix (noarch: python's site-packages/ moved)
  std::string data;         // a file's bytes, prefix placeholder already replaced
  std::string link;         // a symlink's target
  unsigned mode = 0644;
  std::string sha256_in_package;  // of the bytes as packaged (before placeholder replacement)
  size_t size_in_package = 0;
};

struct LoadedPackage {
  std::filesystem::path archive;  // absolute
  std::string file_name;          // e.g. orders-1.0.0-py_0.conda
  std::string name, version, build;
  std::string md5, sha256;
  size_t size = 0;
  std::string index_json;  // info/index.json as packaged
  std::vector<PackageFile> files;
};

// Reads and checks a package for installing into `prefix` (which the prefix placeholder
// is replaced with). InvalidArgument for an unknown file type, a corrupt archive, a
// missing or malformed info/index.json, an unsafe path (absolute, `..`, a symlink that
// points outside the prefix); IOError when the file cannot be read.
StatusOr<LoadedPackage> LoadCondaPackage(const std::filesystem::path& archive,
                                         const std::filesystem::path& prefix);

// The Python minor version noarch: python packages are installed for.
inline constexpr const char* kNoarchPythonSitePackages = "lib/python3.11/site-packages";

struct InstallResult {
  std::filesystem::path record;  // conda-meta/<name>-<version>-<build>.json
  size_t files = 0;
};

// Writes the package's files and then its record. Installing the same package again
// rewrites both; another build or version of a package of the same name replaces it
// (files it had that this one does not are removed). Also creates
// <prefix>/lib/python3.11/site-packages and conda-meta/history, so that the prefix is a
// Python 3.11 environment for --python-prefix and a conda environment for conda.
StatusOr<InstallResult> InstallCondaPackage(const LoadedPackage& package,
                                            const std::filesystem::path& prefix);

}  // namespace robotni::package

#endif  // ROBOTNI_RUNTIME_PACKAGE_CONDA_INSTALL_H_
