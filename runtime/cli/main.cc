// robotni: runs Robocorp-style robots in-process on embedded CPython.
#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"robotni " ROBOTNI_VERSION
               " - runs robot.yaml tasks in warm CPython sub-interpreters, with a work-item "
               "queue in SQLite"};
  app.set_version_flag("--version", "robotni " ROBOTNI_VERSION);
  app.require_subcommand(1);
  robotni::cli::CommandBody body;
  robotni::cli::AddRunCommand(app, &body);
  robotni::cli::AddTasksCommand(app, &body);
  robotni::cli::AddItemsCommand(app, &body);
  robotni::cli::AddServeCommand(app, &body);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help / --version exit 0; any usage error exits 2 ("invalid"), not CLI11's
    // own codes, so scripts see one code for bad arguments.
    return app.exit(e) == 0 ? 0 : 2;
  }
  return body ? body() : 0;
}
