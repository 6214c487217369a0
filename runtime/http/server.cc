#include "http/server.h"

#include <sys/resource.h>

#include <ctime>
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
  explicit Connection(HttpServer* server) : server_(server), parser_(server->options_.limits) {}

  bool Start(uv_stream_t* listener);
  void Close();
  void OnServerStop();
  void Detach() { server_ = nullptr; }
  void OnResponse(Response response) noexcept;
  void ForgetPending(PendingResponse* p) {
    if (pending_ == p) pending_ = nullptr;
  }

 private:
  static void OnAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void OnWrite(uv_write_t* req, int status);
  static void OnShutdown(uv_shutdown_t* req, int status);
  static void OnTimer(uv_timer_t* t);
  static void OnClosed(uv_handle_t* h);

  void HandleRead(ssize_t nread, const uv_buf_t* buf);
  void ProcessInput();
  void Dispatch(Request req);
  void SendParseError();
  void Write(std::string data);
  void AfterWrite(int status);
  void StartLinger();
  void ArmTimer(uint64_t ms);
  void UpdateReading();
  size_t buffered() const { return in_.size() - in_pos_; }

  HttpServer* server_;  // null once the server is destroyed
  uv_tcp_t tcp_{};
  loop::UvHandle<uv_timer_t> timer_;
  RequestParser parser_;
  std::string in_;  // received, not yet parsed: in_[in_pos_..]
  size_t in_pos_ = 0;
  Request request_;                     // the request in flight (or last answered)
  PendingResponse* pending_ = nullptr;  // its answer slot while the handler has not answered
  size_t writes_ = 0;                   // uv_write requests not yet completed
  bool in_flight_ = false;              // a request was dispatched and is not answered yet
  bool dispatching_ = false;            // inside the handler call
  bool reading_ = false;
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

bool Connection::Start(uv_stream_t* listener) {
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
  uv_tcp_nodelay(&tcp_, 1);
  ArmTimer(server_->options_.idle_timeout_ms);
  UpdateReading();
  return true;
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
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Connection::OnClosed);
}

void Connection::OnClosed(uv_handle_t* h) {
  auto* c = static_cast<Connection*>(h->data);
  if (c->server_ != nullptr) c->server_->OnConnectionClosed(c);
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

void Connection::ArmTimer(uint64_t ms) {
  if (!timer_) return;
  uv_timer_start(timer_.get(), &Connection::OnTimer, ms, 0);
}

void Connection::OnTimer(uv_timer_t* t) {
  auto* c = static_cast<Connection*>(t->data);
  if (c == nullptr || c->closing_ || c->in_flight_) return;
  if (!c->lingering_ && c->server_ != nullptr) c->server_->counters_.connections_timed_out++;
  c->Close();
}

void Connection::UpdateReading() {
  if (closing_) return;
  bool want = !peer_eof_ && (lingering_ || (!close_after_write_ && server_ != nullptr &&
                                            buffered() < server_->options_.max_buffered_bytes));
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (want && !reading_) {
    if (uv_read_start(stream, &Connection::OnAlloc, &Connection::OnRead) == 0) reading_ = true;
  } else if (!want && reading_) {
    uv_read_stop(stream);
    reading_ = false;
  }
}

void Connection::OnAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(h->data);
  if (c->server_ == nullptr) {
    *buf = uv_buf_init(nullptr, 0);  // libuv reports UV_ENOBUFS; we close then
    return;
  }
  std::vector<char>& b = c->server_->read_buffer_;
  *buf = uv_buf_init(b.data(), static_cast<unsigned int>(b.size()));
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
    if (lingering_) return;  // discarded until the peer closes or the linger timer fires
    in_.append(buf->base, static_cast<size_t>(nread));
    if (!in_flight_ && server_ != nullptr) ArmTimer(server_->options_.idle_timeout_ms);
    ProcessInput();
  } else if (nread == UV_EOF) {
    peer_eof_ = true;
    reading_ = false;  // libuv stops reading after EOF
    if (lingering_) {
      Close();
      return;
    }
    ProcessInput();
  } else if (nread < 0) {
    Close();
  }
}

void Connection::ProcessInput() {
  if (server_ == nullptr) {
    Close();
    return;
  }
  while (!closing_ && !in_flight_ && !close_after_write_ && !lingering_) {
    if (in_pos_ >= in_.size()) break;
    size_t used = 0;
    RequestParser::Result r = parser_.Feed(in_.data() + in_pos_, buffered(), &used);
    in_pos_ += used;
    if (r == RequestParser::Result::kNeedMore) {
      if (parser_.TakeExpectContinue()) Write("HTTP/1.1 100 Continue\r\n\r\n");
      break;
    }
    if (r == RequestParser::Result::kError) {
      SendParseError();
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
  UpdateReading();
}

void Connection::Dispatch(Request req) {
  request_ = std::move(req);
  if (server_->stopping_) request_.keep_alive = false;
  in_flight_ = true;
  dispatching_ = true;
  if (timer_) uv_timer_stop(timer_.get());
  auto sink = std::make_shared<PendingResponse>(this);
  pending_ = sink.get();
  {
    Responder respond(std::move(sink));
    try {
      server_->router_.Dispatch(&request_, respond);
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
    s->counters_
        .responses[{request_.route.empty() ? kUnmatched : request_.route, response.status}]++;
    bool http10 = request_.http_minor == 0;
    Write(SerializeResponse(response, keep, http10, request_.method == "HEAD", s->HttpDate(),
                            s->options_.server_name));
    if (!keep) {
      close_after_write_ = true;
      UpdateReading();
      return;
    }
    ArmTimer(s->options_.idle_timeout_ms);
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
  int status = parser_.error_status();
  s->counters_.parse_errors[parser_.error_name()]++;
  s->counters_.requests++;
  s->counters_.responses[{kMalformed, status}]++;
  close_after_write_ = true;
  in_.clear();
  in_pos_ = 0;
  Write(SerializeResponse(Response::Error(status, parser_.error_message()), false, false, false,
                          s->HttpDate(), s->options_.server_name));
  UpdateReading();
}

void Connection::Write(std::string data) {
  if (closing_) return;
  auto* w = new WriteReq();
  w->data = std::move(data);
  w->req.data = this;
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned int>(w->data.size()));
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, &Connection::OnWrite);
  if (rc < 0) {
    delete w;
    Close();
    return;
  }
  ++writes_;
  if (server_ != nullptr) server_->counters_.bytes_written += w->data.size();
}

void Connection::OnWrite(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<WriteReq*>(req);
  auto* c = static_cast<Connection*>(req->data);
  delete w;
  try {
    c->AfterWrite(status);
  } catch (...) {
    c->Close();
  }
}

void Connection::AfterWrite(int status) {
  --writes_;
  if (closing_) return;
  if (status < 0 || server_ == nullptr) {
    Close();
    return;
  }
  if (writes_ == 0 && close_after_write_ && !in_flight_) {
    StartLinger();
    return;
  }
  if (!in_flight_) ArmTimer(server_->options_.idle_timeout_ms);
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
  ArmTimer(server_->options_.linger_ms);
  UpdateReading();
}

void Connection::OnShutdown(uv_shutdown_t* req, int status) {
  auto* c = static_cast<Connection*>(req->data);
  delete req;
  if (status < 0) c->Close();
}

HttpServer::HttpServer(uv_loop_t* loop, Router router, ServerOptions options)
    : loop_(loop),
      router_(std::move(router)),
      options_(std::move(options)),
      read_buffer_(64 * 1024) {}

HttpServer::~HttpServer() {
  listener_.Reset();
  stop_timer_.Reset();
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
  if (!c->Start(reinterpret_cast<uv_stream_t*>(listener_.get()))) return;
  if (stopping_ || connections_.size() > options_.max_connections) {
    counters_.connections_rejected++;
    c->Close();
  }
}

void HttpServer::OnConnectionClosed(Connection* c) {
  connections_.erase(c);
  counters_.connections_active = connections_.size();
  MaybeFinishStop();
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
