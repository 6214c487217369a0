#ifndef ROBOTNI_RUNTIME_PACKAGE_TAR_WRITER_H_
#define ROBOTNI_RUNTIME_PACKAGE_TAR_WRITER_H_

// A ustar archive built in memory, written so that the same entries give the same bytes:
// entries in the order added, owner 0:0 without names, mtime 0, mode 0644 (0755 when
// executable), regular files only (extraction creates the directories).

#include <string>
#include <string_view>

#include "robotni/status.h"

namespace robotni::package {

class TarWriter {
 public:
  // InvalidArgument when `path` does not fit ustar's 100-byte name + 155-byte prefix.
  Status Add(const std::string& path, std::string_view data, bool executable);
  // The archive, ended by ustar's two zero blocks.
  std::string Finish();

 private:
  std::string out_;
};

}  // namespace robotni::package

#endif  // ROBOTNI_RUNTIME_PACKAGE_TAR_WRITER_H_
