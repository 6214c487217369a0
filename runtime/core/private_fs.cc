#include "core/private_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace robotni::core {

namespace fs = std::filesystem;

Status CreatePrivateDirectories(const std::string& dir) {
  fs::path p = fs::path(dir).lexically_normal();
  // The missing ones, innermost first; then made outermost first.
  std::vector<fs::path> missing;
  for (fs::path at = p; !at.empty(); at = at.parent_path()) {
    struct stat st {};
    if (::stat(at.c_str(), &st) == 0) break;
    if (errno != ENOENT)
      return Status::IOError("cannot stat " + at.string() + ": " + strerror(errno));
    missing.push_back(at);
    if (at == at.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0) {
      if (errno == EEXIST) continue;  // made meanwhile by another thread or process
      return Status::IOError("cannot create directory " + it->string() + ": " + strerror(errno));
    }
    ::chmod(it->c_str(), 0700);  // the umask may have taken more than 0700 allows
  }
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::IOError("cannot create directory " + p.string() + ": not a directory");
  return Status::OK();
}

Status CreatePrivateFileIfMissing(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::OK();
    return Status::IOError("cannot create " + path + ": " + strerror(errno));
  }
  ::fchmod(fd, 0600);
  ::close(fd);
  return Status::OK();
}

}  // namespace robotni::core
