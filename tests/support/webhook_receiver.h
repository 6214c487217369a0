#ifndef ROBOTNI_TESTS_SUPPORT_WEBHOOK_RECEIVER_H_
#define ROBOTNI_TESTS_SUPPORT_WEBHOOK_RECEIVER_H_

// WebhookReceiver: a tiny HTTP/1.1 server on 127.0.0.1 (a free port) for webhook tests. One
// thread accepts connections one at a time, reads one request from each (headers and a
// Content-Length body), records it, answers with the status the test chose for that request's
// number, and closes the connection. Tests wait for requests with WaitFor().

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace robotni::testing {

// A loopback port with nothing listening: bound, then closed (for "unreachable" cases).
inline int ClosedLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

struct ReceivedRequest {
  std::string method, path;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class WebhookReceiver {
 public:
  // `status_for(n)` answers the n-th request (0-based); 200 when not given. `headers_for(n)`
  // adds header lines ("Name: value\r\n" each) to that answer; `body_for(n)` is its body
  // ("ok" for a 2xx, "try again" otherwise, when not given).
  explicit WebhookReceiver(std::function<int(int n)> status_for = nullptr,
                           std::function<std::string(int n)> headers_for = nullptr,
                           std::function<std::string(int n)> body_for = nullptr)
      : status_for_(std::move(status_for)),
        headers_for_(std::move(headers_for)),
        body_for_(std::move(body_for)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd_, 64) != 0)
      return;
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~WebhookReceiver() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
  }

  int port() const { return port_; }
  std::string Url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // Waits until at least `n` requests arrived (or `timeout` passed); returns all so far.
  std::vector<ReceivedRequest> WaitFor(
      size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, timeout, [&] { return requests_.size() >= n; });
    return requests_;
  }
  // A snapshot. A request is recorded after its answer is written, so a client that has the
  // answer waits for it with WaitFor().
  std::vector<ReceivedRequest> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      Serve(c);
      close(c);
    }
  }

  void Serve(int c) {
    std::string in;
    char buf[4096];
    size_t head_end = std::string::npos;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    size_t want = 0;
    while (std::chrono::steady_clock::now() < deadline && !stop_) {
      pollfd p{c, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      ssize_t n = read(c, buf, sizeof(buf));
      if (n <= 0) return;
      in.append(buf, n);
      if (head_end == std::string::npos) {
        head_end = in.find("\r\n\r\n");
        if (head_end == std::string::npos) continue;
        want = head_end + 4 + ContentLength(in.substr(0, head_end));
      }
      if (in.size() >= want) break;
    }
    if (head_end == std::string::npos || in.size() < want) return;
    ReceivedRequest r = Parse(in.substr(0, head_end));
    r.body = in.substr(head_end + 4, want - head_end - 4);
    int n;
    {
      std::lock_guard<std::mutex> l(mu_);
      n = static_cast<int>(count_++);
    }
    int status = status_for_ ? status_for_(n) : 200;
    std::string body = body_for_                       ? body_for_(n)
                       : status >= 200 && status < 300 ? "ok"
                                                       : "try again";
    std::string resp = "HTTP/1.1 " + std::to_string(status) + " X\r\n" +
                       (headers_for_ ? headers_for_(n) : "") +
                       "Content-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body;
    (void)!write(c, resp.data(), resp.size());
    {
      std::lock_guard<std::mutex> l(mu_);
      requests_.push_back(std::move(r));
    }
    cv_.notify_all();
  }

  static std::string Lower(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(tolower(static_cast<unsigned char>(ch)));
    return s;
  }
  static size_t ContentLength(const std::string& head) {
    std::string lower = Lower(head);
    size_t at = lower.find("\r\ncontent-length:");
    if (at == std::string::npos) return 0;
    return std::stoul(head.substr(at + 17));
  }
  static ReceivedRequest Parse(const std::string& head) {
    ReceivedRequest r;
    size_t line_end = head.find("\r\n");
    std::string first = head.substr(0, line_end);
    size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
    r.method = first.substr(0, sp1);
    r.path = first.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t end = head.find("\r\n", pos);
      if (end == std::string::npos) end = head.size();
      std::string line = head.substr(pos, end - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        r.headers[Lower(line.substr(0, colon))] = v;
      }
      pos = end + 2;
    }
    return r;
  }

  std::function<int(int)> status_for_;
  std::function<std::string(int)> headers_for_;
  std::function<std::string(int)> body_for_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReceivedRequest> requests_;  // guarded by mu_
  size_t count_ = 0;                       // guarded by mu_
};

}  // namespace robotni::testing

#endif  // ROBOTNI_TESTS_SUPPORT_WEBHOOK_RECEIVER_H_
