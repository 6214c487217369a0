#include "core/base64.h"

#include <openssl/evp.h>

namespace robotni {

namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// EVP_EncodeBlock / EVP_DecodeBlock take an int length: larger inputs go in chunks of this
// many bytes (a multiple of 3, so only the last chunk is padded) or characters (of 4).
constexpr size_t kChunk = size_t{3} << 28;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string Base64Encode(std::string_view data) {
  // EVP_EncodeBlock writes no newlines (unlike the EVP_Encode* stream) and a NUL at the end.
  std::string out((data.size() + 2) / 3 * 4 + 1, '\0');
  size_t written = 0;
  for (size_t i = 0; i < data.size(); i += kChunk) {
    std::string_view chunk = data.substr(i, kChunk);
    written +=
        static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()) + written,
                                            Bytes(chunk), static_cast<int>(chunk.size())));
  }
  out.resize(written);
  return out;
}

bool Base64Decode(std::string_view text, std::string* out) {
  out->clear();
  // EVP_DecodeBlock skips leading and trailing whitespace and takes '=' anywhere; robotni
  // takes only the canonical form: whole quanta, the alphabet, at most two '=' at the end.
  if (text.size() % 4 != 0) return false;
  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  if (text.substr(0, text.size() - pad).find_first_not_of(kAlphabet) != std::string_view::npos)
    return false;
  out->resize(text.size() / 4 * 3);
  size_t written = 0;
  constexpr size_t kTextChunk = kChunk / 3 * 4;
  for (size_t i = 0; i < text.size(); i += kTextChunk) {
    std::string_view chunk = text.substr(i, kTextChunk);
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()) + written, Bytes(chunk),
                            static_cast<int>(chunk.size()));
    if (n < 0) return false;
    written += static_cast<size_t>(n);
  }
  // EVP_DecodeBlock counts the padding as zero bytes.
  out->resize(written - pad);
  return true;
}

}  // namespace robotni
