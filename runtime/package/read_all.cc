#include "package/read_all.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace robotni::package {

StatusOr<std::string> ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return Status::IOError("cannot read " + p.string() + ": " + strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IOError("cannot read " + p.string() + ": " + strerror(errno));
  return ss.str();
}

}  // namespace robotni::package
