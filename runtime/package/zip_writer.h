#ifndef ROBOTNI_RUNTIME_PACKAGE_ZIP_WRITER_H_
#define ROBOTNI_RUNTIME_PACKAGE_ZIP_WRITER_H_

// A zip of stored (uncompressed) entries built in memory, as a .conda package's outer
// container is: entries in the order added, a fixed time (1980-01-01 00:00), Unix mode
// 0644. No zip64: the whole archive must stay under 4 GiB.

#include <string>
#include <string_view>
#include <vector>

#include "robotni/status.h"

namespace robotni::package {

class ZipWriter {
 public:
  // InvalidArgument when the archive would pass 4 GiB.
  Status Add(const std::string& name, std::string_view data);
  // The archive with its central directory.
  std::string Finish();

 private:
  struct Entry {
    std::string name;
    uint32_t crc = 0, size = 0, offset = 0;
  };
  std::string out_;
  std::vector<Entry> entries_;
};

// The CRC-32 zip uses (IEEE 802.3, reflected).
uint32_t Crc32(std::string_view data);

}  // namespace robotni::package

#endif  // ROBOTNI_RUNTIME_PACKAGE_ZIP_WRITER_H_
