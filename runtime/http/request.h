#ifndef ROBOTNI_RUNTIME_HTTP_REQUEST_H_
#define ROBOTNI_RUNTIME_HTTP_REQUEST_H_

// Request: one parsed HTTP/1.x request, as the server hands it to a route handler.
// Headers: an ordered list of header fields with case-insensitive lookup.
// Thread-safety: plain values; a handler that finishes on another thread copies what it needs.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace robotni::http {

// ASCII case-insensitive equality, as header names and tokens compare.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  // Appends a field; duplicates are kept in order.
  void Add(std::string name, std::string value);
  // Replaces every field named `name` by one field.
  void Set(std::string_view name, std::string value);
  // Removes every field named `name`; returns how many were removed.
  size_t Remove(std::string_view name);
  // The first field named `name`, or nullptr.
  const std::string* Find(std::string_view name) const;
  // The first field named `name`, or `fallback`.
  std::string_view Get(std::string_view name, std::string_view fallback = {}) const;
  bool Has(std::string_view name) const { return Find(name) != nullptr; }
  size_t Count(std::string_view name) const;

  const std::vector<Field>& fields() const { return fields_; }
  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<Field> fields_;
};

using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;        // "GET", as sent (llhttp accepts upper-case methods only)
  std::string target;        // raw request-target: "/api/jobs/a%20b?x=1"
  std::string path;          // percent-decoded path: "/api/jobs/a b"
  std::string raw_path;      // path as sent, before decoding: "/api/jobs/a%20b"
  std::string query;         // raw query string without '?': "x=1"
  QueryParams query_params;  // decoded ('+' is a space), in order, duplicates kept
  Headers headers;
  std::string body;  // de-chunked
  int http_major = 1;
  int http_minor = 1;
  bool keep_alive = true;      // what the client asked for (HTTP/1.1 default, Connection header)
  std::string remote_address;  // the client's IP ("127.0.0.1", "::1"); set by the server

  // Filled by the Router before the handler runs.
  std::string route;  // the matched pattern, "GET /api/worker/jobs/{id}"
  std::vector<std::pair<std::string, std::string>> path_params;  // decoded
  // Router::Admit's lookup, kept for Router::Dispatch so a request is routed once: the
  // Match's status (0: not looked up yet) and handler.
  int route_status = 0;
  const void* route_handler = nullptr;

  // The path parameter `name` ({name} in the route), or "" when absent.
  std::string_view Param(std::string_view name) const;
  // The first query parameter `name`, or nullopt.
  std::optional<std::string_view> Query(std::string_view name) const;
  // Header lookup, case-insensitive.
  std::string_view Header(std::string_view name, std::string_view fallback = {}) const {
    return headers.Get(name, fallback);
  }
  // Parses the body as JSON without throwing; a discarded value (is_discarded()) when the body
  // is not valid JSON.
  nlohmann::json JsonBody() const;
};

// Percent-decodes `in` into *out. `plus_is_space` for query strings (form encoding).
// Returns false on a malformed escape ("%G1", "%4") or a decoded NUL byte.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out);

// Splits "a=1&b=x%20y&c" into decoded pairs ({"c", ""} for a bare name). Returns false on a
// malformed escape.
bool ParseQuery(std::string_view query, QueryParams* out);

// Fills target, raw_path, path, query and query_params from a request-target in origin form
// ("/p?q"), absolute form ("http://host/p?q") or "*". Returns false with *error set when the
// target is not one of those or its escapes are malformed.
bool ParseTarget(std::string_view target, Request* req, std::string* error);

}  // namespace robotni::http

#endif  // ROBOTNI_RUNTIME_HTTP_REQUEST_H_
