#include "http/curl_multi.h"

// The checks curl.h adds for GCC would refuse the callbacks, which curl_multi.h declares
// without curl's types (void* for CURL*, curl_sockaddr*, ...) to keep curl.h out of it.
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include <algorithm>
#include <string>
#include <utility>

#include "core/log.h"

namespace robotni::http {

namespace {

CURLM* M(void* multi) { return static_cast<CURLM*>(multi); }

}  // namespace

struct CurlMulti::Transfer {
  uint64_t id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpClientRequest request;  // the body must outlive the transfer (CURLOPT_POSTFIELDS)
  std::string response;
  size_t response_seen = 0;
  char error[CURL_ERROR_SIZE] = {0};
  std::string refused;  // why check_address refused an address; "" when it did not
  Done done;

  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    if (headers) curl_slist_free_all(headers);
  }
};

size_t CurlMulti::OnBody(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  size_t len = size * n;
  size_t room =
      t->request.max_response_bytes - std::min(t->request.max_response_bytes, t->response.size());
  t->response.append(data, std::min(len, room));
  return len;  // the rest is read and dropped, so the connection stays usable
}

int CurlMulti::OpenSocket(void* clientp, int purpose, void* address) {
  auto* t = static_cast<Transfer*>(clientp);
  auto* a = static_cast<curl_sockaddr*>(address);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  if (t->request.check_address) {
    std::string why = t->request.check_address(&a->addr);
    if (!why.empty()) {
      t->refused = std::move(why);
      return CURL_SOCKET_BAD;  // curl tries the next address, if any, then fails
    }
  }
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

CurlMulti::CurlMulti(uv_loop_t* loop) : loop_(loop) {
  // curl_global_init (not thread-safe in every build) once per process, on first use.
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  multi_ = init == CURLE_OK ? curl_multi_init() : nullptr;
  if (!multi_) {
    log::Error("http: cannot start libcurl; outbound requests fail");
    closed_ = true;  // Start() returns 0
    return;
  }
  curl_multi_setopt(M(multi_), CURLMOPT_SOCKETFUNCTION, &CurlMulti::OnSocket);
  curl_multi_setopt(M(multi_), CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(M(multi_), CURLMOPT_TIMERFUNCTION, &CurlMulti::OnTimer);
  curl_multi_setopt(M(multi_), CURLMOPT_TIMERDATA, this);
  timer_ = loop::UvHandle<uv_timer_t>::Make();
  uv_timer_init(loop_, timer_.get());
  timer_.get()->data = this;
}

CurlMulti::~CurlMulti() { Close(); }

uint64_t CurlMulti::Start(HttpClientRequest request, Done done) {
  if (closed_) return 0;
  auto t = std::make_unique<Transfer>();
  t->id = next_id_++;
  t->request = std::move(request);
  t->done = std::move(done);
  t->easy = curl_easy_init();
  if (!t->easy) return 0;
  CURL* e = t->easy;
  const HttpClientRequest& r = t->request;
  curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM from the resolver: we own signals
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout_ms));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.timeout_ms));
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &CurlMulti::OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &CurlMulti::OpenSocket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t.get());
  if (r.check_address) curl_easy_setopt(e, CURLOPT_PROXY, "");
  if (r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    if (r.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  } else if (r.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (r.method != "GET") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  for (const auto& h : r.headers) t->headers = curl_slist_append(t->headers, h.c_str());
  // No "Expect: 100-continue" round trip for bodies over 1 KiB: receivers answer at once.
  t->headers = curl_slist_append(t->headers, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  uint64_t id = t->id;
  Transfer* raw = t.get();
  transfers_.emplace(id, std::move(t));
  // Adding sets a 0 ms timeout through OnTimer; the transfer starts on the next loop turn.
  if (curl_multi_add_handle(M(multi_), raw->easy) != CURLM_OK) {
    transfers_.erase(id);
    return 0;
  }
  return id;
}

HttpClientResult CurlMulti::TakeResult(Transfer* t, int code) {
  HttpClientResult res;
  res.curl_code = code;
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_off_t total_us = 0;
  if (curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total_us) == CURLE_OK)
    res.elapsed_ms = static_cast<int64_t>(total_us / 1000);
  if (code == CURLE_OK && status > 0) {
    res.responded = true;
    res.status = status;
    res.body = std::move(t->response);
    curl_off_t retry_after = 0;
    if (curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
        retry_after > 0)
      res.retry_after_ms = static_cast<int64_t>(retry_after) * 1000;
  } else {
    res.timed_out = code == CURLE_OPERATION_TIMEDOUT;
    res.refused = !t->refused.empty();
    if (res.refused)
      res.error = t->refused;
    else
      res.error = t->error[0] ? t->error : curl_easy_strerror(static_cast<CURLcode>(code));
  }
  return res;
}

void CurlMulti::Cancel(uint64_t id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  std::unique_ptr<Transfer> t = std::move(it->second);
  transfers_.erase(it);
  curl_multi_remove_handle(M(multi_), t->easy);
  HttpClientResult res;
  res.aborted = true;
  res.curl_code = CURLE_ABORTED_BY_CALLBACK;
  res.error = "aborted";
  Done done = std::move(t->done);
  t.reset();
  if (done) done(std::move(res));
}

void CurlMulti::Close() {
  if (closed_) return;
  closed_ = true;
  while (!transfers_.empty()) Cancel(transfers_.begin()->first);
  // Cleanup closes the cached connections; curl reports each socket's removal to OnSocket,
  // which closes its poll handle. Whatever is left is closed below.
  curl_multi_cleanup(M(multi_));
  multi_ = nullptr;
  polls_.clear();
  timer_.Reset();
}

int CurlMulti::OnSocket(void* easy, int fd, int what, void* userp, void* socketp) {
  auto* self = static_cast<CurlMulti*>(userp);
  if (what == CURL_POLL_REMOVE) {
    // Before curl closes the socket: a poll handle must never outlive its descriptor.
    self->polls_.erase(fd);
    return 0;
  }
  auto it = self->polls_.find(fd);
  if (it == self->polls_.end()) {
    auto poll = loop::UvHandle<uv_poll_t>::Make();
    if (uv_poll_init_socket(self->loop_, poll.get(), fd) != 0) {
      // Never seen in practice; dropping the handle lets the transfer time out.
      log::Error("http: cannot watch curl socket " + std::to_string(fd));
      return -1;
    }
    poll.get()->data = self;
    it = self->polls_.emplace(fd, std::move(poll)).first;
  }
  int events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
  uv_poll_start(it->second.get(), events, &CurlMulti::OnPoll);
  return 0;
}

int CurlMulti::OnTimer(void* multi, long timeout_ms, void* userp) {
  auto* self = static_cast<CurlMulti*>(userp);
  if (!self->timer_) return 0;
  if (timeout_ms < 0) {
    uv_timer_stop(self->timer_.get());
  } else {
    // 0 means "as soon as possible", never from inside this callback: the next loop turn.
    uv_timer_start(self->timer_.get(), &CurlMulti::OnTimeout, static_cast<uint64_t>(timeout_ms), 0);
  }
  return 0;
}

void CurlMulti::OnPoll(uv_poll_t* poll, int status, int events) {
  auto* self = static_cast<CurlMulti*>(poll->data);
  if (!self) return;
  int fd = -1;
  uv_fileno(reinterpret_cast<uv_handle_t*>(poll), &fd);
  int flags = 0;
  if (status < 0) flags |= CURL_CSELECT_ERR;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  self->Action(fd, flags);
}

void CurlMulti::OnTimeout(uv_timer_t* timer) {
  auto* self = static_cast<CurlMulti*>(timer->data);
  if (self) self->Action(CURL_SOCKET_TIMEOUT, 0);
}

void CurlMulti::Action(int fd, int flags) {
  if (closed_) return;
  int running = 0;
  curl_multi_socket_action(M(multi_), fd, flags, &running);
  Finish();
}

void CurlMulti::Finish() {
  // Completions run after every finished transfer is taken out: one may Start, Cancel or
  // Close, which must not disturb this walk.
  std::vector<std::pair<Done, HttpClientResult>> finished;
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(M(multi_), &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer* raw = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &raw);
    int code = msg->data.result;  // read before the handle is removed
    curl_multi_remove_handle(M(multi_), msg->easy_handle);
    auto it = transfers_.find(raw ? raw->id : 0);
    if (it == transfers_.end()) continue;
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);
    finished.emplace_back(std::move(t->done), TakeResult(t.get(), code));
  }
  for (auto& [done, result] : finished) {
    try {
      if (done) done(std::move(result));
    } catch (...) {
      // No exception may cross the libuv callback that got us here.
      log::Error("http: a request completion threw");
    }
  }
}

}  // namespace robotni::http
