#ifndef ROBOTNI_RUNTIME_PACKAGE_ZIP_READER_H_
#define ROBOTNI_RUNTIME_PACKAGE_ZIP_READER_H_

// The entries of a zip held in memory, as a .conda package's outer container is: stored
// (uncompressed) entries only, as conda-package-handling and zip_writer.h write them;
// each entry's CRC-32 is checked.

#include <map>
#include <string>
#include <string_view>

#include "robotni/status.h"

namespace robotni::package {

// Entry name -> its bytes (views into `zip`). InvalidArgument for data that is not a zip,
// a truncated one, a compressed entry or a CRC mismatch.
StatusOr<std::map<std::string, std::string_view>> ReadStoredZip(std::string_view zip);

}  // namespace robotni::package

#endif  // ROBOTNI_RUNTIME_PACKAGE_ZIP_READER_H_
