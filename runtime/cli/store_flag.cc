#include "cli/store_flag.h"

#include <filesystem>

namespace robotni::cli {

namespace fs = std::filesystem;

Status CheckStoreDirectory(const std::string& store, const std::string& what) {
  std::string path = store;
  if (path.rfind("sqlite://", 0) == 0) {
    path = path.substr(9);
    if (path.empty() || path[0] != '/') return Status::OK();  // the store says: not absolute
  } else if (path.find("://") != std::string::npos) {
    return Status::OK();
  }
  if (path.empty()) return Status::OK();
  std::error_code ec;
  fs::path dir = fs::absolute(path, ec).lexically_normal().parent_path();
  if (dir.empty() || fs::is_directory(dir, ec)) return Status::OK();
  if (fs::exists(dir, ec))
    return Status::InvalidArgument(what + ": " + dir.string() + " is not a directory");
  return Status::InvalidArgument(what + ": the directory " + dir.string() +
                                 " does not exist (robotni creates the store file, not its "
                                 "directory: create it first)");
}

}  // namespace robotni::cli
