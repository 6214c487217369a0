#include "package/zip_reader.h"

#include <cstdint>

#include "package/zip_writer.h"

namespace robotni::package {

namespace {

uint32_t Le(std::string_view d, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(d[at + i]);
  return v;
}

Status Bad(const std::string& why) { return Status::InvalidArgument("not a valid zip: " + why); }

}  // namespace

StatusOr<std::map<std::string, std::string_view>> ReadStoredZip(std::string_view zip) {
  // The end-of-central-directory record: the last "PK\5\6" with room for its 22 bytes.
  if (zip.size() < 22) return Bad("too short");
  size_t eocd = std::string_view::npos;
  size_t lowest = zip.size() > 22 + 65535 ? zip.size() - 22 - 65535 : 0;
  for (size_t i = zip.size() - 22 + 1; i-- > lowest;) {
    if (Le(zip, i, 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string_view::npos) return Bad("no end of central directory");
  uint32_t count = Le(zip, eocd + 10, 2);
  uint32_t cd_size = Le(zip, eocd + 12, 4);
  uint32_t cd_off = Le(zip, eocd + 16, 4);
  if (uint64_t{cd_off} + cd_size > eocd) return Bad("central directory out of range");
  std::map<std::string, std::string_view> out;
  size_t p = cd_off;
  for (uint32_t i = 0; i < count; ++i) {
    if (p + 46 > eocd || Le(zip, p, 4) != 0x02014b50) return Bad("bad central directory entry");
    uint32_t method = Le(zip, p + 10, 2);
    uint32_t crc = Le(zip, p + 16, 4);
    uint32_t csize = Le(zip, p + 20, 4);
    uint32_t usize = Le(zip, p + 24, 4);
    uint32_t name_len = Le(zip, p + 28, 2), extra_len = Le(zip, p + 30, 2),
             comment_len = Le(zip, p + 32, 2);
    uint32_t local = Le(zip, p + 42, 4);
    if (p + 46 + name_len > eocd) return Bad("entry name out of range");
    std::string name(zip.substr(p + 46, name_len));
    p += 46 + name_len + extra_len + comment_len;
    if (method != 0)
      return Bad(name + " is compressed (method " + std::to_string(method) +
                 "); a .conda holds stored entries");
    if (csize != usize) return Bad(name + ": sizes differ for a stored entry");
    if (uint64_t{local} + 30 > zip.size() || Le(zip, local, 4) != 0x04034b50)
      return Bad(name + ": bad local header");
    uint64_t data = uint64_t{local} + 30 + Le(zip, local + 26, 2) + Le(zip, local + 28, 2);
    if (data + csize > zip.size()) return Bad(name + ": data out of range (truncated?)");
    std::string_view bytes = zip.substr(data, csize);
    if (Crc32(bytes) != crc) return Bad(name + ": CRC-32 mismatch");
    out[name] = bytes;
  }
  return out;
}

}  // namespace robotni::package
