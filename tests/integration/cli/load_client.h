#ifndef ROBOTNI_TESTS_INTEGRATION_CLI_LOAD_CLIENT_H_
#define ROBOTNI_TESTS_INTEGRATION_CLI_LOAD_CLIENT_H_

// LoadClient: many keep-alive HTTP/1.1 connections to 127.0.0.1 driven from the calling
// thread with epoll and non-blocking sockets (not a thread per client). Each connection has
// at most one request in flight; the caller decides the next request of a connection and
// sees every reply. Connection failures (refused, reset, closed by the server) are counted,
// never retried, so a test can assert there were none.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace robotni::testing {

struct LoadReply {
  int status = 0;
  std::string etag;
  std::string body;
  bool close = false;  // the server said Connection: close
};

// One client connection and what the test keeps about it.
struct LoadConn {
  int index = 0;
  int fd = -1;
  bool connected = false;
  bool busy = false;  // a request is in flight
  bool closed = false;
  std::string out;
  size_t out_pos = 0;
  std::string in;
  // Free for the caller: the job this connection follows and its last ETag.
  std::string job_id;
  std::string etag;
  int64_t expect = 0;
  int kind = 0;
  bool sent_inm = false;
};

struct LoadCounts {
  uint64_t requests = 0;  // replies received
  uint64_t connect_failures = 0;
  uint64_t resets = 0;          // ECONNRESET / EPIPE / other socket errors
  uint64_t server_closes = 0;   // EOF or Connection: close from the server
  uint64_t lost_in_flight = 0;  // requests whose connection ended before the reply
};

class LoadClient {
 public:
  // next(conn): the next raw request for `conn`, or "" to leave it idle for now.
  // on_reply(conn, reply): called for every complete reply.
  using NextFn = std::function<std::string(LoadConn&)>;
  using ReplyFn = std::function<void(LoadConn&, const LoadReply&)>;

  LoadClient(int port, int connections) : port_(port), conns_(connections) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < connections; ++i) conns_[i].index = i;
  }
  ~LoadClient() {
    for (auto& c : conns_)
      if (c.fd >= 0) close(c.fd);
    close(ep_);
  }
  LoadClient(const LoadClient&) = delete;
  LoadClient& operator=(const LoadClient&) = delete;

  // Opens every connection (non-blocking connect). False when a socket cannot be created
  // (the open-files limit).
  bool Connect() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (auto& c : conns_) {
      c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (c.fd < 0) return false;
      int one = 1;
      setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      int rc = connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      if (rc != 0 && errno != EINPROGRESS) {
        counts_.connect_failures++;
        Drop(c, false);
        continue;
      }
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT;
      ev.data.u32 = static_cast<uint32_t>(c.index);
      epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    }
    return true;
  }

  // Runs until `send_for` has passed (then sends nothing new and waits for the replies in
  // flight, for at most `drain_for`), or until every connection is closed.
  void Run(std::chrono::milliseconds send_for, std::chrono::milliseconds drain_for, NextFn next,
           ReplyFn on_reply) {
    next_ = std::move(next);
    on_reply_ = std::move(on_reply);
    auto start = std::chrono::steady_clock::now();
    auto stop_sending = start + send_for;
    auto give_up = stop_sending + drain_for;
    std::vector<epoll_event> events(256);
    while (true) {
      auto now = std::chrono::steady_clock::now();
      sending_ = now < stop_sending;
      if (!sending_) {
        if (InFlight() == 0 || now >= give_up) break;
      }
      if (Open() == 0) break;
      if (sending_) KickIdle();
      int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 20);
      for (int i = 0; i < n; ++i) {
        LoadConn& c = conns_[events[i].data.u32];
        if (c.closed) continue;
        uint32_t e = events[i].events;
        if (!c.connected && (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))) OnConnected(c);
        if (c.closed) continue;
        if (e & EPOLLIN) OnReadable(c);
        if (c.closed) continue;
        if ((e & EPOLLOUT) && c.connected) Flush(c);
        if (!c.closed && (e & EPOLLERR)) {
          counts_.resets++;
          Drop(c, true);
        }
      }
    }
    elapsed_ = std::chrono::steady_clock::now() - start;
  }

  const LoadCounts& counts() const { return counts_; }
  std::chrono::duration<double> elapsed() const { return elapsed_; }
  int Open() const {
    int n = 0;
    for (const auto& c : conns_) n += c.closed ? 0 : 1;
    return n;
  }

 private:
  int InFlight() const {
    int n = 0;
    for (const auto& c : conns_) n += (!c.closed && c.busy) ? 1 : 0;
    return n;
  }

  void OnConnected(LoadConn& c) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      counts_.connect_failures++;
      Drop(c, false);
      return;
    }
    c.connected = true;
    WatchWrites(c, false);
    if (sending_) Send(c);
  }

  void KickIdle() {
    for (auto& c : conns_)
      if (c.connected && !c.closed && !c.busy) Send(c);
  }

  void Send(LoadConn& c) {
    std::string req = next_(c);
    if (req.empty()) return;
    c.out = std::move(req);
    c.out_pos = 0;
    c.busy = true;
    Flush(c);
  }

  void Flush(LoadConn& c) {
    while (c.out_pos < c.out.size()) {
      ssize_t n = send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_pos += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EAGAIN) {
        WatchWrites(c, true);
        return;
      }
      counts_.resets++;
      Drop(c, true);
      return;
    }
    WatchWrites(c, false);
  }

  void WatchWrites(LoadConn& c, bool on) {
    epoll_event ev{};
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
    ev.data.u32 = static_cast<uint32_t>(c.index);
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void OnReadable(LoadConn& c) {
    char buf[16384];
    while (true) {
      ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EAGAIN) break;
      if (n == 0) {
        ParseReplies(c);
        if (!c.closed) {
          counts_.server_closes++;
          Drop(c, true);
        }
      } else {
        counts_.resets++;
        Drop(c, true);
      }
      return;
    }
    ParseReplies(c);
  }

  void ParseReplies(LoadConn& c) {
    while (!c.closed) {
      size_t head_end = c.in.find("\r\n\r\n");
      if (head_end == std::string::npos) return;
      std::string_view head(c.in.data(), head_end);
      LoadReply r;
      if (head.size() > 12) r.status = std::atoi(c.in.c_str() + 9);
      size_t length = 0;
      size_t pos = head.find("\r\n");
      while (pos != std::string_view::npos && pos < head.size()) {
        size_t end = head.find("\r\n", pos + 2);
        std::string_view line = head.substr(
            pos + 2, end == std::string_view::npos ? std::string_view::npos : end - pos - 2);
        size_t colon = line.find(':');
        if (colon != std::string_view::npos) {
          std::string name(line.substr(0, colon));
          for (auto& ch : name) ch = static_cast<char>(tolower(static_cast<unsigned char>(ch)));
          std::string_view value = line.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
          if (name == "content-length")
            length = std::strtoull(std::string(value).c_str(), nullptr, 10);
          if (name == "etag") r.etag = std::string(value);
          if (name == "connection" && value == "close") r.close = true;
        }
        pos = end;
      }
      if (c.in.size() < head_end + 4 + length) return;
      r.body = c.in.substr(head_end + 4, length);
      c.in.erase(0, head_end + 4 + length);
      c.busy = false;
      counts_.requests++;
      on_reply_(c, r);
      if (r.close) {
        counts_.server_closes++;
        Drop(c, false);
        return;
      }
      if (sending_) Send(c);
    }
  }

  void Drop(LoadConn& c, bool count_lost) {
    if (c.closed) return;
    if (count_lost && c.busy) counts_.lost_in_flight++;
    c.closed = true;
    c.busy = false;
    if (c.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
      c.fd = -1;
    }
  }

  int port_;
  int ep_ = -1;
  std::vector<LoadConn> conns_;
  NextFn next_;
  ReplyFn on_reply_;
  bool sending_ = true;
  LoadCounts counts_;
  std::chrono::duration<double> elapsed_{0};
};

}  // namespace robotni::testing

#endif  // ROBOTNI_TESTS_INTEGRATION_CLI_LOAD_CLIENT_H_
