#include "package/tar_reader.h"

#include <cstdint>

namespace robotni::package {

namespace {

// A NUL- or space-terminated octal field (GNU base-256 sizes are refused: over 8 GiB).
bool Octal(std::string_view f, uint64_t* out) {
  uint64_t v = 0;
  size_t i = 0;
  while (i < f.size() && f[i] == ' ') ++i;
  bool any = false;
  for (; i < f.size() && f[i] >= '0' && f[i] <= '7'; ++i, any = true) v = v * 8 + (f[i] - '0');
  *out = v;
  return any || f.empty() || f[0] == '\0';
}

std::string Field(std::string_view block, size_t at, size_t len) {
  std::string_view f = block.substr(at, len);
  return std::string(f.substr(0, f.find('\0')));
}

Status Bad(const std::string& why) { return Status::InvalidArgument("not a valid tar: " + why); }

// "LEN key=value\n" records; path and linkpath are the ones conda packages need.
Status ParsePax(std::string_view d, std::string* path, std::string* link) {
  while (!d.empty()) {
    size_t sp = d.find(' ');
    uint64_t len = 0;
    for (size_t i = 0; i < sp && i < d.size(); ++i) {
      if (d[i] < '0' || d[i] > '9') return Bad("bad pax record");
      len = len * 10 + (d[i] - '0');
    }
    if (sp == std::string_view::npos || len <= sp + 1 || len > d.size())
      return Bad("bad pax record");
    std::string_view rec = d.substr(sp + 1, len - sp - 2);  // without the trailing '\n'
    size_t eq = rec.find('=');
    if (eq != std::string_view::npos) {
      std::string_view key = rec.substr(0, eq), value = rec.substr(eq + 1);
      if (key == "path") *path = std::string(value);
      if (key == "linkpath") *link = std::string(value);
    }
    d.remove_prefix(len);
  }
  return Status::OK();
}

}  // namespace

StatusOr<std::vector<TarEntry>> ReadTar(std::string_view tar) {
  std::vector<TarEntry> out;
  std::string next_path, next_link;  // from a pax or GNU long-name record
  size_t p = 0;
  for (;;) {
    if (p + 512 > tar.size()) return Bad("truncated (no end-of-archive blocks)");
    std::string_view h = tar.substr(p, 512);
    if (h.find_first_not_of('\0') == std::string_view::npos) return out;  // end of archive
    uint64_t sum = 0, stored = 0, size = 0, mode = 0;
    for (size_t i = 0; i < 512; ++i)
      sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
    if (!Octal(h.substr(148, 8), &stored) || stored != sum) return Bad("header checksum mismatch");
    if (!Octal(h.substr(124, 12), &size) || !Octal(h.substr(100, 8), &mode))
      return Bad("bad size or mode field");
    char type = h[156];
    p += 512;
    if (size > tar.size() - p) return Bad("entry data truncated");
    std::string_view data = tar.substr(p, size);
    p += (size + 511) / 512 * 512;
    if (type == 'x') {
      ROBOTNI_RETURN_IF_ERROR(ParsePax(data, &next_path, &next_link));
      continue;
    }
    if (type == 'g') continue;  // global pax header: nothing conda packages need
    if (type == 'L' || type == 'K') {
      (type == 'L' ? next_path : next_link) = std::string(data.substr(0, data.find('\0')));
      continue;
    }
    TarEntry e;
    std::string name = Field(h, 0, 100), prefix = Field(h, 345, 155);
    bool ustar = h.substr(257, 5) == "ustar";
    e.path = !next_path.empty() ? next_path : (ustar && !prefix.empty() ? prefix + "/" : "") + name;
    e.link = !next_link.empty() ? next_link : Field(h, 157, 100);
    next_path.clear();
    next_link.clear();
    while (e.path.rfind("./", 0) == 0) e.path.erase(0, 2);
    e.mode = static_cast<unsigned>(mode & 07777);
    switch (type) {
      case '0':
      case '\0':
      case '7':
        e.type = TarEntry::Type::kFile;
        e.data = data;
        break;
      case '5':
        e.type = TarEntry::Type::kDirectory;
        break;
      case '2':
        e.type = TarEntry::Type::kSymlink;
        break;
      case '1':
        e.type = TarEntry::Type::kHardlink;
        break;
      default:
        return Bad(e.path + ": entry type '" + std::string(1, type) +
                   "' (a device or FIFO) is not allowed in a package");
    }
    while (!e.path.empty() && e.path.back() == '/') e.path.pop_back();
    if (e.path.empty() || e.path == ".") continue;
    out.push_back(std::move(e));
  }
}

}  // namespace robotni::package
