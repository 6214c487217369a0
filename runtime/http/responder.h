#ifndef ROBOTNI_RUNTIME_HTTP_RESPONDER_H_
#define ROBOTNI_RUNTIME_HTTP_RESPONDER_H_

// Responder: how a handler answers, now or later. Copies share one answer slot: the first
// call sends the response, later calls are ignored. When the last copy is destroyed without
// an answer the client gets a 500, so a forgotten request never hangs a connection.
// Thread-safety: call and destroy Responders on the loop thread only. Work done on another
// thread hands its result back with HttpServer::Post / LoopPoster::Post, moving the Responder
// into the posted function.

#include <memory>

#include "http/response.h"

namespace robotni::http {

// Where a Responder's answer goes; the server implements it per request.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // Called at most once, on the loop thread.
  virtual void Send(Response response) noexcept = 0;
};

class Responder {
 public:
  explicit Responder(std::shared_ptr<ResponseSink> sink) : sink_(std::move(sink)) {}

  // Sends `response` unless an answer was already sent (or the connection is gone).
  void operator()(Response response) const {
    if (sink_) sink_->Send(std::move(response));
  }

 private:
  std::shared_ptr<ResponseSink> sink_;
};

}  // namespace robotni::http

#endif  // ROBOTNI_RUNTIME_HTTP_RESPONDER_H_
