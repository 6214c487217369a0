#include "package/robot_files.h"

#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace robotni::package {

namespace fs = std::filesystem;

namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool Matches(const std::string& pattern, const std::string& text) {
  return pattern == text || fnmatch(pattern.c_str(), text.c_str(), FNM_PATHNAME) == 0;
}

// Inside (or equal to) `dir`, both absolute and normalised.
bool IsUnder(const fs::path& p, const fs::path& dir) {
  auto rel = p.lexically_relative(dir);
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

StatusOr<std::vector<std::string>> LoadIgnorePatterns(const config::RobotYaml& robot) {
  std::vector<std::string> patterns;
  for (const std::string& listed : robot.ignore_files) {
    fs::path file = robot.root / listed;
    std::ifstream in(file, std::ios::binary);
    if (!in)
      return Status::IOError(robot.path.string() + ": ignoreFiles: cannot read " + file.string());
    for (std::string line; std::getline(in, line);) {
      line = Trim(line);
      if (line.empty() || line[0] == '#') continue;
      patterns.push_back(line);
    }
  }
  return patterns;
}

bool IsIgnored(const std::vector<std::string>& patterns, const std::string& relative, bool is_dir) {
  std::string name = relative.substr(relative.rfind('/') + 1);
  for (std::string p : patterns) {
    // A leading '/' anchors a .gitignore line at the root: only the relative path matches.
    const bool anchored = p.size() > 1 && p[0] == '/';
    if (anchored) p.erase(0, 1);
    if ((!anchored && Matches(p, name)) || Matches(p, relative)) return true;
    if (is_dir && ((!anchored && Matches(p, name + "/")) || Matches(p, relative + "/")))
      return true;
  }
  return false;
}

namespace {

struct Walk {
  fs::path root;
  std::vector<fs::path> skipped;
  std::vector<std::string> patterns;
  std::vector<RobotFile> files;

  // Adds the files under `dir`; a folder that cannot be listed is an error naming it.
  Status Dir(const fs::path& dir) {
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      const fs::path abs = it->path().lexically_normal();
      const std::string rel = abs.lexically_relative(root).generic_string();
      struct stat st {};
      if (lstat(abs.c_str(), &st) != 0)
        return Status::IOError("cannot stat " + abs.string() + ": " + strerror(errno));
      const bool is_dir = S_ISDIR(st.st_mode);
      if (abs.filename() == "__pycache__" || IsIgnored(patterns, rel, is_dir) ||
          std::any_of(skipped.begin(), skipped.end(),
                      [&](const fs::path& s) { return abs == s || IsUnder(abs, s); }))
        continue;
      if (is_dir) {
        ROBOTNI_RETURN_IF_ERROR(Dir(abs));
        continue;
      }
      if (!S_ISREG(st.st_mode))
        return Status::InvalidArgument(abs.string() +
                                       ": not a regular file (a symlink, socket or device); "
                                       "robotni packages regular files only: remove it or list "
                                       "it in an ignoreFiles file");
      files.push_back({rel, abs, (st.st_mode & 0111) != 0});
    }
    if (ec) return Status::IOError("cannot list " + dir.string() + ": " + ec.message());
    return Status::OK();
  }
};

}  // namespace

StatusOr<std::vector<RobotFile>> CollectRobotFiles(const config::RobotYaml& robot,
                                                   const std::vector<fs::path>& exclude) {
  auto patterns = LoadIgnorePatterns(robot);
  if (!patterns.ok()) return patterns.status();
  Walk walk;
  walk.root = fs::absolute(robot.root).lexically_normal();
  walk.patterns = std::move(patterns).value();
  for (const fs::path& e : exclude) walk.skipped.push_back(fs::absolute(e).lexically_normal());
  if (!robot.artifacts_dir.empty())
    walk.skipped.push_back(fs::absolute(robot.ArtifactsPath()).lexically_normal());
  // dist/: the default output folder, so that an earlier package built there is not
  // packaged again by a build that writes elsewhere.
  for (const char* own : {".git", ".robotni", "dist"}) walk.skipped.push_back(walk.root / own);
  ROBOTNI_RETURN_IF_ERROR(walk.Dir(walk.root));
  std::sort(walk.files.begin(), walk.files.end(),
            [](const RobotFile& a, const RobotFile& b) { return a.relative < b.relative; });
  return std::move(walk.files);
}

}  // namespace robotni::package
