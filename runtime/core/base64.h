#ifndef ROBOTNI_RUNTIME_CORE_BASE64_H_
#define ROBOTNI_RUNTIME_CORE_BASE64_H_

// Standard base64 (RFC 4648, '+' '/', '=' padding): binary in JSON (item export files, the
// worker protocol's file contents).

#include <string>
#include <string_view>

namespace robotni {

std::string Base64Encode(std::string_view data);
// Refuses characters outside the alphabet, bad padding and bad lengths.
bool Base64Decode(std::string_view text, std::string* out);

}  // namespace robotni

#endif  // ROBOTNI_RUNTIME_CORE_BASE64_H_
