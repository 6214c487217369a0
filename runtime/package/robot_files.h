#ifndef ROBOTNI_RUNTIME_PACKAGE_ROBOT_FILES_H_
#define ROBOTNI_RUNTIME_PACKAGE_ROBOT_FILES_H_

// Which files of a robot folder go into its package (docs/packaging.md): every regular
// file under the robot's root, sorted by path, except
//   - what robot.yaml's ignoreFiles exclude: each listed file holds one glob a line
//     ('#' comments, blank lines skipped), matched as rcc does against a file's or
//     folder's name (a folder also as "name/"), and, beyond rcc, against its path
//     relative to the root (only that when the glob starts with '/', as in .gitignore);
//   - .git/, .robotni/ (the work-item store), dist/ (the default output folder),
//     __pycache__/ anywhere, the artifactsDir;
//   - the paths in `exclude` (the package's own output folder).
// A symlink or anything else that is not a regular file or folder is an error, not
// silently skipped.

#include <filesystem>
#include <string>
#include <vector>

#include "config/robot_yaml.h"
#include "robotni/status.h"

namespace robotni::package {

struct RobotFile {
  std::string relative;  // '/'-separated, from the robot's root
  std::filesystem::path absolute;
  bool executable = false;  // any execute bit set
};

StatusOr<std::vector<RobotFile>> CollectRobotFiles(
    const config::RobotYaml& robot, const std::vector<std::filesystem::path>& exclude);

// The globs of robot.yaml's ignoreFiles, in order. IOError naming the file when one of
// them cannot be read (rcc fails the same way).
StatusOr<std::vector<std::string>> LoadIgnorePatterns(const config::RobotYaml& robot);

// Whether `relative` (a file, or a folder when is_dir) is excluded by one of `patterns`.
bool IsIgnored(const std::vector<std::string>& patterns, const std::string& relative, bool is_dir);

}  // namespace robotni::package

#endif  // ROBOTNI_RUNTIME_PACKAGE_ROBOT_FILES_H_
