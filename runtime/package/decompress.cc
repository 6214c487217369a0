#include "package/decompress.h"

#include <bzlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <memory>

namespace robotni::package {

namespace {

Status TooLarge(const char* what, size_t limit) {
  return Status::InvalidArgument(std::string(what) + ": unpacks to more than " +
                                 std::to_string(limit >> 20) + " MiB; robotni unpacks in memory");
}

}  // namespace

StatusOr<std::string> Bunzip2(std::string_view data, size_t limit) {
  bz_stream s{};
  if (BZ2_bzDecompressInit(&s, 0, 0) != BZ_OK) return Status::IOError("bzip2: cannot start");
  std::unique_ptr<bz_stream, int (*)(bz_stream*)> end(&s, BZ2_bzDecompressEnd);
  std::string out;
  size_t in_off = 0;
  char buf[1 << 16];
  for (;;) {
    if (s.avail_in == 0 && in_off < data.size()) {
      size_t n = std::min<size_t>(data.size() - in_off, UINT_MAX);
      s.next_in = const_cast<char*>(data.data() + in_off);
      s.avail_in = static_cast<unsigned int>(n);
      in_off += n;
    }
    s.next_out = buf;
    s.avail_out = sizeof buf;
    int rc = BZ2_bzDecompress(&s);
    out.append(buf, sizeof buf - s.avail_out);
    if (out.size() > limit) return TooLarge("bzip2", limit);
    if (rc == BZ_STREAM_END) return out;
    if (rc != BZ_OK)
      return Status::InvalidArgument("not a bzip2 stream, or a corrupt one (code " +
                                     std::to_string(rc) + ")");
    if (s.avail_in == 0 && in_off >= data.size() && s.avail_out != 0)
      return Status::InvalidArgument("bzip2 stream is truncated");
  }
}

StatusOr<std::string> Unzstd(std::string_view data, size_t limit) {
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> d(ZSTD_createDStream(),
                                                             ZSTD_freeDStream);
  if (!d) return Status::IOError("zstd: cannot start");
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  std::string out;
  char buf[1 << 16];
  size_t last = 1;
  while (in.pos < in.size) {
    ZSTD_outBuffer o{buf, sizeof buf, 0};
    last = ZSTD_decompressStream(d.get(), &o, &in);
    if (ZSTD_isError(last))
      return Status::InvalidArgument(std::string("not a zstd stream, or a corrupt one: ") +
                                     ZSTD_getErrorName(last));
    out.append(buf, o.pos);
    if (out.size() > limit) return TooLarge("zstd", limit);
    if (o.pos == 0 && in.pos == in.size) break;
  }
  // Flush what the decoder still holds.
  while (last != 0) {
    ZSTD_outBuffer o{buf, sizeof buf, 0};
    last = ZSTD_decompressStream(d.get(), &o, &in);
    if (ZSTD_isError(last))
      return Status::InvalidArgument(std::string("corrupt zstd stream: ") +
                                     ZSTD_getErrorName(last));
    out.append(buf, o.pos);
    if (out.size() > limit) return TooLarge("zstd", limit);
    if (o.pos == 0 && last != 0) return Status::InvalidArgument("zstd stream is truncated");
  }
  return out;
}

}  // namespace robotni::package
