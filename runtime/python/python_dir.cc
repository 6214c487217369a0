#include "python/python_dir.h"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace robotni::python {

namespace fs = std::filesystem;

namespace {

// Any function of this translation unit: dladdr tells which loaded file holds it.
void Anchor() {}

// A directory holds robotni's Python packages when both halves are there.
bool HoldsPackages(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "host" / "robotni_host.py", ec) &&
         fs::is_directory(dir / "shims" / "robocorp", ec);
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

const char* PythonDirSourceName(PythonDirLocation::Source source) {
  switch (source) {
    case PythonDirLocation::Source::kEnvironment:
      return "ROBOTNI_PYTHON_DIR";
    case PythonDirLocation::Source::kInstalled:
      return "installed";
    case PythonDirLocation::Source::kBuildTree:
      return "build tree";
  }
  return "?";
}

fs::path RuntimeBinaryPath() {
  Dl_info info{};
  link_map* map = nullptr;
  std::error_code ec;
  if (dladdr1(reinterpret_cast<void*>(&Anchor), &info, reinterpret_cast<void**>(&map),
              RTLD_DL_LINKMAP) != 0 &&
      map && map->l_name && map->l_name[0] != '\0') {
    // A shared object: the name it was loaded by (absolute for DT_NEEDED libraries
    // found on the search path; relative only when dlopen()ed by a relative name).
    fs::path p = fs::weakly_canonical(fs::absolute(map->l_name, ec), ec);
    if (!ec) return p;
  }
  // The main program (dladdr would only give argv[0]).
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe;
}

StatusOr<PythonDirLocation> LocatePythonDir() {
  std::vector<std::string> looked;
  if (const char* env = getenv("ROBOTNI_PYTHON_DIR"); env && *env) {
    if (HoldsPackages(env)) return PythonDirLocation{env, PythonDirLocation::Source::kEnvironment};
    looked.push_back(std::string(env) + " (ROBOTNI_PYTHON_DIR)");
  } else {
    fs::path binary = RuntimeBinaryPath();
    if (binary.empty()) {
      looked.push_back("<the runtime's own location, which cannot be told>");
    } else {
      fs::path dir = binary.parent_path();
      std::vector<fs::path> candidates = {dir.parent_path() / "share" / "robotni" / "python"};
      // <prefix>/lib/<multiarch>/librobotni.so.0
      if (StartsWith(dir.parent_path().filename().string(), "lib"))
        candidates.push_back(dir.parent_path().parent_path() / "share" / "robotni" / "python");
      // <prefix>/lib/python3/dist-packages/robotni/_native*.so
      if (EndsWith(dir.parent_path().filename().string(), "-packages"))
        candidates.push_back(dir.parent_path().parent_path().parent_path().parent_path() /
                             "share" / "robotni" / "python");
      for (const auto& c : candidates) {
        fs::path n = c.lexically_normal();
        if (HoldsPackages(n)) return PythonDirLocation{n, PythonDirLocation::Source::kInstalled};
        looked.push_back(n.string());
      }
      // A build tree: the build wrote where the sources are next to its binaries.
      fs::path marker = dir / "robotni-python-dir.txt";
      std::ifstream f(marker);
      std::string line;
      if (f && std::getline(f, line) && !line.empty()) {
        if (HoldsPackages(line))
          return PythonDirLocation{fs::path(line), PythonDirLocation::Source::kBuildTree};
        looked.push_back(line + " (from " + marker.string() + ")");
      } else {
        looked.push_back(marker.string());
      }
    }
  }
  std::string where;
  for (const auto& l : looked) where += (where.empty() ? "" : ", ") + l;
  return Status::NotFound("cannot find robotni's Python packages (looked in " + where +
                          "); set ROBOTNI_PYTHON_DIR or reinstall");
}

}  // namespace robotni::python
