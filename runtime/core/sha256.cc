#include "core/sha256.h"

#include <openssl/evp.h>

#include <new>

namespace robotni::core {

void Sha256::Free::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  // Only allocation can fail here: SHA-256 is in OpenSSL's default provider.
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) throw std::bad_alloc();
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::Update(const void* data, size_t len) {
  if (len > 0) EVP_DigestUpdate(ctx_.get(), data, len);
}

std::array<uint8_t, 32> Sha256::Final() {
  std::array<uint8_t, 32> out{};
  EVP_DigestFinal_ex(ctx_.get(), out.data(), nullptr);
  EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  return out;
}

std::string Sha256::HexFinal() {
  auto d = Final();
  return HexLower(d.data(), d.size());
}

std::string Sha256Hex(std::string_view data) {
  std::array<uint8_t, 32> d{};
  EVP_Digest(data.data(), data.size(), d.data(), nullptr, EVP_sha256(), nullptr);
  return HexLower(d.data(), d.size());
}

std::string HexLower(const uint8_t* data, size_t len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(2 * len, '0');
  for (size_t i = 0; i < len; ++i) {
    s[2 * i] = kHex[data[i] >> 4];
    s[2 * i + 1] = kHex[data[i] & 15];
  }
  return s;
}

}  // namespace robotni::core
