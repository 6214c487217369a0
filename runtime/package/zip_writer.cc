#include "package/zip_writer.h"

#include <array>
#include <cstdint>

namespace robotni::package {

namespace {

constexpr uint16_t kVersion = 20;  // 2.0: what a stored entry needs
constexpr uint16_t kMadeByUnix = 3 << 8;
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, zip's earliest
constexpr uint32_t kLimit = 0xFFFFFFFFu;

void U16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v & 0xFF));
  out->push_back(static_cast<char>(v >> 8));
}

void U32(std::string* out, uint32_t v) {
  U16(out, static_cast<uint16_t>(v & 0xFFFF));
  U16(out, static_cast<uint16_t>(v >> 16));
}

}  // namespace

uint32_t Crc32(std::string_view data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : data) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

Status ZipWriter::Add(const std::string& name, std::string_view data) {
  if (out_.size() + data.size() + name.size() + 1024 > kLimit)
    return Status::InvalidArgument(
        "the .conda archive would be over 4 GiB (zip64 is not "
        "written); use --format tar.bz2");
  Entry e{name, Crc32(data), static_cast<uint32_t>(data.size()),
          static_cast<uint32_t>(out_.size())};
  U32(&out_, 0x04034b50);
  U16(&out_, kVersion);
  U16(&out_, 0);  // flags
  U16(&out_, 0);  // stored
  U16(&out_, 0);  // time 00:00
  U16(&out_, kDosDate);
  U32(&out_, e.crc);
  U32(&out_, e.size);
  U32(&out_, e.size);
  U16(&out_, static_cast<uint16_t>(name.size()));
  U16(&out_, 0);  // no extra field
  out_ += name;
  out_.append(data);
  entries_.push_back(std::move(e));
  return Status::OK();
}

std::string ZipWriter::Finish() {
  const uint32_t directory_offset = static_cast<uint32_t>(out_.size());
  for (const Entry& e : entries_) {
    U32(&out_, 0x02014b50);
    U16(&out_, kMadeByUnix | kVersion);
    U16(&out_, kVersion);
    U16(&out_, 0);
    U16(&out_, 0);
    U16(&out_, 0);
    U16(&out_, kDosDate);
    U32(&out_, e.crc);
    U32(&out_, e.size);
    U32(&out_, e.size);
    U16(&out_, static_cast<uint16_t>(e.name.size()));
    U16(&out_, 0);               // extra
    U16(&out_, 0);               // comment
    U16(&out_, 0);               // disk
    U16(&out_, 0);               // internal attributes
    U32(&out_, 0100644u << 16);  // Unix regular file, rw-r--r--
    U32(&out_, e.offset);
    out_ += e.name;
  }
  const uint32_t directory_size = static_cast<uint32_t>(out_.size()) - directory_offset;
  U32(&out_, 0x06054b50);
  U16(&out_, 0);
  U16(&out_, 0);
  U16(&out_, static_cast<uint16_t>(entries_.size()));
  U16(&out_, static_cast<uint16_t>(entries_.size()));
  U32(&out_, directory_size);
  U32(&out_, directory_offset);
  U16(&out_, 0);  // comment
  return std::move(out_);
}

}  // namespace robotni::package
