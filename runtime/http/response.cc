#include "http/response.h"

#include <cinttypes>
#include <cstdio>

namespace robotni::http {

Response Response::Json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", "application/json");
  // Replace invalid UTF-8 rather than throw: a handler's bad string must not become a 500.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(body);
  return r;
}

Response Response::Error(int status, std::string_view message) {
  nlohmann::json j = {
      {"error",
       {{"status", status}, {"reason", ReasonPhrase(status)}, {"message", std::string(message)}}}};
  return Json(status, j);
}

Response Response::Empty(int status) {
  Response r;
  r.status = status;
  return r;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

bool StatusAllowsBody(int status) { return !(status < 200 || status == 204 || status == 304); }

std::string StrongEtag(std::string_view body) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a offset basis
  for (unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%zx-%016" PRIx64 "\"", body.size(), h);
  return buf;
}

bool IfNoneMatchMatches(std::string_view inm, std::string_view etag) {
  auto opaque = [](std::string_view t) {
    if (t.size() >= 2 && t[0] == 'W' && t[1] == '/') t.remove_prefix(2);
    return t;
  };
  std::string_view want = opaque(etag);
  while (!inm.empty()) {
    size_t comma = inm.find(',');
    std::string_view item = inm.substr(0, comma);
    inm = comma == std::string_view::npos ? std::string_view() : inm.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "*") return true;
    if (!item.empty() && opaque(item) == want) return true;
  }
  return false;
}

bool ApplyEtag(const Request& req, Response* resp) {
  if (resp->status < 200 || resp->status >= 300) return false;
  if (req.method != "GET" && req.method != "HEAD") return false;
  std::string etag = StrongEtag(resp->body);
  resp->headers.Set("ETag", etag);
  const std::string* inm = req.headers.Find("If-None-Match");
  if (inm == nullptr || !IfNoneMatchMatches(*inm, etag)) return false;
  resp->status = 304;
  resp->body.clear();
  resp->headers.Remove("Content-Type");
  resp->headers.Remove("Content-Length");
  return true;
}

std::string SerializeResponse(const Response& resp, bool keep_alive, bool http10, bool head_only,
                              std::string_view date, std::string_view server_name) {
  std::string out;
  out.reserve(160 + resp.body.size());
  out.append("HTTP/1.1 ");
  out.append(std::to_string(resp.status));
  out.push_back(' ');
  out.append(ReasonPhrase(resp.status));
  out.append("\r\n");
  if (!date.empty()) {
    out.append("Date: ").append(date).append("\r\n");
  }
  if (!server_name.empty()) {
    out.append("Server: ").append(server_name).append("\r\n");
  }
  for (const auto& [name, value] : resp.headers.fields()) {
    // The framing headers are the server's, never the handler's.
    if (EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Connection") ||
        EqualsIgnoreCase(name, "Transfer-Encoding") || EqualsIgnoreCase(name, "Date") ||
        (!server_name.empty() && EqualsIgnoreCase(name, "Server"))) {
      continue;
    }
    // Never let a CR or LF from a handler split the response.
    if (name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      continue;
    }
    out.append(name).append(": ").append(value).append("\r\n");
  }
  bool body_allowed = StatusAllowsBody(resp.status);
  if (body_allowed) {
    out.append("Content-Length: ").append(std::to_string(resp.body.size())).append("\r\n");
  }
  if (!keep_alive) {
    out.append("Connection: close\r\n");
  } else if (http10) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  if (body_allowed && !head_only) out.append(resp.body);
  return out;
}

}  // namespace robotni::http
