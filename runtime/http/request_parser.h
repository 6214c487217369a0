#ifndef ROBOTNI_RUNTIME_HTTP_REQUEST_PARSER_H_
#define ROBOTNI_RUNTIME_HTTP_REQUEST_PARSER_H_

// RequestParser turns the bytes of one connection into Requests with llhttp, fed chunk by
// chunk as uv_read_cb delivers them. It stops after each complete request so pipelined
// requests are handled one at a time, in order; the caller keeps the unconsumed bytes and
// feeds them again once it has answered. It enforces the size limits while parsing, so no
// oversized header or body is ever buffered whole.
// Thread-safety: one parser per connection, used from one thread.

#include <llhttp.h>

#include <cstddef>
#include <functional>
#include <string>

#include "http/request.h"

namespace robotni::http {

struct ParserLimits {
  // Request line plus header fields, counted as they arrive; more -> 431 (414 if the
  // request-target alone is too long).
  size_t max_header_bytes = 16 * 1024;
  // De-chunked body; more (or a larger Content-Length) -> 413.
  size_t max_body_bytes = 1024 * 1024;
};

class RequestParser {
 public:
  enum class Result {
    kNeedMore,  // all bytes consumed; no complete request yet
    kRequest,   // a complete request: TakeRequest(); *consumed may be < len (pipelining)
    kError,     // the input is not acceptable: answer error_status() and close
  };

  explicit RequestParser(ParserLimits limits = {});
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses from `data` until a request is complete, the data ends or an error occurs.
  // *consumed tells how many bytes were used. After kError the parser stays in error.
  Result Feed(const char* data, size_t len, size_t* consumed);

  // The peer closed its side: kError ("truncated request") when a request was begun and not
  // finished, kNeedMore otherwise.
  Result Finish();

  // Moves out the request completed by the last Feed() that returned kRequest.
  Request TakeRequest();

  // True once per request when the client sent "Expect: 100-continue" and its headers are in:
  // the server then writes "HTTP/1.1 100 Continue" before the body arrives.
  bool TakeExpectContinue();

  // Whether part of a request has been received.
  bool in_message() const { return in_message_; }
  // Whether the request being received has all its headers (its body may still come).
  bool headers_complete() const { return headers_complete_; }
  // Body bytes held for the request being received.
  size_t body_bytes() const { return req_.body.size(); }
  // Frees them: the request will not be answered (a timeout, a refusal).
  void DropBody() { std::string().swap(req_.body); }

  // Called once a request's headers are in and valid, before a byte of its body is taken (the
  // server checks the token there). false refuses the request: Feed() returns kError with
  // error_name() "refused" and the hook's owner sends its own answer.
  using HeadersHook = std::function<bool(Request* request)>;
  void SetHeadersHook(HeadersHook hook) { on_headers_ = std::move(hook); }

  // After kError: the status to answer (400, 413, 414, 431, 501, 505), a message for the
  // client, and a stable short name for metrics ("HPE_INVALID_METHOD", "header_too_large").
  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }
  const std::string& error_name() const { return error_name_; }

 private:
  static int OnMessageBegin(llhttp_t* p);
  static int OnUrl(llhttp_t* p, const char* at, size_t len);
  static int OnHeaderField(llhttp_t* p, const char* at, size_t len);
  static int OnHeaderValue(llhttp_t* p, const char* at, size_t len);
  static int OnHeaderValueComplete(llhttp_t* p);
  static int OnHeadersComplete(llhttp_t* p);
  static int OnBody(llhttp_t* p, const char* at, size_t len);
  static int OnMessageComplete(llhttp_t* p);

  // Records an error found by a callback; returns the value that makes llhttp stop.
  int Fail(int status, std::string name, std::string message);
  bool CountHeaderBytes(size_t n);

  ParserLimits limits_;
  llhttp_t parser_;
  Request req_;
  std::string url_;
  std::string field_;
  std::string value_;
  size_t header_bytes_ = 0;
  HeadersHook on_headers_;
  bool in_message_ = false;
  bool headers_complete_ = false;
  bool upgraded_ = false;
  bool ready_ = false;
  bool expect_continue_ = false;
  int error_status_ = 0;
  std::string error_message_;
  std::string error_name_;
};

}  // namespace robotni::http

#endif  // ROBOTNI_RUNTIME_HTTP_REQUEST_PARSER_H_
