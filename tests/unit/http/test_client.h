#ifndef ROBOTNI_TESTS_UNIT_HTTP_TEST_CLIENT_H_
#define ROBOTNI_TESTS_UNIT_HTTP_TEST_CLIENT_H_

// Test helpers: a server on 127.0.0.1:0 running its loop on a thread, and a small blocking
// HTTP client on plain POSIX sockets (so the tests control every byte on the wire).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "http/request.h"
#include "http/server.h"

namespace robotni::http::testing {

// Runs an HttpServer on its own loop and thread. Stop() stops it gracefully and returns
// uv_loop_close()'s result (0 when every handle was closed).
class ServerThread {
 public:
  explicit ServerThread(Router router, ServerOptions options = {}) {
    uv_loop_init(&loop_);
    server_ = std::make_unique<HttpServer>(&loop_, std::move(router), std::move(options));
    listen_status_ = server_->Listen();
    if (listen_status_.ok()) {
      thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
    }
  }
  ~ServerThread() { Stop(); }

  const Status& listen_status() const { return listen_status_; }
  int port() const { return server_ ? server_->port() : 0; }
  HttpServer& server() { return *server_; }

  // Runs `fn` on the loop thread and waits for its result.
  template <typename F>
  auto OnLoop(F fn) -> decltype(fn()) {
    using R = decltype(fn());
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(fn));
    std::future<R> result = task->get_future();
    server_->Post([task] { (*task)(); });
    return result.get();
  }

  HttpCounters Counters() {
    return OnLoop([this] { return server_->counters(); });
  }

  int Stop() {
    if (stopped_) return close_rc_;
    stopped_ = true;
    if (thread_.joinable()) {
      server_->Post([this] { server_->Stop(); });
      thread_.join();
    }
    server_.reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
    close_rc_ = uv_loop_close(&loop_);
    return close_rc_;
  }

 private:
  uv_loop_t loop_{};
  std::unique_ptr<HttpServer> server_;
  Status listen_status_;
  std::thread thread_;
  bool stopped_ = false;
  int close_rc_ = -1;
};

struct ClientResponse {
  int status = 0;
  std::string reason;
  Headers headers;
  std::string body;
};

// A blocking client connection with a receive timeout (so a broken server fails the test
// instead of hanging it).
class Client {
 public:
  // `from`: the local address to connect from ("127.0.0.2" is another client to the server).
  explicit Client(int port, int timeout_ms = 10'000, const char* from = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (from != nullptr) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      ::inet_pton(AF_INET, from, &local.sin_addr);
      ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local);
    }
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  // Reads one response (Content-Length framed, or up to EOF). False on timeout/EOF/garbage.
  bool Read(ClientResponse* out, bool head = false) {
    *out = ClientResponse();
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return false;
    }
    std::string head_text = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t line_end = head_text.find("\r\n");
    std::string status_line = head_text.substr(0, line_end);
    if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) return false;
    out->status = std::atoi(status_line.c_str() + 9);
    out->reason = status_line.substr(13 > status_line.size() ? status_line.size() : 13);
    size_t pos = line_end == std::string::npos ? head_text.size() : line_end + 2;
    while (pos < head_text.size()) {
      size_t e = head_text.find("\r\n", pos);
      if (e == std::string::npos) e = head_text.size();
      std::string line = head_text.substr(pos, e - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        size_t v = line.find_first_not_of(' ', colon + 1);
        out->headers.Add(line.substr(0, colon), v == std::string::npos ? "" : line.substr(v));
      }
      pos = e + 2;
    }
    if (out->status == 100) return true;
    const std::string* cl = out->headers.Find("Content-Length");
    if (head || out->status == 204 || out->status == 304) return true;
    if (cl != nullptr) {
      size_t n = std::stoul(*cl);
      while (buf_.size() < n) {
        if (!Fill()) return false;
      }
      out->body = buf_.substr(0, n);
      buf_.erase(0, n);
      return true;
    }
    while (Fill()) {
    }
    out->body = std::move(buf_);
    buf_.clear();
    return true;
  }

  // True when the server closed the connection (EOF or reset) with nothing more to read.
  bool ReadEof() {
    if (!buf_.empty()) return false;
    char c;
    ssize_t n;
    do {
      n = ::recv(fd_, &c, 1, 0);
    } while (n < 0 && errno == EINTR);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  // One request, one response.
  bool RoundTrip(std::string_view request, ClientResponse* out) {
    return Send(request) && Read(out, request.rfind("HEAD ", 0) == 0);
  }

 private:
  bool Fill() {
    char tmp[16 * 1024];
    ssize_t n;
    do {
      n = ::recv(fd_, tmp, sizeof tmp, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

inline std::string Get(std::string_view path, std::string_view extra_headers = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra_headers) +
         "\r\n";
}

inline std::string Post(std::string_view path, std::string_view body,
                        std::string_view content_type = "application/json") {
  return "POST " + std::string(path) +
         " HTTP/1.1\r\nHost: t\r\nContent-Type: " + std::string(content_type) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

}  // namespace robotni::http::testing

#endif  // ROBOTNI_TESTS_UNIT_HTTP_TEST_CLIENT_H_
