#include "python/python_env.h"

#include <Python.h>  // PY_MAJOR_VERSION, PY_MINOR_VERSION: the CPython robotni embeds

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <system_error>

namespace robotni::python {

namespace fs = std::filesystem;

namespace {

const std::string kEmbedded =
    std::to_string(PY_MAJOR_VERSION) + "." + std::to_string(PY_MINOR_VERSION);

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// "3.12" from a pyvenv.cfg's `version = 3.12.1` (3.11 writes `version`, 3.12 also
// `version_info`); "" when the file or the key is missing.
std::string VenvVersion(const fs::path& prefix) {
  std::ifstream in(prefix / "pyvenv.cfg");
  std::string line;
  static const std::regex kLine(R"(^\s*version(_info)?\s*=\s*(\d+)\.(\d+).*$)");
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_match(line, m, kLine)) return m[2].str() + "." + m[3].str();
  return "";
}

// The X.Y of every <prefix>/lib/pythonX.Y/site-packages, sorted.
std::set<std::string> SitePackagesVersions(const fs::path& prefix) {
  std::set<std::string> out;
  std::error_code ec;
  static const std::regex kDir(R"(python(\d+\.\d+))");
  for (fs::directory_iterator it(prefix / "lib", ec), end; !ec && it != end; it.increment(ec)) {
    std::smatch m;
    std::string name = it->path().filename().string();
    if (std::regex_match(name, m, kDir) && fs::is_directory(it->path() / "site-packages", ec))
      out.insert(m[1].str());
  }
  return out;
}

Status Mismatch(const std::string& source, const fs::path& prefix, const std::string& found) {
  return Status::InvalidArgument(source + "=" + prefix.string() + " is a Python " + found +
                                 " environment; robotni embeds CPython " + kEmbedded +
                                 " and can only import " + kEmbedded + " packages: use a Python " +
                                 kEmbedded + " environment (or unset " + source + ")");
}

}  // namespace

StatusOr<PythonEnvironment> InspectPythonPrefix(const fs::path& prefix, const std::string& source) {
  std::error_code ec;
  fs::path abs = fs::absolute(prefix, ec).lexically_normal();
  if (ec) abs = prefix;
  if (!abs.empty() && !abs.has_filename()) abs = abs.parent_path();  // drop a trailing '/'
  if (!fs::is_directory(abs, ec))
    return Status::InvalidArgument(source + "=" + prefix.string() + ": no such directory");
  std::string version = VenvVersion(abs);
  if (!version.empty() && version != kEmbedded) return Mismatch(source, abs, version);
  PythonEnvironment env{abs, source, abs / "lib" / ("python" + kEmbedded) / "site-packages"};
  if (fs::is_directory(env.site_packages, ec)) return env;
  std::set<std::string> others = SitePackagesVersions(abs);
  if (!others.empty()) {
    std::string list;
    for (const auto& v : others) list += (list.empty() ? "" : ", ") + v;
    return Mismatch(source, abs, list);
  }
  return Status::InvalidArgument(source + "=" + prefix.string() + " has no lib/python" + kEmbedded +
                                 "/site-packages: not a Python environment robotni can use");
}

StatusOr<std::optional<PythonEnvironment>> FindPythonEnvironment() {
  for (const char* name : {kPythonPrefixVariable, "VIRTUAL_ENV", "CONDA_PREFIX"}) {
    std::string value = Env(name);
    if (value.empty()) continue;
    std::string source = name == std::string(kPythonPrefixVariable) ? "--python-prefix" : name;
    auto env = InspectPythonPrefix(value, source);
    if (!env.ok()) return env.status();
    return std::optional<PythonEnvironment>(std::move(env).value());
  }
  return std::optional<PythonEnvironment>();
}

}  // namespace robotni::python
