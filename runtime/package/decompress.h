#ifndef ROBOTNI_RUNTIME_PACKAGE_DECOMPRESS_H_
#define ROBOTNI_RUNTIME_PACKAGE_DECOMPRESS_H_

// The readers of compress.h's formats, one shot in memory, for `robotni env create`.
// Both stop at `limit` bytes of output, so a small archive cannot expand without bound.

#include <cstddef>
#include <string>
#include <string_view>

#include "robotni/status.h"

namespace robotni::package {

inline constexpr size_t kMaxUnpackedSize = size_t{2} << 30;  // 2 GiB: robotni unpacks in memory

// InvalidArgument for data that is not bzip2 (or zstd), is truncated, or expands past
// `limit`.
StatusOr<std::string> Bunzip2(std::string_view data, size_t limit = kMaxUnpackedSize);
StatusOr<std::string> Unzstd(std::string_view data, size_t limit = kMaxUnpackedSize);

}  // namespace robotni::package

#endif  // ROBOTNI_RUNTIME_PACKAGE_DECOMPRESS_H_
