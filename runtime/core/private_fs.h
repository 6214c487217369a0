#ifndef ROBOTNI_RUNTIME_CORE_PRIVATE_FS_H_
#define ROBOTNI_RUNTIME_CORE_PRIVATE_FS_H_

// Files and directories only their owner may read: the work-item store, its files and the
// API token hold job data and secrets. Modes are set with fchmod/chmod after creating, so a
// permissive umask (0 or 022) cannot widen them.
// Thread-safety: plain functions.

#include <string>

#include "robotni/status.h"

namespace robotni::core {

// Creates `dir` and whichever of its parents are missing, each with mode 0700. Directories
// that already exist keep their mode. IOError naming the directory that could not be made.
Status CreatePrivateDirectories(const std::string& dir);

// Creates `path` as an empty file with mode 0600 unless something exists there already
// (O_CREAT | O_EXCL | O_NOFOLLOW: an existing file or link is left alone, not an error).
Status CreatePrivateFileIfMissing(const std::string& path);

}  // namespace robotni::core

#endif  // ROBOTNI_RUNTIME_CORE_PRIVATE_FS_H_
