#include "http/server.h"

#include <sys/resource.h>

#include <algorithm>
#include <ctime>
#include <optional>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <exception>
#include <string>

#include "core/log.h"
#include "http/response.h"

namespace robotni::http {
namespace {

void LogError(const char* what, const char* detail) {
  log::Error(std::string("http: ") + what + ": " + detail);
}

struct WriteReq {
  uv_write_t req;
  std::string data;
};

// Raises the soft RLIMIT_NOFILE (often 1024) towards the hard limit so that
// `max_connections` clients, plus the store's and interpreters' own descriptors, fit.
void RaiseFdLimit(size_t max_connections) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  rlim_t want = static_cast<rlim_t>(max_connections) + 1024;
  if (lim.rlim_max != RLIM_INFINITY && want > lim.rlim_max) want = lim.rlim_max;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur >= want) return;
  rlim_t was = lim.rlim_cur;
  lim.rlim_cur = want;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    LogError("setrlimit(RLIMIT_NOFILE)", "cannot raise the open-files limit");
  } else if (want < static_cast<rlim_t>(max_connections) + 64) {
    log::Warn("http: open files limited to " + std::to_string(want) + " (was " +
              std::to_string(was) + "): fewer than " + std::to_string(max_connections) +
              " connections fit");
  }
}

constexpr const char kUnmatched[] = "(unmatched)";
constexpr const char kMalformed[] = "(malformed)";
// Bytes read and thrown away after a connection's last answer before it is closed at once.
constexpr size_t kMaxDiscard = 256 * 1024;

}  // namespace

// One answer slot per dispatched request; see Responder.
class PendingResponse final : public ResponseSink {
 public:
  explicit PendingResponse(Connection* conn) : conn_(conn) {}
  ~PendingResponse() override;
  void Send(Response response) noexcept override;
  // The connection is gone or has its answer: later answers go nowhere.
  void Detach() { conn_ = nullptr; }

 private:
  Connection* conn_;
  bool sent_ = false;
};

// One accepted TCP connection. It is deleted in the close callback of its tcp handle, which
// libuv runs after every write and shutdown callback of that handle, so requests never point
// to freed memory.
class Connection {
 public:
  explicit Connection(HttpServer* server) : server_(server), parser_(server->options_.limits) {
    parser_.SetHeadersHook([this](Request* req) { return Admit(req); });
  }

  // Accepts from `listener`; false (and closing) when that fails.
  bool Accept(uv_stream_t* listener);
  // Starts the idle timer and reading, once the server kept the connection.
  void Begin();
  void Close();
  void OnServerStop();
  void Detach() { server_ = nullptr; }
  void OnResponse(Response response) noexcept;
  void ForgetPending(PendingResponse* p) {
    if (pending_ == p) pending_ = nullptr;
  }
  const std::string& peer() const { return peer_; }
  bool counted_per_client = false;  // in HttpServer::per_client_
  // The request-bytes budget has room again.
  void OnBudget() { UpdateReading(); }

 private:
  enum class TimerMode { kNone, kIdle, kHeaders, kRequest, kClosing };

  static void OnAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void OnWrite(uv_write_t* req, int status);
  static void OnShutdown(uv_shutdown_t* req, int status);
  static void OnTimer(uv_timer_t* t);
  static void OnClosed(uv_handle_t* h);

  void HandleRead(ssize_t nread, const uv_buf_t* buf);
  void ProcessInput();
  bool Admit(Request* req);
  void Dispatch(Request req);
  void SendParseError();
  void SendFinal(Response response, const std::string& route);
  // ServerOptions::on_access for an answer to a request that began at `began` (uv_now).
  void RecordAccess(std::string_view method, std::string_view target, const Response& response,
                    uint64_t began);
  void Write(std::string data);
  void AfterWrite(int status, size_t size);
  void StartLinger();
  void ArmTimer(TimerMode mode, uint64_t ms);
  void UpdateTimer();
  void UpdateReading();
  void Account();
  size_t buffered() const { return in_.size() - in_pos_; }
  bool output_full() const {
    return server_ != nullptr && unsent_ > server_->options_.max_unsent_bytes;
  }
  // In the middle of a body: more reading needs room in the request-bytes budget.
  bool needs_budget() const { return parser_.headers_complete() || buffered() > 0; }

  HttpServer* server_;  // null once the server is destroyed
  uv_tcp_t tcp_{};
  std::string peer_;  // the client's IP
  loop::UvHandle<uv_timer_t> timer_;
  TimerMode timer_mode_ = TimerMode::kNone;
  uint64_t message_start_ = 0;  // uv_now() when the request being received began; 0: none
  RequestParser parser_;
  std::optional<Response> refusal_;              // the filter's answer to the request's headers
  std::string refused_route_;                    // for the responses counter
  std::string refused_method_, refused_target_;  // for the access log
  uint64_t request_began_ = 0;  // message_start_ of the request in flight (access log)
  std::string in_;              // received, not yet parsed: in_[in_pos_..]
  size_t in_pos_ = 0;
  Request request_;                     // the request in flight (or last answered)
  PendingResponse* pending_ = nullptr;  // its answer slot while the handler has not answered
  size_t writes_ = 0;                   // uv_write requests not yet completed
  size_t unsent_ = 0;                   // their bytes
  size_t accounted_ = 0;                // request bytes counted in the server's budget
  size_t peak_ = 0;                     // most bytes held at once (request + unsent)
  size_t discarded_ = 0;                // read and thrown away while lingering
  bool in_flight_ = false;              // a request was dispatched and is not answered yet
  bool dispatching_ = false;            // inside the handler call
  bool reading_ = false;
  bool paused_output_ = false;  // not read because of unsent answers
  bool paused_budget_ = false;  // not read until the budget has room
  bool peer_eof_ = false;
  bool close_after_write_ = false;
  bool lingering_ = false;
  bool closing_ = false;
};

PendingResponse::~PendingResponse() {
  if (!sent_ && conn_ != nullptr) {
    sent_ = true;
    Connection* c = conn_;
    c->ForgetPending(this);
    c->OnResponse(Response::Error(500, "the handler did not answer"));
  }
}

void PendingResponse::Send(Response response) noexcept {
  if (sent_) return;
  sent_ = true;
  if (conn_ != nullptr) {
    Connection* c = conn_;
    conn_ = nullptr;
    c->ForgetPending(this);
    c->OnResponse(std::move(response));
  }
}

namespace {

// Catches the filter's answer to a request's headers, given before Admit returns.
class CaptureSink final : public ResponseSink {
 public:
  explicit CaptureSink(std::optional<Response>* out) : out_(out) {}
  void Send(Response response) noexcept override {
    if (out_ != nullptr && !out_->has_value()) *out_ = std::move(response);
  }
  void Detach() { out_ = nullptr; }

 private:
  std::optional<Response>* out_;
};

std::string PeerAddress(const uv_tcp_t* tcp) {
  sockaddr_storage addr{};
  int len = sizeof addr;
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  char name[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET6) {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&addr), name, sizeof name);
  } else {
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&addr), name, sizeof name);
  }
  return name;
}

}  // namespace

bool Connection::Accept(uv_stream_t* listener) {
  uv_loop_t* loop = server_->loop_;
  uv_tcp_init(loop, &tcp_);
  tcp_.data = this;
  timer_ = loop::UvHandle<uv_timer_t>::Make();
  uv_timer_init(loop, timer_.get());
  timer_.get()->data = this;
  int rc = uv_accept(listener, reinterpret_cast<uv_stream_t*>(&tcp_));
  if (rc < 0) {
    LogError("accept", uv_strerror(rc));
    Close();
    return false;
  }
  peer_ = PeerAddress(&tcp_);
  return true;
}

void Connection::Begin() {
  uv_tcp_nodelay(&tcp_, 1);
  ArmTimer(TimerMode::kIdle, server_->options_.idle_timeout_ms);
  UpdateReading();
}

void Connection::Close() {
  if (closing_) return;
  closing_ = true;
  if (pending_ != nullptr) {
    pending_->Detach();
    pending_ = nullptr;
  }
  timer_.Reset();
  reading_ = false;
  in_.clear();
  in_.shrink_to_fit();
  in_pos_ = 0;
  request_ = Request();
  Account();
  if (server_ != nullptr) server_->budget_waiters_.erase(this);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Connection::OnClosed);
}

void Connection::OnClosed(uv_handle_t* h) {
  auto* c = static_cast<Connection*>(h->data);
  if (c->server_ != nullptr) {
    if (c->peak_ > 256 * 1024) c->server_->TrimMemorySoon();
    c->server_->OnConnectionClosed(c);
  }
  delete c;
}

void Connection::OnServerStop() {
  if (closing_) return;
  if (!in_flight_ && (writes_ == 0 || lingering_)) {
    Close();
    return;
  }
  // The answer in flight (or being written) goes out with Connection: close.
  if (!in_flight_) close_after_write_ = true;
  UpdateReading();
}

void Connection::ArmTimer(TimerMode mode, uint64_t ms) {
  if (!timer_) return;
  timer_mode_ = mode;
  uv_timer_start(timer_.get(), &Connection::OnTimer, ms, 0);
}

// The deadline that applies now: idle between requests, the header or the whole-request
// deadline while one is being received (counted from its first byte, so a trickle of bytes
// does not push it back). Nothing while a handler runs; lingering has its own.
void Connection::UpdateTimer() {
  if (closing_ || lingering_ || in_flight_ || server_ == nullptr ||
      timer_mode_ == TimerMode::kClosing)
    return;
  const ServerOptions& o = server_->options_;
  if (!parser_.in_message()) {
    message_start_ = 0;
    if (timer_mode_ != TimerMode::kIdle) ArmTimer(TimerMode::kIdle, o.idle_timeout_ms);
    return;
  }
  uint64_t now = uv_now(server_->loop_);
  if (message_start_ == 0) message_start_ = now;
  TimerMode mode = parser_.headers_complete() ? TimerMode::kRequest : TimerMode::kHeaders;
  if (mode == timer_mode_) return;
  uint64_t limit = mode == TimerMode::kRequest ? o.request_timeout_ms : o.header_timeout_ms;
  uint64_t elapsed = now - message_start_;
  ArmTimer(mode, limit > elapsed ? limit - elapsed : 0);
}

void Connection::OnTimer(uv_timer_t* t) {
  auto* c = static_cast<Connection*>(t->data);
  if (c == nullptr || c->closing_ || c->in_flight_) return;
  HttpServer* s = c->server_;
  TimerMode mode = c->timer_mode_;
  c->timer_mode_ = TimerMode::kNone;
  if (s == nullptr || c->lingering_ || mode == TimerMode::kClosing || mode == TimerMode::kNone) {
    c->Close();
    return;
  }
  s->counters_.connections_timed_out++;
  if (mode == TimerMode::kIdle) {
    c->Close();
    return;
  }
  s->counters_.requests_timed_out++;
  bool headers = mode == TimerMode::kHeaders;
  uint64_t ms = headers ? s->options_.header_timeout_ms : s->options_.request_timeout_ms;
  char secs[32];
  snprintf(secs, sizeof secs, "%g", static_cast<double>(ms) / 1000);
  Response timed_out =
      Response::Error(408, std::string(headers ? "the request headers" : "the request") +
                               " did not arrive within " + secs + " s (" +
                               (headers ? "header_timeout" : "request_timeout") + ")");
  c->RecordAccess("-", "-", timed_out, c->message_start_);
  c->SendFinal(std::move(timed_out), "(timeout)");
}

void Connection::UpdateReading() {
  if (closing_) return;
  bool want = !peer_eof_ && (lingering_ || (!close_after_write_ && server_ != nullptr &&
                                            buffered() < server_->options_.max_buffered_bytes));
  if (want && !lingering_ && output_full()) {
    want = false;
    if (!paused_output_) server_->counters_.reads_paused_output++;
    paused_output_ = true;
  } else {
    paused_output_ = false;
  }
  if (want && !lingering_ && needs_budget() && !server_->RequestBudgetLeft()) {
    want = false;
    if (!paused_budget_) server_->counters_.reads_paused_budget++;
    paused_budget_ = true;
    server_->budget_waiters_.insert(this);
  } else if (paused_budget_) {
    paused_budget_ = false;
    if (server_ != nullptr) server_->budget_waiters_.erase(this);
  }
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (want && !reading_) {
    if (uv_read_start(stream, &Connection::OnAlloc, &Connection::OnRead) == 0) reading_ = true;
  } else if (!want && reading_) {
    uv_read_stop(stream);
    reading_ = false;
  }
}

// Keeps the server's count of request bytes held (unparsed input, the body being received,
// the body of the request in flight) in step with this connection.
void Connection::Account() {
  size_t now = closing_ ? 0 : buffered() + parser_.body_bytes() + request_.body.size();
  if (now + unsent_ > peak_) peak_ = now + unsent_;
  if (server_ != nullptr && now != accounted_) {
    server_->AddRequestBytes(static_cast<int64_t>(now) - static_cast<int64_t>(accounted_));
  }
  accounted_ = now;
}

void Connection::OnAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(h->data);
  if (c->server_ == nullptr) {
    *buf = uv_buf_init(nullptr, 0);  // libuv reports UV_ENOBUFS; we close then
    return;
  }
  std::vector<char>& b = c->server_->read_buffer_;
  size_t size = b.size();
  // No more than the request-bytes budget has room for. In the middle of a body that may be
  // nothing (UV_ENOBUFS: the connection waits); a new request always gets a little, so that
  // requests without bodies go on whatever the bodies of others hold.
  const HttpServer* s = c->server_;
  size_t held = s->counters_.request_bytes;
  size_t left = held < s->options_.max_request_bytes ? s->options_.max_request_bytes - held : 0;
  if (!c->needs_budget()) left = std::max<size_t>(left, 4096);
  size = std::min(size, left);
  *buf = uv_buf_init(size == 0 ? nullptr : b.data(), static_cast<unsigned int>(size));
}

void Connection::OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(s->data);
  try {
    c->HandleRead(nread, buf);
  } catch (const std::exception& e) {
    LogError("read", e.what());
    c->Close();
  } catch (...) {
    LogError("read", "unknown exception");
    c->Close();
  }
}

void Connection::HandleRead(ssize_t nread, const uv_buf_t* buf) {
  if (closing_) return;
  if (nread > 0) {
    if (server_ != nullptr) server_->counters_.bytes_read += static_cast<uint64_t>(nread);
    if (lingering_) {
      // Discarded until the peer closes or the linger timer fires; a client that keeps
      // sending (a refused 1 MiB body) is not worth reading for long.
      discarded_ += static_cast<size_t>(nread);
      if (discarded_ > kMaxDiscard) Close();
      return;
    }
    in_.append(buf->base, static_cast<size_t>(nread));
    ProcessInput();
  } else if (nread == UV_EOF) {
    peer_eof_ = true;
    reading_ = false;  // libuv stops reading after EOF
    if (lingering_) {
      Close();
      return;
    }
    ProcessInput();
  } else if (nread == UV_ENOBUFS && server_ != nullptr) {
    UpdateReading();  // the request-bytes budget is full: wait for room
  } else if (nread < 0) {
    Close();
  }
}

void Connection::ProcessInput() {
  if (server_ == nullptr) {
    Close();
    return;
  }
  while (!closing_ && !in_flight_ && !close_after_write_ && !lingering_ && !output_full()) {
    if (in_pos_ >= in_.size()) break;
    size_t used = 0;
    RequestParser::Result r = parser_.Feed(in_.data() + in_pos_, buffered(), &used);
    in_pos_ += used;
    if (r == RequestParser::Result::kNeedMore) {
      if (parser_.TakeExpectContinue()) Write("HTTP/1.1 100 Continue\r\n\r\n");
      break;
    }
    if (r == RequestParser::Result::kError) {
      if (refusal_) {
        Response refused = std::move(*refusal_);
        refusal_.reset();
        server_->counters_.requests_refused++;
        RecordAccess(refused_method_, refused_target_, refused, message_start_);
        SendFinal(std::move(refused), refused_route_);
      } else {
        SendParseError();
      }
      return;
    }
    parser_.TakeExpectContinue();
    Dispatch(parser_.TakeRequest());
  }
  if (in_pos_ >= in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > 16 * 1024) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  if (!closing_ && !in_flight_ && !close_after_write_ && !lingering_ && peer_eof_ &&
      buffered() == 0) {
    if (parser_.Finish() == RequestParser::Result::kError) {
      SendParseError();
      return;
    }
    if (writes_ == 0) {
      Close();
      return;
    }
    close_after_write_ = true;
  }
  Account();
  UpdateTimer();
  UpdateReading();
}

// The request's headers are in: the router's filter (the token check) answers now, before a
// byte of the body is read, so refused requests cost no body buffering.
bool Connection::Admit(Request* req) {
  if (server_ == nullptr) return false;
  req->remote_address = peer_;
  if (server_->stopping_) req->keep_alive = false;
  auto sink = std::make_shared<CaptureSink>(&refusal_);
  bool pass;
  try {
    pass = server_->router_.Admit(req, Responder(sink));
  } catch (const std::exception& e) {
    LogError(req->route.c_str(), e.what());
    pass = false;
  } catch (...) {
    pass = false;
  }
  sink->Detach();  // a later answer (from a filter that kept the Responder) goes nowhere
  if (pass) {
    refusal_.reset();
    return true;
  }
  if (!refusal_) refusal_ = Response::Error(500, "internal error");
  refused_route_ = req->route.empty() ? kUnmatched : req->route;
  refused_method_ = req->method;
  refused_target_ = req->target;
  return false;
}

void Connection::Dispatch(Request req) {
  request_ = std::move(req);
  if (server_->stopping_) request_.keep_alive = false;
  in_flight_ = true;
  dispatching_ = true;
  request_began_ = message_start_ ? message_start_ : uv_now(server_->loop_);
  message_start_ = 0;
  if (timer_) uv_timer_stop(timer_.get());
  timer_mode_ = TimerMode::kNone;
  auto sink = std::make_shared<PendingResponse>(this);
  pending_ = sink.get();
  {
    Responder respond(std::move(sink));
    try {
      // The filter ran on the headers (Admit).
      server_->router_.Dispatch(&request_, respond, /*run_filter=*/false);
    } catch (const std::exception& e) {
      if (server_ != nullptr) server_->counters_.handler_exceptions++;
      LogError(request_.route.c_str(), e.what());
      respond(Response::Error(500, "internal error"));
    } catch (...) {
      if (server_ != nullptr) server_->counters_.handler_exceptions++;
      LogError(request_.route.c_str(), "unknown exception");
      respond(Response::Error(500, "internal error"));
    }
  }  // the last Responder copy gone without an answer sends a 500 here
  dispatching_ = false;
}

void Connection::OnResponse(Response response) noexcept {
  if (!in_flight_ || closing_ || server_ == nullptr) return;
  in_flight_ = false;
  try {
    if (response.status < 200 || response.status > 999) {
      response = Response::Error(500, "the handler answered an invalid status");
    }
    HttpServer* s = server_;
    bool keep = request_.keep_alive && !s->stopping_;
    s->counters_.requests++;
    s->counters_.CountResponse(request_.route.empty() ? kUnmatched : request_.route,
                               response.status);
    RecordAccess(request_.method, request_.target, response, request_began_);
    bool http10 = request_.http_minor == 0;
    Write(SerializeResponse(response, keep, http10, request_.method == "HEAD", s->HttpDate(),
                            s->options_.server_name));
    std::string().swap(request_.body);  // answered: its body is no longer held
    if (!keep) {
      close_after_write_ = true;
      if (writes_ == 0) {  // written whole already: no write callback will start the linger
        StartLinger();
        return;
      }
      Account();
      UpdateReading();
      return;
    }
    ArmTimer(TimerMode::kIdle, s->options_.idle_timeout_ms);
    // Inside the handler call the dispatch loop goes on by itself once the handler returns.
    if (!dispatching_) ProcessInput();
  } catch (const std::exception& e) {
    LogError("response", e.what());
    Close();
  } catch (...) {
    LogError("response", "unknown exception");
    Close();
  }
}

void Connection::SendParseError() {
  HttpServer* s = server_;
  s->counters_.parse_errors[parser_.error_name()]++;
  Response r = Response::Error(parser_.error_status(), parser_.error_message());
  RecordAccess("-", "-", r, message_start_);
  SendFinal(std::move(r), kMalformed);
}

void Connection::RecordAccess(std::string_view method, std::string_view target,
                              const Response& response, uint64_t began) {
  if (server_ == nullptr || !server_->options_.on_access) return;
  uint64_t now = uv_now(server_->loop_);
  AccessRecord r;
  r.method = method.empty() ? "-" : method;
  r.target = target.empty() ? "-" : target;
  r.client = peer_;
  r.status = response.status;
  r.bytes = response.body.size();
  r.duration_ms = began && now > began ? now - began : 0;
  try {
    server_->options_.on_access(r);
  } catch (...) {  // a log line must not take the connection down
  }
}

// The last answer on this connection (a parse error, a refusal, a timeout): written with
// Connection: close, then the connection lingers and closes. A peer that never reads it is
// closed after linger_ms all the same.
void Connection::SendFinal(Response response, const std::string& route) {
  HttpServer* s = server_;
  s->counters_.requests++;
  s->counters_.CountResponse(route, response.status);
  close_after_write_ = true;
  in_.clear();
  in_pos_ = 0;
  parser_.DropBody();
  Write(SerializeResponse(response, false, false, false, s->HttpDate(), s->options_.server_name));
  if (closing_) return;
  if (writes_ == 0) {  // written whole already: no write callback will start the linger
    StartLinger();
    return;
  }
  ArmTimer(TimerMode::kClosing, s->options_.linger_ms);
  Account();
  UpdateReading();
}

void Connection::Write(std::string data) {
  if (closing_) return;
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (writes_ == 0) {
    // Nothing queued: write now. An answer the socket takes whole needs no write request, no
    // callback and no poll-set update (libuv 1.44 re-arms the handle after every uv_write:
    // one epoll_ctl per answer).
    uv_buf_t now = uv_buf_init(data.data(), static_cast<unsigned int>(data.size()));
    int n = uv_try_write(stream, &now, 1);
    if (n < 0 && n != UV_EAGAIN) {
      Close();
      return;
    }
    if (n > 0) {
      if (server_ != nullptr) server_->counters_.bytes_written += static_cast<uint64_t>(n);
      if (static_cast<size_t>(n) == data.size()) return;
      data.erase(0, static_cast<size_t>(n));
    }
  }
  auto* w = new WriteReq();
  w->data = std::move(data);
  w->req.data = this;
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned int>(w->data.size()));
  int rc = uv_write(&w->req, stream, &buf, 1, &Connection::OnWrite);
  if (rc < 0) {
    delete w;
    Close();
    return;
  }
  ++writes_;
  unsent_ += w->data.size();
  if (server_ != nullptr) {
    server_->counters_.bytes_written += w->data.size();
    server_->counters_.unsent_bytes += w->data.size();
    if (unsent_ > server_->counters_.unsent_bytes_max)
      server_->counters_.unsent_bytes_max = unsent_;
  }
}

void Connection::OnWrite(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<WriteReq*>(req);
  auto* c = static_cast<Connection*>(req->data);
  size_t size = w->data.size();
  delete w;
  try {
    c->AfterWrite(status, size);
  } catch (...) {
    c->Close();
  }
}

void Connection::AfterWrite(int status, size_t size) {
  --writes_;
  bool was_full = output_full();
  unsent_ -= size;
  if (server_ != nullptr) server_->counters_.unsent_bytes -= size;
  if (closing_) return;
  if (status < 0 || server_ == nullptr) {
    Close();
    return;
  }
  if (writes_ == 0 && close_after_write_ && !in_flight_) {
    StartLinger();
    return;
  }
  if (!in_flight_ && !parser_.in_message() && timer_mode_ != TimerMode::kClosing) {
    ArmTimer(TimerMode::kIdle, server_->options_.idle_timeout_ms);
  }
  // The peer took enough of our answers: parse and read again.
  if (was_full && !output_full()) ProcessInput();
}

// After the last response of a connection: send FIN, then read and discard what the client
// is still sending, so closing does not reset the connection before it read our answer.
void Connection::StartLinger() {
  if (peer_eof_ || server_ == nullptr || server_->stopping_) {
    Close();
    return;
  }
  auto* req = new uv_shutdown_t();
  req->data = this;
  int rc = uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&tcp_), &Connection::OnShutdown);
  if (rc < 0) {
    delete req;
    Close();
    return;
  }
  lingering_ = true;
  in_.clear();
  in_pos_ = 0;
  Account();
  ArmTimer(TimerMode::kClosing, server_->options_.linger_ms);
  UpdateReading();
}

void Connection::OnShutdown(uv_shutdown_t* req, int status) {
  auto* c = static_cast<Connection*>(req->data);
  delete req;
  if (status < 0) c->Close();
}

void HttpCounters::CountResponse(std::string_view route, int status) {
  auto it = responses.find(std::pair<std::string_view, int>(route, status));
  if (it == responses.end()) it = responses.emplace(std::pair(std::string(route), status), 0).first;
  ++it->second;
}

HttpServer::HttpServer(uv_loop_t* loop, Router router, ServerOptions options)
    : loop_(loop),
      router_(std::move(router)),
      options_(std::move(options)),
      read_buffer_(64 * 1024) {}

HttpServer::~HttpServer() {
  listener_.Reset();
  stop_timer_.Reset();
  trim_timer_.Reset();
  for (Connection* c : connections_) {
    c->Detach();
    c->Close();
  }
  connections_.clear();
  if (poster_) poster_->Close();
}

Status HttpServer::Listen() {
  if (listener_ || stopping_) return Status::Busy("the server is already listening or stopped");
  sockaddr_storage addr{};
  bool v6 = options_.host.find(':') != std::string::npos;
  int rc =
      v6 ? uv_ip6_addr(options_.host.c_str(), options_.port, reinterpret_cast<sockaddr_in6*>(&addr))
         : uv_ip4_addr(options_.host.c_str(), options_.port, reinterpret_cast<sockaddr_in*>(&addr));
  std::string where = options_.host + ":" + std::to_string(options_.port);
  if (rc < 0) return Status::InvalidArgument("not an IP address: " + where);
  RaiseFdLimit(options_.max_connections);
  listener_ = loop::UvHandle<uv_tcp_t>::Make();
  uv_tcp_init(loop_, listener_.get());
  listener_.get()->data = this;
  rc = uv_tcp_bind(listener_.get(), reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_.get()), options_.backlog,
                   &HttpServer::OnConnection);
  }
  if (rc < 0) {
    listener_.Reset();
    return Status::IOError("listen on " + where + ": " + uv_err_name(rc) + ": " + uv_strerror(rc));
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  poster_ = loop::LoopPoster::Create(loop_);
  return Status::OK();
}

void HttpServer::OnConnection(uv_stream_t* listener, int status) {
  auto* self = static_cast<HttpServer*>(listener->data);
  if (self == nullptr) return;
  if (status < 0) {
    LogError("listen", uv_strerror(status));
    return;
  }
  try {
    self->Accept();
  } catch (const std::exception& e) {
    LogError("accept", e.what());
  } catch (...) {
    LogError("accept", "unknown exception");
  }
}

void HttpServer::Accept() {
  auto* c = new Connection(this);
  connections_.insert(c);
  counters_.connections_accepted++;
  counters_.connections_active = connections_.size();
  if (!c->Accept(reinterpret_cast<uv_stream_t*>(listener_.get()))) return;
  if (stopping_ || connections_.size() > options_.max_connections) {
    counters_.connections_rejected++;
    c->Close();
    return;
  }
  // One address holding every slot (half-sent requests) would lock everyone else out.
  size_t& mine = per_client_[c->peer()];
  if (mine >= options_.max_connections_per_client) {
    if (mine == 0) per_client_.erase(c->peer());
    counters_.connections_rejected++;
    counters_.connections_rejected_per_client++;
    c->Close();
    return;
  }
  ++mine;
  c->counted_per_client = true;
  c->Begin();
}

void HttpServer::OnConnectionClosed(Connection* c) {
  connections_.erase(c);
  budget_waiters_.erase(c);
  if (c->counted_per_client) {
    auto it = per_client_.find(c->peer());
    if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
  }
  counters_.connections_active = connections_.size();
  MaybeFinishStop();
}

bool HttpServer::RequestBudgetLeft() const {
  // Room for one more full read.
  return counters_.request_bytes + read_buffer_.size() <= options_.max_request_bytes;
}

void HttpServer::AddRequestBytes(int64_t delta) {
  counters_.request_bytes =
      static_cast<uint64_t>(static_cast<int64_t>(counters_.request_bytes) + delta);
  if (counters_.request_bytes > counters_.request_bytes_max)
    counters_.request_bytes_max = counters_.request_bytes;
  if (delta >= 0 || budget_waiters_.empty() || !RequestBudgetLeft()) return;
  // Wake the waiters; a connection that still finds no room waits again.
  std::vector<Connection*> waiting(budget_waiters_.begin(), budget_waiters_.end());
  for (Connection* w : waiting) {
    if (!RequestBudgetLeft()) break;
    w->OnBudget();
  }
}

// A connection that held much is gone: give the freed heap back to the system (glibc keeps it
// otherwise, and a flood's peak would stay in RSS). Closes in a burst share one trim.
void HttpServer::TrimMemorySoon() {
#if defined(__GLIBC__)
  if (stopping_) return;
  if (!trim_timer_) {
    trim_timer_ = loop::UvHandle<uv_timer_t>::Make();
    uv_timer_init(loop_, trim_timer_.get());
    trim_timer_.get()->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(trim_timer_.get()));
  }
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(trim_timer_.get()))) return;
  uv_timer_start(
      trim_timer_.get(),
      [](uv_timer_t* t) {
        auto* self = static_cast<HttpServer*>(t->data);
        if (self == nullptr) return;
        malloc_trim(0);
        self->counters_.memory_trims++;
      },
      200, 0);
#endif
}

bool HttpServer::Post(std::function<void()> fn) {
  return poster_ != nullptr && poster_->Post(std::move(fn));
}

void HttpServer::Stop(std::function<void()> on_stopped) {
  if (on_stopped) {
    if (stopped_) {
      on_stopped();
      return;
    }
    on_stopped_.push_back(std::move(on_stopped));
  }
  if (stopping_) return;
  stopping_ = true;
  listener_.Reset();
  if (!connections_.empty()) {
    stop_timer_ = loop::UvHandle<uv_timer_t>::Make();
    uv_timer_init(loop_, stop_timer_.get());
    stop_timer_.get()->data = this;
    uv_timer_start(
        stop_timer_.get(),
        [](uv_timer_t* t) {
          auto* self = static_cast<HttpServer*>(t->data);
          if (self == nullptr) return;
          std::vector<Connection*> all(self->connections_.begin(), self->connections_.end());
          for (Connection* c : all) c->Close();
        },
        options_.stop_timeout_ms, 0);
  }
  std::vector<Connection*> all(connections_.begin(), connections_.end());
  for (Connection* c : all) c->OnServerStop();
  MaybeFinishStop();
}

void HttpServer::MaybeFinishStop() {
  if (!stopping_ || stopped_ || !connections_.empty()) return;
  stopped_ = true;
  stop_timer_.Reset();
  trim_timer_.Reset();
  if (poster_) poster_->Close();
  std::vector<std::function<void()>> callbacks;
  callbacks.swap(on_stopped_);
  for (auto& cb : callbacks) {
    try {
      cb();
    } catch (...) {
      LogError("stop", "on_stopped threw");
    }
  }
}

const std::string& HttpServer::HttpDate() {
  std::time_t now = std::time(nullptr);
  if (now != date_second_) {
    date_second_ = now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    date_ = buf;
  }
  return date_;
}

}  // namespace robotni::http
