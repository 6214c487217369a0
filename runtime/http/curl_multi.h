#ifndef ROBOTNI_RUNTIME_HTTP_CURL_MULTI_H_
#define ROBOTNI_RUNTIME_HTTP_CURL_MULTI_H_

// CurlMulti: outbound HTTP requests on the libuv loop, with libcurl's multi_socket interface.
// curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION: one uv_poll_t per socket)
// and when to wake it (CURLMOPT_TIMERFUNCTION: one uv_timer_t); readiness and timeouts are fed
// back with curl_multi_socket_action, and finished transfers call their completion on the loop.
// Nothing blocks: name resolution uses curl's threaded resolver, the rest is non-blocking I/O.
//
// Thread-safety: loop thread only (the one that runs uv_run), construction and destruction
// included. Other threads hand requests over with a LoopPoster.
//
// Lifecycle: construct on the loop thread; Close() (or the destructor) aborts what is still
// running, calling each completion with `aborted`, and closes every handle, so once the loop has
// run the close callbacks, uv_loop_close() succeeds.

#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loop/uv_handle.h"

namespace robotni::http {

struct HttpClientRequest {
  std::string url;  // http:// or https:// only; other schemes fail the transfer
  std::string method = "POST";
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  uint64_t timeout_ms = 10'000;           // the whole transfer, connecting included
  size_t max_response_bytes = 64 * 1024;  // more is read and dropped
  // Asked before each connection with the address it is about to use (after name
  // resolution, so DNS cannot get around it): "" connects, anything else refuses that address
  // with this reason. With a check, no proxy is used (the check would see the proxy only).
  std::function<std::string(const sockaddr* addr)> check_address;
};

struct HttpClientResult {
  bool responded = false;  // an HTTP response arrived (any status)
  long status = 0;         // its status; 0 without a response
  bool timed_out = false;
  bool aborted = false;  // Close() or Cancel() ended it
  bool refused = false;  // check_address refused the address(es) the name resolved to
  int curl_code = 0;     // CURLcode
  std::string error;     // why there is no response ("" when responded)
  std::string body;      // the response body, up to max_response_bytes
  // The response's Retry-After (delta seconds or an HTTP date, as curl reads it), in ms;
  // 0 without one.
  int64_t retry_after_ms = 0;
  int64_t elapsed_ms = 0;  // the whole transfer, name resolution included
};

class CurlMulti {
 public:
  using Done = std::function<void(HttpClientResult result)>;

  explicit CurlMulti(uv_loop_t* loop);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  // Starts a transfer. `done` runs later on the loop thread, exactly once, never from inside
  // Start(). Returns its id, or 0 (and `done` is dropped) after Close() or when curl refuses
  // the request.
  uint64_t Start(HttpClientRequest request, Done done);

  // Ends one transfer now; its `done` runs (before Cancel returns) with `aborted`. No-op for an
  // unknown or finished id.
  void Cancel(uint64_t id);

  // Aborts every transfer (their `done` run with `aborted`) and closes the handles. Start()
  // then returns 0. Safe to call twice.
  void Close();

  size_t active() const { return transfers_.size(); }
  uv_loop_t* loop() const { return loop_; }

 private:
  struct Transfer;
  static size_t OnBody(char* data, size_t size, size_t n, void* userp);
  static int OpenSocket(void* clientp, int purpose, void* address);
  static int OnSocket(void* easy, int fd, int what, void* userp, void* socketp);
  static int OnTimer(void* multi, long timeout_ms, void* userp);
  static void OnPoll(uv_poll_t* poll, int status, int events);
  static void OnTimeout(uv_timer_t* timer);
  void Action(int fd, int flags);
  void Finish();
  HttpClientResult TakeResult(Transfer* t, int code);

  uv_loop_t* loop_;
  void* multi_ = nullptr;  // CURLM*, kept out of this header
  loop::UvHandle<uv_timer_t> timer_;
  std::map<int, loop::UvHandle<uv_poll_t>> polls_;           // socket -> its poll handle
  std::map<uint64_t, std::unique_ptr<Transfer>> transfers_;  // id -> running transfer
  uint64_t next_id_ = 1;
  bool closed_ = false;
};

}  // namespace robotni::http

#endif  // ROBOTNI_RUNTIME_HTTP_CURL_MULTI_H_
