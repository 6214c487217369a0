#ifndef ROBOTNI_RUNTIME_PACKAGE_TAR_READER_H_
#define ROBOTNI_RUNTIME_PACKAGE_TAR_READER_H_

// The entries of a tar held in memory: ustar, with pax ('x') and GNU long-name ('L', 'K')
// records for long paths, as Python's tarfile (which conda-build and rattler-build use)
// and tar_writer.h write them. Each header's checksum is checked.

#include <string>
#include <string_view>
#include <vector>

#include "robotni/status.h"

namespace robotni::package {

struct TarEntry {
  enum class Type { kFile, kDirectory, kSymlink, kHardlink };
  Type type = Type::kFile;
  std::string path;       // as stored, without a leading "./"
  std::string link;       // a symlink's or hardlink's target
  unsigned mode = 0644;   // permission bits
  std::string_view data;  // a file's bytes (a view into the tar)
};

// InvalidArgument for a bad checksum, a truncated archive, or an entry type other than
// file, directory, symlink, hardlink (devices, FIFOs).
StatusOr<std::vector<TarEntry>> ReadTar(std::string_view tar);

}  // namespace robotni::package

#endif  // ROBOTNI_RUNTIME_PACKAGE_TAR_READER_H_
