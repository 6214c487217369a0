// robotni: runs Robocorp-style robots in-process on embedded CPython.
#include <cstdio>

#include "cli/commands.h"
#include "cli/flag_checks.h"
#include "cli/python_prefix_flag.h"
#include "python/version.h"
#include "worker/worker_main.h"

namespace {

// `robotni version` and `robotni --version`: the versions on stdout; when robotni's Python
// packages cannot be found, also the one-line error on stderr and kExitInstallBroken.
int PrintVersion() {
  robotni::python::VersionReport report = robotni::python::VersionInfo();
  fputs(robotni::python::FormatVersionReport(report).c_str(), stdout);
  fflush(stdout);
  if (!report.packages.ok()) {
    fprintf(stderr, "robotni: %s\n", report.packages.status().message().c_str());
    return robotni::cli::kExitInstallBroken;
  }
  return robotni::cli::kExitOk;
}

// Commands that run Python check the installation first: one line, then exit 4, instead
// of a Python traceback (or worse) from an interpreter without robotni's packages.
int CheckInstallation() {
  auto found = robotni::python::LocatePythonDir();
  if (found.ok()) return robotni::cli::kExitOk;
  fprintf(stderr, "robotni: %s\n", found.status().message().c_str());
  return robotni::cli::kExitInstallBroken;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"robotni " ROBOTNI_VERSION
               " - runs robot.yaml tasks in warm CPython sub-interpreters, with a work-item "
               "queue in SQLite"};
  app.set_version_flag("--version", std::string("robotni " ROBOTNI_VERSION),
                       "Print the versions of robotni, its Python and SQLite, and where its "
                       "Python packages are");
  app.require_subcommand(1);
  robotni::cli::CommandBody body;
  robotni::cli::AddRunCommand(app, &body);
  robotni::cli::AddTasksCommand(app, &body);
  robotni::cli::AddItemsCommand(app, &body);
  robotni::cli::AddServeCommand(app, &body);
  robotni::cli::AddPackageCommand(app, &body);
  robotni::cli::AddEnvCommand(app, &body);
  robotni::cli::AddStoreCommand(app, &body);
  // A worker process's body, started by serve's control process (docs/worker-processes.md);
  // hidden from --help: it speaks a protocol on the given fd, not to a user.
  int worker_fd = -1;
  auto* worker = app.add_subcommand("worker", "")->group("");
  worker->add_option("--fd", worker_fd)->required();
  worker->callback([&] { body = [&] { return robotni::worker::WorkerMain(worker_fd); }; });
  app.add_subcommand("version",
                     "Print the versions of robotni, its Python and SQLite, and where its Python "
                     "packages are")
      ->callback([&body] { body = PrintVersion; });
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForVersion&) {
    return PrintVersion();
  } catch (const CLI::ParseError& e) {
    // An unknown or missing command: say which there are (CLI11 says "A subcommand is
    // required" for `robotni foo`).
    if (std::string msg = robotni::cli::SubcommandError(app, e); !msg.empty()) {
      fprintf(stderr, "%s\n", msg.c_str());
      return 2;
    }
    // --help exits 0; any usage error exits 2 ("invalid"), not CLI11's own codes, so
    // scripts see one code for bad arguments.
    return app.exit(e) == 0 ? 0 : 2;
  }
  const CLI::App* env = app.got_subcommand("env") ? app.get_subcommand("env") : nullptr;
  bool env_create = env && env->got_subcommand("create");  // runs no Python
  if (app.got_subcommand("run") || app.got_subcommand("serve") || (env && !env_create)) {
    if (int code = CheckInstallation(); code != robotni::cli::kExitOk) return code;
    // A venv or conda environment of another Python: one line, not an import error later.
    if (int code = robotni::cli::CheckPythonEnvironment(); code != robotni::cli::kExitOk)
      return code;
  }
  return body ? body() : 0;
}
