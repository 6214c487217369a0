#ifndef ROBOTNI_RUNTIME_HTTP_MULTIPART_H_
#define ROBOTNI_RUNTIME_HTTP_MULTIPART_H_

// A small multipart/form-data parser (RFC 7578 over RFC 2046): enough for file uploads.
// robotni's own rather than mimetic's or GMime's: docs/architecture.md says why.
// The whole body is in memory (the server already buffered it). Parts keep their headers;
// Content-Disposition's name and filename are extracted.
// Thread-safety: pure functions.

#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"

namespace robotni::http {

struct MultipartPart {
  Headers headers;
  std::string name;      // Content-Disposition name="..."
  std::string filename;  // filename="..." (or filename*=UTF-8''...), "" when absent
  bool has_filename = false;
  std::string content_type;  // the part's Content-Type, "" when absent
  std::string body;
};

// The boundary of a "multipart/form-data; boundary=..." Content-Type value (quoted or not).
// False with *error set when the type is not multipart/form-data or the boundary is missing
// or invalid (empty, longer than 70 characters).
bool MultipartBoundary(std::string_view content_type, std::string* boundary, std::string* error);

// Splits `body` into its parts. The preamble and epilogue are ignored; the body must hold
// the closing delimiter. False with *error set on malformed input (no opening delimiter,
// headers without a blank line, a part without a closing delimiter, a part without
// Content-Disposition: form-data).
bool ParseMultipart(std::string_view body, std::string_view boundary,
                    std::vector<MultipartPart>* parts, std::string* error);

// Splits a header value like `form-data; name="file"; filename="a b.txt"` into its first
// token and its parameters (names lower-cased, quoted values unescaped).
void ParseHeaderParams(std::string_view value, std::string* token,
                       std::vector<std::pair<std::string, std::string>>* params);

}  // namespace robotni::http

#endif  // ROBOTNI_RUNTIME_HTTP_MULTIPART_H_
