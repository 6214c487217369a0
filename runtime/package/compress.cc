#include "package/compress.h"

#include <bzlib.h>
#include <zstd.h>

#include <climits>

namespace robotni::package {

StatusOr<std::string> Bzip2(std::string_view data) {
  if (data.size() > UINT_MAX / 2)
    return Status::InvalidArgument("bzip2: input over 2 GiB; robotni compresses in memory");
  // bzip2's documented worst case: 1% larger plus 600 bytes.
  unsigned int size = static_cast<unsigned int>(data.size() + data.size() / 100 + 600);
  std::string out(size, '\0');
  int rc = BZ2_bzBuffToBuffCompress(out.data(), &size, const_cast<char*>(data.data()),
                                    static_cast<unsigned int>(data.size()), 9, 0, 0);
  if (rc != BZ_OK) return Status::IOError("bzip2 failed with code " + std::to_string(rc));
  out.resize(size);
  return out;
}

StatusOr<std::string> Zstd(std::string_view data, int level) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  if (ZSTD_isError(n)) return Status::IOError(std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

}  // namespace robotni::package
