#ifndef ROBOTNI_RUNTIME_CLI_PYTHON_PREFIX_FLAG_H_
#define ROBOTNI_RUNTIME_CLI_PYTHON_PREFIX_FLAG_H_

// `--python-prefix PREFIX` (run, serve, env check) and the check of the Python environment
// robotni runs in (python/python_env.h) before a command starts Python.

#include <CLI/CLI.hpp>

namespace robotni::cli {

// Adds --python-prefix to `cmd`. The value is put, made absolute, in
// $ROBOTNI_PYTHON_PREFIX while the command line is parsed, so the interpreter host and
// every worker process (which inherit the environment) see it.
void AddPythonPrefixOption(CLI::App* cmd);

// kExitOk, or kExitPythonEnvironment after one line on stderr when the environment
// (--python-prefix, VIRTUAL_ENV, CONDA_PREFIX) is for another Python version or not one.
int CheckPythonEnvironment();

}  // namespace robotni::cli

#endif  // ROBOTNI_RUNTIME_CLI_PYTHON_PREFIX_FLAG_H_
