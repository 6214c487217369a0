// libFuzzer target for the HTTP request path: bytes -> RequestParser (fed in chunks whose
// sizes come from the input) -> Router -> handler -> ETag -> SerializeResponse.
// It checks the parser's contracts as it goes: progress, limits, consistent results.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "http/request_parser.h"
#include "http/response.h"
#include "http/router.h"

namespace {

using robotni::http::ApplyEtag;
using robotni::http::ParserLimits;
using robotni::http::Request;
using robotni::http::RequestParser;
using robotni::http::Responder;
using robotni::http::Response;
using robotni::http::ResponseSink;
using robotni::http::Router;
using robotni::http::SerializeResponse;

#define FUZZ_CHECK(cond)  \
  do {                    \
    if (!(cond)) abort(); \
  } while (0)

const Router& TheRouter() {
  static const Router* router = [] {
    auto* r = new Router();
    auto json = [](const Request& req, Responder respond) {
      nlohmann::json body = req.JsonBody();
      nlohmann::json params = nlohmann::json::object();
      for (const auto& [k, v] : req.path_params) params[k] = v;
      for (const auto& [k, v] : req.query_params) params["q:" + k] = v;
      Response resp = Response::Json(
          200,
          {{"params", params}, {"json", body.is_discarded() ? nullptr : body}, {"path", req.path}});
      ApplyEtag(req, &resp);
      respond(std::move(resp));
    };
    (void)r->Add("GET /api/worker/jobs/{id}", json);
    (void)r->Add("GET /api/worker/jobs/stats", json);
    (void)r->Add("POST /api/worker/jobs", json);
    (void)r->Add("DELETE /api/worker/jobs/{id}", json);
    (void)r->Add("PUT /api/{a}/{b}/{c}", json);
    return r;
  }();
  return *router;
}

struct Sink final : ResponseSink {
  Response* out;
  bool* sent;
  Sink(Response* o, bool* s) : out(o), sent(s) {}
  void Send(Response r) noexcept override {
    *out = std::move(r);
    *sent = true;
  }
};

void Answer(Request req) {
  Response resp;
  bool sent = false;
  TheRouter().Dispatch(&req, Responder(std::make_shared<Sink>(&resp, &sent)));
  FUZZ_CHECK(sent);
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
