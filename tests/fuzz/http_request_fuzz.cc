// libFuzzer target for the HTTP request path: bytes -> RequestParser (fed in chunks whose
// sizes come from the input) -> the API's Router (auth filter, real routes and handlers) ->
// ETag -> SerializeResponse. It checks the parser's contracts as it goes: progress, limits,
// consistent results; and that every request is answered or handed to the store.
//
// The router is the one `robotni serve` builds, over the real handlers of the routes that
// take input (jobs, job types, work items, queues, status, health), the Auth filter with a
// token and a read-only token, and a real Dispatcher with two native job types (one with a
// params schema). What a handler hands to the store (Offload: a WorkQueue thread, then the
// loop) is queued on a WorkQueue without threads and dropped after each input: the store is
// SQLite behind a thread, which would cost most of the executions a second and grow a
// database without bound, and it only ever gets typed values the handler has checked.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "api/api_context.h"
#include "api/auth.h"
#include "api/health_api.h"
#include "api/job_types_api.h"
#include "api/jobs_api.h"
#include "api/queues_api.h"
#include "api/schedules_api.h"
#include "api/status_api.h"
#include "api/work_items_api.h"
#include "exec/dispatcher.h"
#include "exec/work_queue.h"
#include "http/request_parser.h"
#include "http/response.h"
#include "http/router.h"

namespace {

using robotni::http::ParserLimits;
using robotni::http::Request;
using robotni::http::RequestParser;
using robotni::http::Responder;
using robotni::http::Response;
using robotni::http::ResponseSink;
using robotni::http::Router;
using robotni::http::SerializeResponse;
namespace api = robotni::api;
namespace exec = robotni::exec;

#define FUZZ_CHECK(cond)  \
  do {                    \
    if (!(cond)) abort(); \
  } while (0)

// The tokens the corpus and http.dict carry: "Authorization: Bearer fuzz-token" (read and
// write) and "Bearer fuzz-read" (read only).
constexpr const char* kTokens = "fuzz-token\nread:fuzz-read";

struct Api {
  std::unique_ptr<exec::Dispatcher> dispatcher;
  api::WorkerApiContext ctx;
  std::unique_ptr<api::Auth> auth;
  Router router;
};

Api& TheApi() {
  static Api* a = [] {
    auto* a = new Api();
    a->dispatcher = std::make_unique<exec::Dispatcher>(nullptr, nullptr, exec::DispatcherOptions{});
    exec::JobTypeInfo add;
    add.name = "add";
    add.schema = {{"type", "object"},
                  {"required", {"a", "b"}},
                  {"properties", {{"a", {{"type", "integer"}}}, {"b", {{"type", "number"}}}}}};
    add.max_attempts = 2;
    add.native = [](exec::StoreJob&) {};
    FUZZ_CHECK(a->dispatcher->RegisterNativeType(add).ok());
    exec::JobTypeInfo any;
    any.name = "any";
    any.schema = {{"type", "object"}};
    any.native = [](exec::StoreJob&) {};
    FUZZ_CHECK(a->dispatcher->RegisterNativeType(any).ok());
    a->ctx.dispatcher = a->dispatcher.get();
    a->ctx.ready = true;
    a->auth = std::make_unique<api::Auth>();
    FUZZ_CHECK(a->auth->AddTokens(kTokens, "\n").ok());
    FUZZ_CHECK(api::RegisterHealthApi(&a->router, &a->ctx).ok());
    FUZZ_CHECK(api::RegisterJobTypesApi(&a->router, &a->ctx).ok());
    FUZZ_CHECK(api::RegisterJobsApi(&a->router, &a->ctx).ok());
    FUZZ_CHECK(api::RegisterStatusApi(&a->router, &a->ctx).ok());
    FUZZ_CHECK(api::RegisterWorkItemsApi(&a->router, &a->ctx).ok());
    FUZZ_CHECK(api::RegisterQueuesApi(&a->router, &a->ctx).ok());
    FUZZ_CHECK(api::RegisterSchedulesApi(&a->router, &a->ctx).ok());
    a->router.SetFilter([a](const Request& req, const Responder& respond) {
      if (!a->auth->Filter(req, respond)) return false;
      // The long poll answers from a thread of its own that reads the store: not run here.
      if (req.route == "GET /api/worker/jobs/{id}/wait") {
        respond(Response::Error(404, "not fuzzed"));
        return false;
      }
      return true;
    });
    return a;
  }();
  return *a;
}

// Where one request's answer goes. A handler that handed its work to the store never
// answers here: its Responder (and this sink) is dropped with the WorkQueue's queue.
struct Sink final : ResponseSink {
  Response* out;
  bool* sent;
  Sink(Response* o, bool* s) : out(o), sent(s) {}
  void Send(Response r) noexcept override {
    FUZZ_CHECK(!*sent);  // a Responder answers once
    *out = std::move(r);
    *sent = true;
  }
};

void Answer(Request req) {
  Api& a = TheApi();
  exec::WorkQueue offloaded(0);
  a.ctx.blocking = &offloaded;
  Response resp;
  bool sent = false;
  a.router.Dispatch(&req, Responder(std::make_shared<Sink>(&resp, &sent)));
  a.ctx.blocking = nullptr;
  if (!sent) return;  // handed to the store (dropped with `offloaded`)
  FUZZ_CHECK(resp.status >= 100 && resp.status < 600);
  std::string wire =
      SerializeResponse(resp, req.keep_alive, req.http_minor == 0, req.method == "HEAD",
                        "Thu, 01 Jan 2026 00:00:00 GMT", "robotni");
  FUZZ_CHECK(wire.rfind("HTTP/1.1 ", 0) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte picks the chunk size, as uv_read_cb might split the stream.
  size_t chunk = (data[0] % 16) + 1;
  if (data[0] >= 0xF0) chunk = 4096;
  const char* in = reinterpret_cast<const char*>(data + 1);
  size_t len = size - 1;

  ParserLimits limits;
  limits.max_header_bytes = 2048;
  limits.max_body_bytes = 4096;
  RequestParser parser(limits);
  std::string pending;
  size_t requests = 0;
  bool failed = false;
  for (size_t off = 0; off < len && !failed; off += chunk) {
    pending.append(in + off, std::min(chunk, len - off));
    while (!pending.empty()) {
      size_t used = 0;
      RequestParser::Result r = parser.Feed(pending.data(), pending.size(), &used);
      FUZZ_CHECK(used <= pending.size());
      pending.erase(0, used);
      if (r == RequestParser::Result::kError) {
        FUZZ_CHECK(parser.error_status() >= 400 && parser.error_status() < 600);
        FUZZ_CHECK(!parser.error_message().empty());
        Answer(Request());  // the error path serialises too
        failed = true;
        break;
      }
      if (r == RequestParser::Result::kNeedMore) {
        FUZZ_CHECK(pending.empty());  // everything was consumed
        parser.TakeExpectContinue();
        break;
      }
      FUZZ_CHECK(used > 0);
      Request req = parser.TakeRequest();
      FUZZ_CHECK(req.body.size() <= limits.max_body_bytes);
      FUZZ_CHECK(!req.method.empty());
      FUZZ_CHECK(req.path == "*" || (!req.path.empty() && req.raw_path[0] == '/'));
      ++requests;
      bool keep = req.keep_alive;
      Answer(std::move(req));
      if (!keep) {
        failed = true;  // the server stops reading here
        break;
      }
    }
  }
  FUZZ_CHECK(requests <= len);
  if (!failed) parser.Finish();
  return 0;
}
