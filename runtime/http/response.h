#ifndef ROBOTNI_RUNTIME_HTTP_RESPONSE_H_
#define ROBOTNI_RUNTIME_HTTP_RESPONSE_H_

// Response: what a handler answers. The server adds Content-Length, Date, Server and
// Connection when it writes the response; a handler sets status, its own headers and body.
// Thread-safety: a plain value; build it anywhere, hand it to the Responder on the loop thread.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "http/request.h"

namespace robotni::http {

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  // A response with `body` serialised as JSON and Content-Type application/json.
  static Response Json(int status, const nlohmann::json& body);
  // A text/plain response.
  static Response Text(int status, std::string body);
  // {"error": {"status": 404, "reason": "Not Found", "message": "..."}} with `status`.
  static Response Error(int status, std::string_view message);
  // No body (204, 304 or a bare status).
  static Response Empty(int status);
};

// The reason phrase for `status` ("Not Found"), "Unknown" for codes it does not know.
const char* ReasonPhrase(int status);

// Whether a response with `status` may carry a body (not 1xx, 204 or 304).
bool StatusAllowsBody(int status);

// A strong entity tag for `body`: a quoted string of its length and a 64-bit FNV-1a hash,
// "\"1f-8e2c0d1a9b7c3e55\"". Equal bodies give equal tags.
std::string StrongEtag(std::string_view body);

// Whether an If-None-Match header value ("*", or a comma-separated list of tags, weak ones
// included) matches `etag`, with the weak comparison RFC 9110 13.1.2 prescribes.
bool IfNoneMatchMatches(std::string_view if_none_match, std::string_view etag);

// For a 2xx response to GET or HEAD: sets a strong ETag computed from the body and, when the
// request's If-None-Match matches it, turns the response into a 304 without a body (keeping
// ETag, Cache-Control, Vary and other headers). Returns true when it answered 304.
bool ApplyEtag(const Request& req, Response* resp);

// Serialises the status line, headers and body as HTTP/1.1. Adds Content-Length (except where
// the status forbids it), Connection: close when !keep_alive (keep-alive for HTTP/1.0
// clients that asked for it), `date` when not empty. With `head_only` the body is left out
// but Content-Length still tells its size.
std::string SerializeResponse(const Response& resp, bool keep_alive, bool http10, bool head_only,
                              std::string_view date, std::string_view server_name);

}  // namespace robotni::http

#endif  // ROBOTNI_RUNTIME_HTTP_RESPONSE_H_
