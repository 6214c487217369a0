#include "http/source_etag.h"

#include <cinttypes>
#include <cstdio>

namespace robotni::http {

void SourceEtag::Mix(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h_ ^= p[i];
    h_ *= 1099511628211ULL;
  }
}

SourceEtag& SourceEtag::Add(std::string_view v) {
  uint64_t n = v.size();
  Mix(&n, sizeof n);
  Mix(v.data(), v.size());
  return *this;
}

SourceEtag& SourceEtag::Add(int64_t v) {
  Mix(&v, sizeof v);
  return *this;
}

std::string SourceEtag::Tag() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "\"r-%016" PRIx64 "\"", h_);
  return buf;
}

}  // namespace robotni::http
