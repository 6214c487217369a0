#include "core/hmac_sha256.h"

#include <openssl/hmac.h>

#include <new>

#include "core/sha256.h"

namespace robotni {

std::array<uint8_t, 32> HmacSha256(std::string_view key, std::string_view message) {
  std::array<uint8_t, 32> out{};
  // Never a null key pointer (a string_view may have one when empty): OpenSSL reads a null
  // key as "none given", not as the empty key.
  static constexpr char kNoKey = 0;
  const char* k = key.empty() ? &kNoKey : key.data();
  if (!HMAC(EVP_sha256(), k, static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(),
            nullptr))
    throw std::bad_alloc();  // only allocation can fail for SHA-256
  return out;
}

std::string HmacSha256Hex(std::string_view key, std::string_view message) {
  auto d = HmacSha256(key, message);
  return core::HexLower(d.data(), d.size());
}

}  // namespace robotni
