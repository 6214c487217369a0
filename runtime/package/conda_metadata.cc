#include "package/conda_metadata.h"

#include <cctype>

#include <nlohmann/json.hpp>

namespace robotni::package {

namespace {

std::string Dump(const nlohmann::json& j) { return j.dump(2) + "\n"; }

bool VersionChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '+' ||
         c == '!' || c == '*';
}

}  // namespace

StatusOr<std::string> CondaName(const std::string& raw) {
  std::string out;
  for (char c : raw) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '.' || l == '_' || l == '-';
    if (ok)
      out += l;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  while (!out.empty() && (out[0] == '-' || out[0] == '.')) out.erase(0, 1);
  if (out.empty())
    return Status::InvalidArgument("package name \"" + raw +
                                   "\" has no letter or digit left as a conda name; give one "
                                   "with --name");
  return out;
}

Status CheckCondaVersion(const std::string& version) {
  bool ok = !version.empty() && version.front() != '.' && version.back() != '.';
  for (char c : version) ok = ok && VersionChar(c) && c != '*';
  if (!ok)
    return Status::InvalidArgument("package version \"" + version +
                                   "\" is not a conda version: letters, digits and . _ + ! "
                                   "only (no '-'), e.g. 1.2.0");
  return Status::OK();
}

std::string MatchSpec(const std::string& dependency) {
  std::string dep = dependency;
  if (auto colons = dep.find("::"); colons != std::string::npos) dep = dep.substr(colons + 2);
  size_t end = dep.find_first_of("=<>!~ ");
  std::string name = dep.substr(0, end);
  if (end == std::string::npos) return name;
  std::string rest = dep.substr(end);
  while (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
  if (rest.empty()) return name;
  // conda.yaml's "name=ver[=build]": "=" is conda's fuzzy match (ver.*).
  if (rest[0] == '=' && (rest.size() < 2 || rest[1] != '=')) {
    std::string ver = rest.substr(1), build;
    if (auto eq = ver.find('='); eq != std::string::npos) {
      build = ver.substr(eq + 1);
      ver = ver.substr(0, eq);
    }
    if (ver.empty()) return name;
    if (ver.back() != '*') ver += ".*";
    return name + " " + ver + (build.empty() ? "" : " " + build);
  }
  return name + " " + rest;  // an operator or the space form: as written
}

std::string IndexJson(const PackageMeta& meta) {
  nlohmann::json j;
  j["arch"] = nullptr;
  j["build"] = meta.build;
  j["build_number"] = meta.build_number;
  j["depends"] = meta.depends;
  j["name"] = meta.name;
  j["noarch"] = "python";
  j["platform"] = nullptr;
  j["subdir"] = "noarch";
  j["version"] = meta.version;
  return Dump(j);
}

std::string AboutJson(const PackageMeta& meta) {
  nlohmann::json j;
  j["summary"] = "The robot " + meta.name + ", packaged by robotni: run it with `robotni run -r " +
                 "$CONDA_PREFIX/" + meta.prefix + "/robot.yaml`";
  j["channels"] = meta.channels;
  j["extra"]["robotni"]["prefix"] = meta.prefix;
  j["extra"]["robotni"]["pip_dependencies"] = meta.pip;
  j["extra"]["robotni"]["tasks"] = meta.tasks;
  return Dump(j);
}

std::string LinkJson() {
  nlohmann::json j;
  j["noarch"]["type"] = "python";
  j["package_metadata_version"] = 1;
  return Dump(j);
}

std::string PathsJson(const std::vector<PackagedFile>& files) {
  nlohmann::json paths = nlohmann::json::array();
  for (const PackagedFile& f : files) {
    nlohmann::json p;
    p["_path"] = f.path;
    p["path_type"] = "hardlink";
    p["sha256"] = f.sha256;
    p["size_in_bytes"] = f.size;
    paths.push_back(std::move(p));
  }
  nlohmann::json j;
  j["paths"] = std::move(paths);
  j["paths_version"] = 1;
  return Dump(j);
}

std::string FilesList(const std::vector<PackagedFile>& files) {
  std::string out;
  for (const PackagedFile& f : files) out += f.path + "\n";
  return out;
}

std::string PipRequirements(const PackageMeta& meta) {
  std::string out;
  for (const std::string& p : meta.pip) out += p + "\n";
  return out;
}

}  // namespace robotni::package
