#ifndef ROBOTNI_RUNTIME_PACKAGE_COMPRESS_H_
#define ROBOTNI_RUNTIME_PACKAGE_COMPRESS_H_

// The two compressors conda packages use, one shot in memory. Both are deterministic:
// the same input and level give the same bytes.

#include <string>
#include <string_view>

#include "robotni/status.h"

namespace robotni::package {

// bzip2 at block size 9 (900 kB), as conda-build writes .tar.bz2.
StatusOr<std::string> Bzip2(std::string_view data);

// A zstd frame at `level` (conda's default for .conda is 19), single-threaded.
StatusOr<std::string> Zstd(std::string_view data, int level = 19);

}  // namespace robotni::package

#endif  // ROBOTNI_RUNTIME_PACKAGE_COMPRESS_H_
