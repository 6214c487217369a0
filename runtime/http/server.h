#ifndef ROBOTNI_RUNTIME_HTTP_SERVER_H_
#define ROBOTNI_RUNTIME_HTTP_SERVER_H_

// HttpServer: an HTTP/1.1 server on one libuv loop. It accepts TCP connections, parses each
// with llhttp as bytes arrive, hands requests to a Router one at a time per connection
// (pipelined requests are answered in order), keeps connections alive, and enforces limits:
// headers (431), body (413), malformed input (400 with a JSON body, then close), idle time.
// No exception crosses a libuv callback: a throwing handler becomes a 500.
//
// Thread-safety: everything except Post() runs on the loop thread (the one that calls
// uv_run). Post() and poster() may be used from any thread.
//
// Lifecycle: construct, Listen(), uv_run(loop); Stop() stops accepting, closes idle
// connections, lets in-flight responses finish (for at most stop_timeout_ms), then closes
// every handle it owns and calls on_stopped, so uv_run returns and uv_loop_close() gives 0.
// Destroy the server after that, or before Listen().

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "loop/loop_poster.h"
#include "http/request_parser.h"
#include "http/router.h"
#include "loop/uv_handle.h"
#include "robotni/status.h"

namespace robotni::http {

struct ServerOptions {
  std::string host = "127.0.0.1";  // IPv4 or IPv6 literal
  int port = 0;                    // 0: any free port, see HttpServer::port()
  int backlog = 511;
  ParserLimits limits;                // max_header_bytes (431), max_body_bytes (413)
  uint64_t idle_timeout_ms = 60'000;  // no bytes from a connection waiting for a request
  uint64_t stop_timeout_ms = 10'000;  // Stop(): how long in-flight requests may take
  uint64_t linger_ms = 2'000;         // after an error response: read and discard before closing
  size_t max_connections = 10'000;    // beyond it new connections are closed at once
  // Unparsed (pipelined) input buffered while a request is in flight; reading pauses beyond.
  size_t max_buffered_bytes = 64 * 1024;
  std::string server_name = "robotni";  // Server header; empty for none
};

// Counters for metrics. Read on the loop thread (or after the loop stopped).
struct HttpCounters {
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;  // over max_connections or after Stop()
  uint64_t connections_timed_out = 0;
  uint64_t connections_active = 0;
  uint64_t requests = 0;  // responses sent, malformed-request answers included
  uint64_t handler_exceptions = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  // (route spec, status) -> responses. Unmatched paths count as "(unmatched)", parse errors
  // as "(malformed)".
  std::map<std::pair<std::string, int>, uint64_t> responses;
  // Why requests were refused by the parser: llhttp's "HPE_INVALID_METHOD", or
  // "header_too_large", "body_too_large", "truncated", ...
  std::map<std::string, uint64_t> parse_errors;
};

class Connection;

class HttpServer {
 public:
  HttpServer(uv_loop_t* loop, Router router, ServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens on options.host:options.port. IOError (with the address and libuv's
  // error name) when that fails.
  Status Listen();

  // The bound port (the real one when options.port was 0); 0 before Listen().
  int port() const { return port_; }

  // Graceful stop; see the file comment. `on_stopped` runs on the loop thread once every
  // handle is closing. Calling it again only adds the callback.
  void Stop(std::function<void()> on_stopped = nullptr);
  bool stopping() const { return stopping_; }

  // Runs `fn` on the loop thread. Any thread, once Listen() has returned; false after the
  // server has stopped.
  bool Post(std::function<void()> fn);
  // The poster itself, for threads that may outlive the server (Post then returns false).
  std::shared_ptr<loop::LoopPoster> poster() const { return poster_; }

  const HttpCounters& counters() const { return counters_; }
  uv_loop_t* loop() const { return loop_; }

 private:
  friend class Connection;
  static void OnConnection(uv_stream_t* server, int status);
  void Accept();
  void OnConnectionClosed(Connection* c);
  void MaybeFinishStop();
  const std::string& HttpDate();

  uv_loop_t* loop_;
  Router router_;
  ServerOptions options_;
  loop::UvHandle<uv_tcp_t> listener_;
  loop::UvHandle<uv_timer_t> stop_timer_;
  std::shared_ptr<loop::LoopPoster> poster_;
  std::unordered_set<Connection*> connections_;
  std::vector<std::function<void()>> on_stopped_;
  HttpCounters counters_;
  std::vector<char> read_buffer_;  // shared: uv_read_cb consumes it before the next alloc
  int port_ = 0;
  bool stopping_ = false;
  bool stopped_ = false;
  int64_t date_second_ = -1;
  std::string date_;
};

}  // namespace robotni::http

#endif  // ROBOTNI_RUNTIME_HTTP_SERVER_H_
