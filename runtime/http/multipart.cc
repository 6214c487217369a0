#include "http/multipart.h"

#include <algorithm>
#include <cctype>

namespace robotni::http {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Parses the part headers in `block` (lines separated by CRLF). False on a line without ':'.
bool ParseHeaders(std::string_view block, Headers* out) {
  while (!block.empty()) {
    size_t eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 2);
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    out->Add(std::string(Trim(line.substr(0, colon))), std::string(Trim(line.substr(colon + 1))));
  }
  return true;
}

}  // namespace

void ParseHeaderParams(std::string_view value, std::string* token,
                       std::vector<std::pair<std::string, std::string>>* params) {
  size_t i = 0;
  auto read_until_semicolon = [&] {
    size_t start = i;
    while (i < value.size() && value[i] != ';') ++i;
    return Trim(value.substr(start, i - start));
  };
  *token = Lower(read_until_semicolon());
  while (i < value.size()) {
    ++i;  // ';'
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    size_t name_start = i;
    while (i < value.size() && value[i] != '=' && value[i] != ';') ++i;
    std::string name = Lower(Trim(value.substr(name_start, i - name_start)));
    std::string val;
    if (i < value.size() && value[i] == '=') {
      ++i;
      while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
      if (i < value.size() && value[i] == '"') {
        ++i;
        while (i < value.size() && value[i] != '"') {
          if (value[i] == '\\' && i + 1 < value.size()) ++i;
          val += value[i++];
        }
        if (i < value.size()) ++i;  // closing quote
        while (i < value.size() && value[i] != ';') ++i;
      } else {
        val = std::string(read_until_semicolon());
      }
    }
    if (!name.empty()) params->emplace_back(std::move(name), std::move(val));
  }
}

bool MultipartBoundary(std::string_view content_type, std::string* boundary, std::string* error) {
  std::string token;
  std::vector<std::pair<std::string, std::string>> params;
  ParseHeaderParams(content_type, &token, &params);
  if (token != "multipart/form-data") {
    *error = "Content-Type: expected multipart/form-data";
    return false;
  }
  for (const auto& [name, value] : params) {
    if (name != "boundary") continue;
    if (value.empty() || value.size() > 70) {
      *error = "Content-Type: the multipart boundary must have 1 to 70 characters";
      return false;
    }
    *boundary = value;
    return true;
  }
  *error = "Content-Type: multipart/form-data without a boundary";
  return false;
}

bool ParseMultipart(std::string_view body, std::string_view boundary,
                    std::vector<MultipartPart>* parts, std::string* error) {
  const std::string dash = "--" + std::string(boundary);
  const std::string delim = "\r\n" + dash;
  // The first delimiter: at the very start, or after a preamble ending in CRLF.
  size_t pos;
  if (body.substr(0, dash.size()) == dash) {
    pos = dash.size();
  } else {
    size_t at = body.find(delim);
    if (at == std::string_view::npos) {
      *error = "multipart: no opening boundary";
      return false;
    }
    pos = at + delim.size();
  }
  for (;;) {
    // After a delimiter: "--" closes; else optional whitespace, then CRLF.
    if (body.substr(pos, 2) == "--") return true;
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n") {
      *error = "multipart: malformed boundary line";
      return false;
    }
    pos += 2;
    MultipartPart part;
    size_t headers_end;
    if (body.substr(pos, 2) == "\r\n") {
      headers_end = pos;  // no headers
    } else {
      headers_end = body.find("\r\n\r\n", pos);
      if (headers_end == std::string_view::npos) {
        *error = "multipart: part headers do not end";
        return false;
      }
    }
    if (!ParseHeaders(body.substr(pos, headers_end - pos), &part.headers)) {
      *error = "multipart: malformed part header";
      return false;
    }
    size_t content_start = headers_end == pos ? pos + 2 : headers_end + 4;
    size_t next = body.find(delim, content_start);
    if (next == std::string_view::npos) {
      *error = "multipart: missing closing boundary";
      return false;
    }
    part.body = std::string(body.substr(content_start, next - content_start));
    const std::string* cd = part.headers.Find("Content-Disposition");
    if (!cd) {
      *error = "multipart: part without Content-Disposition";
      return false;
    }
    std::string token;
    std::vector<std::pair<std::string, std::string>> params;
    ParseHeaderParams(*cd, &token, &params);
    if (token != "form-data") {
      *error = "multipart: Content-Disposition is not form-data";
      return false;
    }
    for (const auto& [name, value] : params) {
      if (name == "name") {
        part.name = value;
      } else if (name == "filename" && !part.has_filename) {
        part.filename = value;
        part.has_filename = true;
      } else if (name == "filename*") {
        // RFC 5987: charset'language'percent-encoded; it wins over filename.
        size_t q = value.find('\'');
        size_t q2 = q == std::string::npos ? q : value.find('\'', q + 1);
        std::string decoded;
        if (q2 != std::string::npos &&
            PercentDecode(std::string_view(value).substr(q2 + 1), false, &decoded)) {
          part.filename = decoded;
          part.has_filename = true;
        }
      }
    }
    part.content_type = std::string(part.headers.Get("Content-Type"));
    parts->push_back(std::move(part));
    pos = next + delim.size();
  }
}

}  // namespace robotni::http
