#ifndef ROBOTNI_RUNTIME_CONFIG_CONDA_YAML_H_
#define ROBOTNI_RUNTIME_CONFIG_CONDA_YAML_H_

// conda.yaml (rcc conda/condayaml.go). Nothing on Debian can solve or install it, so
// robotni treats it as metadata: it is parsed, validated and checked against the
// embedded Python (3.11); dependencies are reported, not installed.

#include <filesystem>
#include <string>
#include <vector>

#include "robotni/status.h"

namespace robotni::config {

struct CondaYaml {
  std::filesystem::path path;
  std::string name;  // ignored by rcc, kept for messages
  std::vector<std::string> channels;
  std::vector<std::string> dependencies;  // conda specs, e.g. "python=3.11.2"
  std::vector<std::string> pip;           // the `- pip: [...]` list
  std::vector<std::string> rcc_post_install;
  // Version part of the python dependency, "" if none: the operator and version with
  // conda's fuzzy "=" dropped: "python=3.11.2" -> "3.11.2", "python==3.11" -> "==3.11",
  // "python>=3.10,<3.12" -> ">=3.10,<3.12", "python" -> "".
  std::string python_spec;

  // Additions (filled by ParseCondaYaml): entries rcc silently ignores, e.g. a
  // `- conda: [...]` map in dependencies or `prefix:`. "file:line: field: text".
  std::vector<std::string> notes;
};

StatusOr<CondaYaml> LoadCondaYaml(const std::filesystem::path& path);
StatusOr<CondaYaml> ParseCondaYaml(const std::string& text, const std::filesystem::path& path);

// Warnings (not errors) about what the embedded runtime will not honour: a python
// spec that does not match 3.11, pip packages (not installed by robotni).
// Also repeats `notes` and mentions rccPostInstall (robotni does not run it).
// `list_packages` false leaves out the lists of conda and pip packages robotni does not
// install (`robotni run` says which are missing instead: service/env_check.h).
std::vector<std::string> CondaWarnings(const CondaYaml& conda, bool list_packages = true);

// Whether a conda/pip version spec (python_spec syntax: "3.11", "3.11.*", "==3.11.2",
// ">=3.10,<3.12", "3.10|3.11", "~=3.11.0") admits version major.minor.micro.
// InvalidArgument when the spec cannot be understood.
StatusOr<bool> VersionSpecAllows(const std::string& spec, int major, int minor, int micro);

}  // namespace robotni::config

#endif  // ROBOTNI_RUNTIME_CONFIG_CONDA_YAML_H_
