#include "http/request_parser.h"

#include <string_view>

namespace robotni::http {
namespace {

RequestParser* Self(llhttp_t* p) { return static_cast<RequestParser*>(p->data); }

bool HasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (EqualsIgnoreCase(item, token)) return true;
  }
  return false;
}

// RFC 9110 5.6.2: token = 1*tchar.
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    bool tchar =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!tchar) return false;
  }
  return true;
}

}  // namespace

RequestParser::RequestParser(ParserLimits limits) : limits_(limits) {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = &RequestParser::OnMessageBegin;
    s.on_url = &RequestParser::OnUrl;
    s.on_header_field = &RequestParser::OnHeaderField;
    s.on_header_value = &RequestParser::OnHeaderValue;
    s.on_header_value_complete = &RequestParser::OnHeaderValueComplete;
    s.on_headers_complete = &RequestParser::OnHeadersComplete;
    s.on_body = &RequestParser::OnBody;
    s.on_message_complete = &RequestParser::OnMessageComplete;
    return s;
  }();
  llhttp_init(&parser_, HTTP_REQUEST, &kSettings);
  parser_.data = this;
}

int RequestParser::Fail(int status, std::string name, std::string message) {
  if (error_status_ == 0) {
    error_status_ = status;
    error_name_ = std::move(name);
    error_message_ = std::move(message);
  }
  return -1;
}

bool RequestParser::CountHeaderBytes(size_t n) {
  header_bytes_ += n;
  return header_bytes_ <= limits_.max_header_bytes;
}

RequestParser::Result RequestParser::Feed(const char* data, size_t len, size_t* consumed) {
  *consumed = 0;
  if (error_status_ != 0) return Result::kError;
  if (upgraded_) {
    *consumed = len;  // ignored: the connection closes after the current response
    return Result::kNeedMore;
  }
  if (len == 0) return Result::kNeedMore;
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (err == HPE_OK) {
    *consumed = len;
    return Result::kNeedMore;
  }
  if ((err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) && ready_) {
    const char* pos = llhttp_get_error_pos(&parser_);
    *consumed = (pos != nullptr && pos >= data && pos <= data + len)
                    ? static_cast<size_t>(pos - data)
                    : len;
    if (err == HPE_PAUSED) {
      llhttp_resume(&parser_);
    } else {
      // The rest of the stream would belong to another protocol: answer, then close.
      req_.keep_alive = false;
      upgraded_ = true;
    }
    return Result::kRequest;
  }
  if (error_status_ == 0) {
    // An error llhttp found by itself (HPE_*), or a pause we did not ask for.
    const char* reason = llhttp_get_error_reason(&parser_);
    error_status_ = 400;
    error_name_ = llhttp_errno_name(err);
    error_message_ = reason != nullptr && *reason != '\0' ? reason : "malformed request";
  }
  return Result::kError;
}

RequestParser::Result RequestParser::Finish() {
  if (error_status_ != 0) return Result::kError;
  if (in_message_) {
    Fail(400, "truncated", "the connection closed in the middle of a request");
    return Result::kError;
  }
  return Result::kNeedMore;
}

Request RequestParser::TakeRequest() {
  ready_ = false;
  Request out = std::move(req_);
  req_ = Request();
  return out;
}

bool RequestParser::TakeExpectContinue() {
  bool e = expect_continue_;
  expect_continue_ = false;
  return e;
}

int RequestParser::OnMessageBegin(llhttp_t* p) {
  RequestParser* self = Self(p);
  self->req_ = Request();
  self->url_.clear();
  self->field_.clear();
  self->value_.clear();
  self->header_bytes_ = 0;
  self->in_message_ = true;
  self->headers_complete_ = false;
  self->ready_ = false;
  self->expect_continue_ = false;
  return 0;
}

int RequestParser::OnUrl(llhttp_t* p, const char* at, size_t len) {
  RequestParser* self = Self(p);
  if (!self->CountHeaderBytes(len)) {
    return self->Fail(414, "uri_too_long", "the request target is too long");
  }
  self->url_.append(at, len);
  return 0;
}

int RequestParser::OnHeaderField(llhttp_t* p, const char* at, size_t len) {
  RequestParser* self = Self(p);
  if (!self->CountHeaderBytes(len)) {
    return self->Fail(431, "header_too_large", "the request headers are too large");
  }
  self->field_.append(at, len);
  return 0;
}

int RequestParser::OnHeaderValue(llhttp_t* p, const char* at, size_t len) {
  RequestParser* self = Self(p);
  if (!self->CountHeaderBytes(len)) {
    return self->Fail(431, "header_too_large", "the request headers are too large");
  }
  self->value_.append(at, len);
  return 0;
}

int RequestParser::OnHeaderValueComplete(llhttp_t* p) {
  RequestParser* self = Self(p);
  // ": " and CRLF around each field count too, so many empty fields still add up.
  if (!self->CountHeaderBytes(4)) {
    return self->Fail(431, "header_too_large", "the request headers are too large");
  }
  // llhttp lets some non-token bytes through in names ("Bad Name"); refuse them here.
  if (!IsToken(self->field_)) {
    return self->Fail(400, "invalid_header_name", "invalid character in a header name");
  }
  // llhttp leaves trailing whitespace in the value (leading whitespace is skipped).
  std::string& v = self->value_;
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
  self->req_.headers.Add(std::move(self->field_), std::move(self->value_));
  self->field_.clear();
  self->value_.clear();
  return 0;
}

int RequestParser::OnHeadersComplete(llhttp_t* p) {
  RequestParser* self = Self(p);
  Request& req = self->req_;
  req.http_major = p->http_major;
  req.http_minor = p->http_minor;
  if (req.http_major != 1 || (req.http_minor != 0 && req.http_minor != 1)) {
    return self->Fail(505, "unsupported_version", "only HTTP/1.0 and HTTP/1.1 are supported");
  }
  req.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
  if (p->method == HTTP_CONNECT) {
    return self->Fail(501, "connect", "CONNECT is not supported");
  }
  size_t hosts = req.headers.Count("Host");
  if (hosts > 1 || (hosts == 0 && req.http_minor == 1)) {
    return self->Fail(400, "bad_host", "an HTTP/1.1 request needs exactly one Host header");
  }
  std::string error;
  if (!ParseTarget(self->url_, &req, &error)) {
    return self->Fail(400, "bad_target", error);
  }
  if ((p->flags & F_CONTENT_LENGTH) != 0 && p->content_length > self->limits_.max_body_bytes) {
    return self->Fail(413, "body_too_large", "the request body is too large");
  }
  bool has_body =
      (p->flags & F_CHUNKED) != 0 || ((p->flags & F_CONTENT_LENGTH) != 0 && p->content_length > 0);
  const std::string* expect = req.headers.Find("Expect");
  if (expect != nullptr) {
    if (!EqualsIgnoreCase(*expect, "100-continue")) {
      return self->Fail(417, "expectation_failed", "only Expect: 100-continue is supported");
    }
    self->expect_continue_ = has_body && req.http_minor == 1;
  }
  const std::string* connection = req.headers.Find("Connection");
  if (connection != nullptr && HasToken(*connection, "upgrade")) {
    // llhttp would switch protocols after this message; we answer it and close instead.
    req.keep_alive = false;
  }
  self->headers_complete_ = true;
  if (self->on_headers_ && !self->on_headers_(&req)) {
    self->expect_continue_ = false;
    return self->Fail(403, "refused", "the request was refused");
  }
  return 0;
}

int RequestParser::OnBody(llhttp_t* p, const char* at, size_t len) {
  RequestParser* self = Self(p);
  if (self->req_.body.size() + len > self->limits_.max_body_bytes) {
    return self->Fail(413, "body_too_large", "the request body is too large");
  }
  self->req_.body.append(at, len);
  return 0;
}

int RequestParser::OnMessageComplete(llhttp_t* p) {
  RequestParser* self = Self(p);
  bool keep = llhttp_should_keep_alive(p) != 0;
  self->req_.keep_alive = self->req_.keep_alive && keep && p->upgrade == 0;
  self->in_message_ = false;
  self->headers_complete_ = false;
  self->ready_ = true;
  return HPE_PAUSED;
}

}  // namespace robotni::http
