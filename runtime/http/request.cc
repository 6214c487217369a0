#include "http/request.h"

#include <algorithm>

namespace robotni::http {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

void Headers::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::Set(std::string_view name, std::string value) {
  Remove(name);
  fields_.emplace_back(std::string(name), std::move(value));
}

size_t Headers::Remove(std::string_view name) {
  size_t before = fields_.size();
  std::erase_if(fields_, [&](const Field& f) { return EqualsIgnoreCase(f.first, name); });
  return before - fields_.size();
}

const std::string* Headers::Find(std::string_view name) const {
  for (const Field& f : fields_) {
    if (EqualsIgnoreCase(f.first, name)) return &f.second;
  }
  return nullptr;
}

std::string_view Headers::Get(std::string_view name, std::string_view fallback) const {
  const std::string* v = Find(name);
  return v != nullptr ? std::string_view(*v) : fallback;
}

size_t Headers::Count(std::string_view name) const {
  return static_cast<size_t>(std::count_if(fields_.begin(), fields_.end(), [&](const Field& f) {
    return EqualsIgnoreCase(f.first, name);
  }));
}

std::string_view Request::Param(std::string_view name) const {
  for (const auto& [k, v] : path_params) {
    if (k == name) return v;
  }
  return {};
}

std::optional<std::string_view> Request::Query(std::string_view name) const {
  for (const auto& [k, v] : query_params) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

nlohmann::json Request::JsonBody() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      char d = static_cast<char>(hi * 16 + lo);
      if (d == '\0') return false;
      out->push_back(d);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

bool ParseQuery(std::string_view query, QueryParams* out) {
  out->clear();
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string name, value;
    if (!PercentDecode(part.substr(0, eq), true, &name)) return false;
    if (eq != std::string_view::npos && !PercentDecode(part.substr(eq + 1), true, &value)) {
      return false;
    }
    out->emplace_back(std::move(name), std::move(value));
  }
  return true;
}

bool ParseTarget(std::string_view target, Request* req, std::string* error) {
  req->target = std::string(target);
  std::string_view rest = target;
  std::string with_slash;
  if (rest == "*") {
    req->raw_path = req->path = "*";
    req->query.clear();
    req->query_params.clear();
    return true;
  }
  if (rest.empty() || rest[0] != '/') {
    // Absolute form: scheme "://" authority path-abempty ["?" query].
    size_t scheme_end = rest.find("://");
    if (scheme_end == std::string_view::npos || scheme_end == 0) {
      *error = "request target must be a path";
      return false;
    }
    rest = rest.substr(scheme_end + 3);
    size_t slash = rest.find_first_of("/?#");
    if (slash == std::string_view::npos) {
      rest = "/";
    } else if (rest[slash] != '/') {
      // "http://host?x": the path is empty, which means "/".
      with_slash = "/";
      with_slash.append(rest.substr(slash));
      rest = with_slash;
    } else {
      rest = rest.substr(slash);
    }
  }
  size_t hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  size_t q = rest.find('?');
  std::string_view raw_path = rest.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : rest.substr(q + 1);
  req->raw_path = std::string(raw_path);
  req->query = std::string(query);
  if (!PercentDecode(raw_path, false, &req->path)) {
    *error = "malformed percent-encoding in path";
    return false;
  }
  if (!ParseQuery(query, &req->query_params)) {
    *error = "malformed percent-encoding in query";
    return false;
  }
  return true;
}

}  // namespace robotni::http
