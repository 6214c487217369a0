#ifndef ROBOTNI_RUNTIME_CORE_SHA256_H_
#define ROBOTNI_RUNTIME_CORE_SHA256_H_

// SHA-256 (FIPS 180-4) with OpenSSL's libcrypto (EVP): files' and tokens' digests.
// Thread-safety: a Sha256 object is used by one thread at a time.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace robotni::core {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void Update(const void* data, size_t len);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // The digest of everything given to Update; the object then starts over.
  std::array<uint8_t, 32> Final();
  // Lowercase hex of Final().
  std::string HexFinal();

 private:
  struct Free {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, Free> ctx_;
};

// Lowercase hex SHA-256 of data.
std::string Sha256Hex(std::string_view data);

// Lowercase hex of `len` bytes.
std::string HexLower(const uint8_t* data, size_t len);

}  // namespace robotni::core

#endif  // ROBOTNI_RUNTIME_CORE_SHA256_H_
