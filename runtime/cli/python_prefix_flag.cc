#include "cli/python_prefix_flag.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cli/commands.h"
#include "python/python_env.h"

namespace robotni::cli {

void AddPythonPrefixOption(CLI::App* cmd) {
  cmd->add_option_function<std::string>(
      "--python-prefix",
      [](const std::string& prefix) {
        std::string abs = std::filesystem::absolute(prefix).lexically_normal().string();
        setenv(python::kPythonPrefixVariable, abs.c_str(), 1);
      },
      "A venv or conda environment for Python 3.11 whose site-packages the tasks import "
      "(default: $VIRTUAL_ENV, else $CONDA_PREFIX)");
}

int CheckPythonEnvironment() {
  auto env = python::FindPythonEnvironment();
  if (env.ok()) return kExitOk;
  fprintf(stderr, "robotni: %s\n", env.status().message().c_str());
  return kExitPythonEnvironment;
}

}  // namespace robotni::cli
