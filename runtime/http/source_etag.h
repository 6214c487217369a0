#ifndef ROBOTNI_RUNTIME_HTTP_SOURCE_ETAG_H_
#define ROBOTNI_RUNTIME_HTTP_SOURCE_ETAG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace robotni::http {

// A strong entity tag from what a representation is rendered from, so a conditional GET can
// be answered 304 before rendering: add every input of the rendering (each value is
// length-prefixed, so ("ab","c") and ("a","bc") differ). "\"r-<16 hex digits>\"".
class SourceEtag {
 public:
  SourceEtag& Add(std::string_view v);
  SourceEtag& Add(int64_t v);
  std::string Tag() const;

 private:
  void Mix(const void* data, size_t n);
  uint64_t h_ = 1469598103934665603ULL;  // FNV-1a offset basis
};

}  // namespace robotni::http

#endif  // ROBOTNI_RUNTIME_HTTP_SOURCE_ETAG_H_
