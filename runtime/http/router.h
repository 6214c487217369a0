#ifndef ROBOTNI_RUNTIME_HTTP_ROUTER_H_
#define ROBOTNI_RUNTIME_HTTP_ROUTER_H_

// Router maps "METHOD /path/{param}" patterns to handlers. Literal segments win over
// parameters ("/jobs/stats" before "/jobs/{id}"); a known path with another method gives 405
// with Allow; an unknown path gives 404. HEAD falls back to the GET handler (the server drops
// the body) and OPTIONS on a known path answers 204 with Allow unless a route handles it.
// Thread-safety: build it before the server starts; Dispatch is const and runs on the loop.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"
#include "http/responder.h"
#include "http/response.h"
#include "robotni/status.h"

namespace robotni::http {

// A handler answers through the Responder, before returning or later on the loop thread. The
// Request is valid during the call only: copy what is needed later. An exception thrown by
// the handler becomes a 500 (when it had not answered yet).
using Handler = std::function<void(const Request&, Responder)>;

class Router {
 public:
  // `spec` is "METHOD /segment/{name}/...": an upper-case method token, a space, a path that
  // starts with '/'. Segments are literals or "{name}" captures of one whole segment.
  // Returns InvalidArgument for a malformed spec or one that duplicates an earlier route.
  Status Add(std::string_view spec, Handler handler);

  struct Match {
    int status = 404;  // 200 (handler set), 204 (OPTIONS), 404 or 405
    const Handler* handler = nullptr;
    std::string route;  // the matched spec, for logs and metrics
    std::vector<std::pair<std::string, std::string>> params;
    std::string allow;  // for 405 and OPTIONS: "GET, HEAD, POST"
  };
  // Finds the route for `method` and a request's raw (undecoded) path.
  Match Find(std::string_view method, std::string_view raw_path) const;

  // Finds the route, fills req->route and req->path_params, then calls the handler, or answers
  // 404 / 405 / 204 itself. Exceptions from the handler propagate to the caller.
  // `run_filter` false: the filter already let this request through (Admit).
  void Dispatch(Request* req, const Responder& respond, bool run_filter = true) const;

  // Runs the filter on a request whose headers are in but whose body is not (the server calls
  // it before reading a body, so a refused request costs no body bytes). Fills req->route and
  // req->path_params; true to go on, false after the filter answered through `respond`.
  bool Admit(Request* req, const Responder& respond) const;

  // A filter runs in Dispatch for every request, after the route is looked up and before the
  // router or a handler answers. For a matched route req->route and req->path_params are
  // filled; for an unmatched one req->route is empty and the router answers 404 / 405 / 204
  // after the filter lets it through (an auth filter can so answer 401 first, hiding which
  // paths exist). It returns true to let the request through, or false after answering
  // through the Responder (401, 429, ...).
  using Filter = std::function<bool(const Request&, const Responder&)>;
  void SetFilter(Filter filter) { filter_ = std::move(filter); }

  size_t size() const { return routes_.size(); }

  // The registered routes, in registration order (for the OpenAPI document's test).
  struct RouteInfo {
    std::string method;  // "GET"
    std::string path;    // "/api/worker/jobs/{id}"
  };
  std::vector<RouteInfo> Routes() const;

 private:
  struct Segment {
    std::string text;  // literal text, or the parameter name
    bool param = false;
  };
  struct Route {
    std::string method;
    std::string spec;
    std::vector<Segment> segments;
    // Which segments are parameters, the first segment in the highest bit: of two routes
    // matching one path, the smaller key is the more specific (literals win, left first).
    uint64_t param_bits = 0;
    Handler handler;
  };
  static bool Matches(const Route& route, const std::vector<std::string>& parts);
  // The Allow header's methods for `parts`: every method routed there, HEAD with GET, OPTIONS.
  std::string AllowedMethods(const std::vector<std::string>& parts) const;

  std::vector<Route> routes_;
  Filter filter_;
};

}  // namespace robotni::http

#endif  // ROBOTNI_RUNTIME_HTTP_ROUTER_H_
