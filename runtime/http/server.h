#ifndef ROBOTNI_RUNTIME_HTTP_SERVER_H_
#define ROBOTNI_RUNTIME_HTTP_SERVER_H_

// HttpServer: an HTTP/1.1 server on one libuv loop. It accepts TCP connections, parses each
// with llhttp as bytes arrive, hands requests to a Router one at a time per connection
// (pipelined requests are answered in order), keeps connections alive, and enforces limits:
// headers (431), body (413), malformed input (400 with a JSON body, then close), idle time.
// No exception crosses a libuv callback: a throwing handler becomes a 500.
//
// Under hostile clients: the router's filter (the token check) runs on a request's headers,
// before a byte of its body is read; a refused request is answered and its connection closed.
// A request must have its headers within header_timeout_ms of its first byte and be whole
// within request_timeout_ms, else 408 and close (bytes trickling in do not extend either).
// A connection whose answers are not taken by its peer (max_unsent_bytes queued) is not read
// nor parsed until they drain, so pipelining without reading costs at most that much. Bodies
// being received and unparsed input count against one budget for all connections
// (max_request_bytes); past it, connections in the middle of a body wait, while requests
// without bodies go on. Each client IP may hold max_connections_per_client connections.
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
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "http/request_parser.h"
#include "http/router.h"
#include "loop/loop_poster.h"
#include "loop/uv_handle.h"
#include "robotni/status.h"

namespace robotni::http {

// One answered request, for an access log.
// Orders (route, status) keys and finds them by a string_view route, so counting a response
// copies nothing.
struct RouteStatusLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const std::pair<A, int>& a, const std::pair<B, int>& b) const {
    int c = std::string_view(a.first).compare(std::string_view(b.first));
    return c < 0 || (c == 0 && a.second < b.second);
  }
};

struct AccessRecord {
  std::string_view method;  // "-" when the request could not be parsed
  std::string_view target;  // as sent ("/api/worker/jobs?x=1"); "-" when unparsed
  std::string_view client;  // the peer's IP
  int status = 0;
  size_t bytes = 0;          // of the response body
  uint64_t duration_ms = 0;  // the request's first byte to its answer being queued
};

struct ServerOptions {
  std::string host = "127.0.0.1";  // IPv4 or IPv6 literal
  int port = 0;                    // 0: any free port, see HttpServer::port()
  int backlog = 511;
  ParserLimits limits;                   // max_header_bytes (431), max_body_bytes (413)
  uint64_t idle_timeout_ms = 60'000;     // no request begun on a connection (keep-alive wait)
  uint64_t header_timeout_ms = 10'000;   // a request's first byte to the end of its headers
  uint64_t request_timeout_ms = 60'000;  // a request's first byte to the end of its body
  uint64_t stop_timeout_ms = 10'000;     // Stop(): how long in-flight requests may take
  uint64_t linger_ms = 2'000;            // after an error response: read and discard before closing
  size_t max_connections = 10'000;       // beyond it new connections are closed at once
  size_t max_connections_per_client = 256;  // per client IP address; beyond, closed at once
  // Unparsed (pipelined) input buffered while a request is in flight; reading pauses beyond.
  size_t max_buffered_bytes = 64 * 1024;
  // Answers written but not yet taken by the peer; beyond it the connection is not read.
  size_t max_unsent_bytes = 1024 * 1024;
  // Request bytes held across all connections (bodies being received, unparsed input); beyond
  // it connections in the middle of a body stop being read until others finish.
  size_t max_request_bytes = 64 * 1024 * 1024;
  std::string server_name = "robotni";  // Server header; empty for none
  // Called on the loop thread for every answer, refusals and parse errors included, as it
  // is queued for writing. Empty: none.
  std::function<void(const AccessRecord&)> on_access;
};

// Counters for metrics. Read on the loop thread (or after the loop stopped).
struct HttpCounters {
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;             // over max_connections or after Stop()
  uint64_t connections_timed_out = 0;            // idle ones closed, and 408s for slow requests
  uint64_t connections_rejected_per_client = 0;  // over max_connections_per_client
  uint64_t connections_active = 0;
  uint64_t requests_timed_out = 0;   // 408: header or request deadline passed
  uint64_t requests_refused = 0;     // the filter answered on the headers (401, 429, ...)
  uint64_t reads_paused_output = 0;  // times a connection stopped being read for its answers
  uint64_t reads_paused_budget = 0;  // times a connection waited for the request-bytes budget
  uint64_t request_bytes = 0;        // request bytes held now (see max_request_bytes)
  uint64_t request_bytes_max = 0;    // the most ever held at once
  uint64_t unsent_bytes = 0;         // answer bytes written and not yet taken, all connections
  uint64_t unsent_bytes_max = 0;     // the most ever queued on one connection
  uint64_t memory_trims = 0;         // malloc_trim after connections that held much closed
  uint64_t requests = 0;             // responses sent, malformed-request answers included
  uint64_t handler_exceptions = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  // (route spec, status) -> responses. Unmatched paths count as "(unmatched)", parse errors
  // as "(malformed)".
  std::map<std::pair<std::string, int>, uint64_t, RouteStatusLess> responses;
  // One more response to (route, status), without copying the route when it is counted.
  void CountResponse(std::string_view route, int status);
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
  // Request bytes held by a connection changed by `delta`; wakes waiters when it drops.
  void AddRequestBytes(int64_t delta);
  bool RequestBudgetLeft() const;
  void TrimMemorySoon();
  void MaybeFinishStop();
  const std::string& HttpDate();

  uv_loop_t* loop_;
  Router router_;
  ServerOptions options_;
  loop::UvHandle<uv_tcp_t> listener_;
  loop::UvHandle<uv_timer_t> stop_timer_;
  std::shared_ptr<loop::LoopPoster> poster_;
  std::unordered_set<Connection*> connections_;
  std::unordered_set<Connection*> budget_waiters_;      // not read until the budget has room
  std::unordered_map<std::string, size_t> per_client_;  // open connections by client IP
  loop::UvHandle<uv_timer_t> trim_timer_;               // TrimMemorySoon
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
