#include "package/tar_writer.h"

#include <cstdio>
#include <cstring>

namespace robotni::package {

namespace {

constexpr size_t kBlock = 512;

// An octal number in a NUL-terminated field of `width` bytes.
void Octal(char* field, size_t width, unsigned long long value) {
  snprintf(field, width, "%0*llo", static_cast<int>(width - 1), value);
}

// ustar splits a long path at a '/' into prefix (<= 155 bytes) and name (<= 100 bytes).
bool SplitPath(const std::string& path, std::string* prefix, std::string* name) {
  if (path.size() <= 100) {
    *name = path;
    return true;
  }
  for (size_t slash = path.find('/'); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    if (slash <= 155 && path.size() - slash - 1 <= 100 && slash + 1 < path.size()) {
      *prefix = path.substr(0, slash);
      *name = path.substr(slash + 1);
      return true;
    }
  }
  return false;
}

}  // namespace

Status TarWriter::Add(const std::string& path, std::string_view data, bool executable) {
  std::string prefix, name;
  if (path.empty() || !SplitPath(path, &prefix, &name))
    return Status::InvalidArgument("path \"" + path +
                                   "\" does not fit a tar (ustar) header: at most 100 bytes "
                                   "after the last fitting '/', 155 before it");
  char h[kBlock] = {};
  memcpy(h, name.data(), name.size());
  Octal(h + 100, 8, executable ? 0755 : 0644);
  Octal(h + 108, 8, 0);  // uid
  Octal(h + 116, 8, 0);  // gid
  Octal(h + 124, 12, data.size());
  Octal(h + 136, 12, 0);  // mtime
  h[156] = '0';           // regular file
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  memcpy(h + 345, prefix.data(), prefix.size());
  // The checksum is taken with its own field as spaces.
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  out_.append(h, kBlock);
  out_.append(data);
  out_.append((kBlock - data.size() % kBlock) % kBlock, '\0');
  return Status::OK();
}

std::string TarWriter::Finish() {
  out_.append(2 * kBlock, '\0');
  return std::move(out_);
}

}  // namespace robotni::package
