#include "core/hmac_sha256.h"

#include <algorithm>

#include "core/sha256.h"

namespace robotni {

std::array<uint8_t, 32> HmacSha256(std::string_view key, std::string_view message) {
  constexpr size_t kBlock = 64;
  uint8_t k[kBlock] = {0};
  if (key.size() > kBlock) {  // long keys are hashed first (RFC 2104 section 2)
    core::Sha256 h;
    h.Update(key);
    auto d = h.Final();
    std::copy(d.begin(), d.end(), k);
  } else {
    std::copy(key.begin(), key.end(), k);
  }
  uint8_t ipad[kBlock], opad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) {
    ipad[i] = k[i] ^ 0x36;
    opad[i] = k[i] ^ 0x5c;
  }
  core::Sha256 inner;
  inner.Update(ipad, kBlock);
  inner.Update(message);
  auto inner_digest = inner.Final();
  core::Sha256 outer;
  outer.Update(opad, kBlock);
  outer.Update(inner_digest.data(), inner_digest.size());
  return outer.Final();
}

std::string HmacSha256Hex(std::string_view key, std::string_view message) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto d = HmacSha256(key, message);
  std::string out;
  out.reserve(64);
  for (uint8_t b : d) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace robotni
