#ifndef ROBOTNI_RUNTIME_PACKAGE_MD5_H_
#define ROBOTNI_RUNTIME_PACKAGE_MD5_H_

// MD5 (RFC 1321), only because conda's package records carry a package's md5 beside its
// sha256. Not for anything that needs a secure hash.

#include <string>
#include <string_view>

namespace robotni::package {

// Lowercase hex of MD5(data).
std::string Md5Hex(std::string_view data);

}  // namespace robotni::package

#endif  // ROBOTNI_RUNTIME_PACKAGE_MD5_H_
