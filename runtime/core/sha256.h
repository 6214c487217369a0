#ifndef ROBOTNI_RUNTIME_CORE_SHA256_H_
#define ROBOTNI_RUNTIME_CORE_SHA256_H_

// SHA-256 (FIPS 180-4), self-contained so robotni needs no crypto library.
// Thread-safety: a Sha256 object is used by one thread at a time.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace robotni::core {

class Sha256 {
 public:
  Sha256();
  void Update(const void* data, size_t len);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  std::array<uint8_t, 32> Final();
  // Lowercase hex of Final().
  std::string HexFinal();

 private:
  void Block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

// Lowercase hex SHA-256 of data.
std::string Sha256Hex(std::string_view data);

}  // namespace robotni::core

#endif  // ROBOTNI_RUNTIME_CORE_SHA256_H_
