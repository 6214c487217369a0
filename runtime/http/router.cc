#include "http/router.h"

#include <algorithm>
#include <set>

namespace robotni::http {
namespace {

// Splits "/a/b%20c" into {"a", "b c"} (decoded); "/" gives {""}.
bool SplitPath(std::string_view raw_path, std::vector<std::string>* parts) {
  parts->clear();
  if (raw_path.empty() || raw_path[0] != '/') return false;
  raw_path.remove_prefix(1);
  while (true) {
    size_t slash = raw_path.find('/');
    std::string decoded;
    if (!PercentDecode(raw_path.substr(0, slash), false, &decoded)) return false;
    parts->push_back(std::move(decoded));
    if (slash == std::string_view::npos) break;
    raw_path.remove_prefix(slash + 1);
  }
  return true;
}

bool IsMethodToken(std::string_view m) {
  return !m.empty() && std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

Status Router::Add(std::string_view spec, Handler handler) {
  size_t space = spec.find(' ');
  if (space == std::string_view::npos) {
    return Status::InvalidArgument("route needs \"METHOD /path\": " + std::string(spec));
  }
  Route route;
  route.method = std::string(spec.substr(0, space));
  std::string_view path = spec.substr(space + 1);
  if (!IsMethodToken(route.method) || path.empty() || path[0] != '/') {
    return Status::InvalidArgument("route needs \"METHOD /path\": " + std::string(spec));
  }
  if (!handler) return Status::InvalidArgument("route has no handler: " + std::string(spec));
  std::vector<std::string> parts;
  if (!SplitPath(path, &parts)) {
    return Status::InvalidArgument("route path is malformed: " + std::string(spec));
  }
  std::set<std::string> names;
  for (std::string& p : parts) {
    Segment seg;
    if (p.size() >= 2 && p.front() == '{' && p.back() == '}') {
      seg.param = true;
      seg.text = p.substr(1, p.size() - 2);
      if (seg.text.empty() || seg.text.find_first_of("{}") != std::string::npos ||
          !names.insert(seg.text).second) {
        return Status::InvalidArgument("route parameter is malformed or repeated: " +
                                       std::string(spec));
      }
    } else {
      if (p.find_first_of("{}") != std::string::npos) {
        return Status::InvalidArgument("a parameter must be a whole segment: " + std::string(spec));
      }
      seg.text = std::move(p);
    }
    route.segments.push_back(std::move(seg));
  }
  for (const Route& r : routes_) {
    if (r.method != route.method || r.segments.size() != route.segments.size()) continue;
    bool same = true;
    for (size_t i = 0; i < r.segments.size() && same; ++i) {
      const Segment& a = r.segments[i];
      const Segment& b = route.segments[i];
      same = a.param == b.param && (a.param || a.text == b.text);
    }
    if (same) return Status::InvalidArgument("duplicate route: " + std::string(spec));
  }
  if (route.segments.size() > 64)
    return Status::InvalidArgument("route has more than 64 segments: " + std::string(spec));
  for (size_t i = 0; i < route.segments.size(); ++i)
    if (route.segments[i].param) route.param_bits |= uint64_t{1} << (63 - i);
  route.spec = std::string(spec);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
  return Status::OK();
}

bool Router::Matches(const Route& route, const std::vector<std::string>& parts) {
  if (route.segments.size() != parts.size()) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Segment& seg = route.segments[i];
    if (seg.param ? parts[i].empty()  // "/jobs/" does not match "/jobs/{id}"
                  : seg.text != parts[i])
      return false;
  }
  return true;
}

std::string Router::AllowedMethods(const std::vector<std::string>& parts) const {
  std::set<std::string> allowed;
  for (const Route& r : routes_)
    if (Matches(r, parts)) allowed.insert(r.method);
  if (allowed.empty()) return "";
  if (allowed.count("GET") != 0) allowed.insert("HEAD");
  allowed.insert("OPTIONS");
  std::string out;
  for (const std::string& a : allowed) {
    if (!out.empty()) out += ", ";
    out += a;
  }
  return out;
}

// Runs for every request (twice for none: Admit keeps its answer for Dispatch), so it
// allocates nothing but the path's segments and the match it returns; the Allow header is
// worked out only for a path no route of the method takes.
Router::Match Router::Find(std::string_view method, std::string_view raw_path) const {
  Match m;
  std::vector<std::string> parts;
  if (!SplitPath(raw_path, &parts)) return m;
  const Route* best = nullptr;
  const Route* best_get = nullptr;  // for HEAD
  bool head = method == "HEAD";
  for (const Route& r : routes_) {
    if (!Matches(r, parts)) continue;
    if (r.method == method) {
      if (best == nullptr || r.param_bits < best->param_bits) best = &r;
    } else if (head && r.method == "GET") {
      if (best_get == nullptr || r.param_bits < best_get->param_bits) best_get = &r;
    }
  }
  if (best == nullptr) best = best_get;
  if (best != nullptr) {
    for (size_t i = 0; i < parts.size(); ++i)
      if (best->segments[i].param)
        m.params.emplace_back(best->segments[i].text, std::move(parts[i]));
    m.status = 200;
    m.handler = &best->handler;
    m.route = best->spec;
    return m;
  }
  m.allow = AllowedMethods(parts);
  if (!m.allow.empty()) m.status = method == "OPTIONS" ? 204 : 405;  // the path is known
  return m;
}

std::vector<Router::RouteInfo> Router::Routes() const {
  std::vector<RouteInfo> out;
  for (const Route& r : routes_) out.push_back({r.method, r.spec.substr(r.method.size() + 1)});
  return out;
}

bool Router::Admit(Request* req, const Responder& respond) const {
  Match m = Find(req->method, req->raw_path);
  req->route = std::move(m.route);
  req->path_params = std::move(m.params);
  req->route_status = m.status;
  req->route_handler = m.handler;
  return !filter_ || filter_(*req, respond);
}

void Router::Dispatch(Request* req, const Responder& respond, bool run_filter) const {
  if (req->route_status == 0) {
    Match m = Find(req->method, req->raw_path);
    req->route = std::move(m.route);
    req->path_params = std::move(m.params);
    req->route_status = m.status;
    req->route_handler = m.handler;
  }
  if (run_filter && filter_ && !filter_(*req, respond)) return;
  if (req->route_status == 200) {
    (*static_cast<const Handler*>(req->route_handler))(*req, respond);
    return;
  }
  Response r;
  if (req->route_status == 404) {
    r = Response::Error(404, "no route for " + req->path);
  } else {
    std::string allow = Find(req->method, req->raw_path).allow;
    if (req->route_status == 405) {
      r = Response::Error(405, req->method + " is not allowed on " + req->path);
    } else {
      r = Response::Empty(204);
    }
    r.headers.Set("Allow", allow);
  }
  respond(std::move(r));
}

}  // namespace robotni::http
