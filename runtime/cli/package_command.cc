// `robotni package`: builds a conda package of a robot (runtime/package/conda_package.h,
// docs/packaging.md). Prints the package's path on stdout.
#include <cstdio>

#include "cli/commands.h"
#include "cli/robot_loader.h"
#include "package/conda_package.h"

namespace robotni::cli {

namespace {

struct PackageFlags {
  std::string robot = "robot.yaml";
  package::PackageOptions options;
  std::string output_dir = "dist";
};

int Package(PackageFlags flags) {
  int code = 0;
  auto robot = LoadRobotOrExit(flags.robot, &code);
  if (!robot) return code;
  flags.options.output_dir = flags.output_dir;
  auto built = package::BuildCondaPackage(*robot, flags.options);
  if (!built.ok()) {
    PrintError(built.status().message());
    return built.status().IsInvalidArgument() ? kExitRobotInvalid : kExitRobotLoad;
  }
  printf("%s\n", built->path.c_str());
  fprintf(stderr, "robotni: packaged %zu file(s) of %s as %s %s\n", built->files,
          robot->root.c_str(), built->name.c_str(), built->version.c_str());
  return kExitOk;
}

}  // namespace

void AddPackageCommand(CLI::App& app, CommandBody* body) {
  auto flags = std::make_shared<PackageFlags>();
  auto* cmd = app.add_subcommand("package",
                                 "Build a noarch conda package of the robot (.conda or .tar.bz2)");
  cmd->add_option("-r,--robot", flags->robot, "Path to robot.yaml")->capture_default_str();
  cmd->add_option("-o,--output", flags->output_dir, "Folder to write the package to")
      ->capture_default_str();
  cmd->add_option("--format", flags->options.format, "Package format")
      ->check(CLI::IsMember({"conda", "tar.bz2"}))
      ->capture_default_str();
  cmd->add_option("--name", flags->options.name,
                  "Package name (default: conda.yaml's name:, else the robot's folder name)");
  cmd->add_option("--version", flags->options.version, "Package version (a conda version)")
      ->capture_default_str();
  cmd->callback([=] { *body = [flags] { return Package(*flags); }; });
}

}  // namespace robotni::cli
