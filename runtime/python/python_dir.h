#ifndef ROBOTNI_RUNTIME_PYTHON_PYTHON_DIR_H_
#define ROBOTNI_RUNTIME_PYTHON_PYTHON_DIR_H_

// Where robotni's own Python packages (host/ and shims/) are: found relative to the
// installed binary that holds this code, never through a path compiled in.
//
// Thread-safety: LocatePythonDir reads the environment and the file system only; it may
// be called from any thread.

#include <filesystem>
#include <string>

#include "robotni/status.h"

namespace robotni::python {

struct PythonDirLocation {
  enum class Source {
    kEnvironment,  // $ROBOTNI_PYTHON_DIR
    kInstalled,    // <prefix>/share/robotni/python beside <prefix>/bin or <prefix>/lib
    kBuildTree,    // robotni-python-dir.txt, written by CMake next to the build's binaries
  };
  std::filesystem::path dir;  // holds host/robotni_host.py and shims/
  Source source = Source::kInstalled;
};

const char* PythonDirSourceName(PythonDirLocation::Source source);

// Looks, in this order:
//  1. $ROBOTNI_PYTHON_DIR, when set and not empty (used as given: when it does not hold
//     the packages, that is the error; nothing else is tried);
//  2. relative to the file that holds this code (librobotni.so.0, or the executable when
//     the runtime is linked in statically), resolved through symlinks:
//       <dir>/../share/robotni/python            <prefix>/bin/robotni, <prefix>/lib/librobotni.so.0
//       <dir>/../../share/robotni/python         <prefix>/lib/<multiarch>/librobotni.so.0
//       <dir>/../../../../share/robotni/python   <prefix>/lib/python3/dist-packages/robotni/*.so
//     (the deeper two only when <dir> is laid out that way);
//  3. <dir>/robotni-python-dir.txt: one line naming the directory, which the build writes
//     next to its binaries (a build tree only; never installed).
// NotFound says where it looked: "cannot find robotni's Python packages (looked in A, B,
// C); set ROBOTNI_PYTHON_DIR or reinstall".
StatusOr<PythonDirLocation> LocatePythonDir();

// The shared object or executable that holds this code (absolute, symlinks resolved);
// empty when it cannot be told.
std::filesystem::path RuntimeBinaryPath();

}  // namespace robotni::python

#endif  // ROBOTNI_RUNTIME_PYTHON_PYTHON_DIR_H_
