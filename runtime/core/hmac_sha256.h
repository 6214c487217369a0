#ifndef ROBOTNI_RUNTIME_CORE_HMAC_SHA256_H_
#define ROBOTNI_RUNTIME_CORE_HMAC_SHA256_H_

// HMAC-SHA256 (RFC 2104 over FIPS 180-4 SHA-256) with OpenSSL's libcrypto, for signing
// webhook bodies.
// Thread-safety: pure functions.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace robotni {

std::array<uint8_t, 32> HmacSha256(std::string_view key, std::string_view message);

// Lowercase hex of HmacSha256(key, message).
std::string HmacSha256Hex(std::string_view key, std::string_view message);

}  // namespace robotni

#endif  // ROBOTNI_RUNTIME_CORE_HMAC_SHA256_H_
