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

// Literal segments sort before parameters, position by position.
bool MoreSpecific(const std::vector<bool>& a, const std::vector<bool>& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
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
  route.spec = std::string(spec);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
  return Status::OK();
}

bool Router::MatchSegments(const Route& route, const std::vector<std::string>& parts,
                           std::vector<std::pair<std::string, std::string>>* params) {
  if (route.segments.size() != parts.size()) return false;
  params->clear();
  for (size_t i = 0; i < parts.size(); ++i) {
    const Segment& seg = route.segments[i];
    if (seg.param) {
      if (parts[i].empty()) return false;  // "/jobs/" does not match "/jobs/{id}"
      params->emplace_back(seg.text, parts[i]);
    } else if (seg.text != parts[i]) {
      return false;
    }
  }
  return true;
}

Router::Match Router::Find(std::string_view method, std::string_view raw_path) const {
  Match m;
  std::vector<std::string> parts;
  if (!SplitPath(raw_path, &parts)) return m;
  std::set<std::string> allowed;
  const Route* best = nullptr;
  std::vector<bool> best_key;
  const Route* best_get = nullptr;  // for HEAD
  std::vector<bool> best_get_key;
  std::vector<std::pair<std::string, std::string>> params;
  for (const Route& r : routes_) {
    if (!MatchSegments(r, parts, &params)) continue;
    allowed.insert(r.method);
    std::vector<bool> key;
    for (const Segment& s : r.segments) key.push_back(s.param);
    if (r.method == method && (best == nullptr || MoreSpecific(key, best_key))) {
      best = &r;
      best_key = std::move(key);
    } else if (method == "HEAD" && r.method == "GET" &&
               (best_get == nullptr || MoreSpecific(key, best_get_key))) {
      best_get = &r;
      best_get_key = std::move(key);
    }
  }
  if (best == nullptr) best = best_get;
  if (allowed.count("GET") != 0) allowed.insert("HEAD");
  allowed.insert("OPTIONS");
  for (const std::string& a : allowed) {
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += a;
  }
  if (best != nullptr) {
    MatchSegments(*best, parts, &m.params);
    m.status = 200;
    m.handler = &best->handler;
    m.route = best->spec;
  } else if (allowed.size() > 1) {  // more than the OPTIONS added above: the path is known
    m.status = method == "OPTIONS" ? 204 : 405;
  } else {
    m.allow.clear();
  }
  return m;
}

std::vector<Router::RouteInfo> Router::Routes() const {
  std::vector<RouteInfo> out;
  for (const Route& r : routes_) out.push_back({r.method, r.spec.substr(r.method.size() + 1)});
  return out;
}

bool Router::Admit(Request* req, const Responder& respond) const {
  Match m = Find(req->method, req->raw_path);
  req->route = m.route;
  req->path_params = std::move(m.params);
  return !filter_ || filter_(*req, respond);
}

void Router::Dispatch(Request* req, const Responder& respond, bool run_filter) const {
  Match m = Find(req->method, req->raw_path);
  req->route = m.route;
  req->path_params = std::move(m.params);
  if (run_filter && filter_ && !filter_(*req, respond)) return;
  if (m.status == 200) {
    (*m.handler)(*req, respond);
    return;
  }
  Response r;
  if (m.status == 404) {
    r = Response::Error(404, "no route for " + req->path);
  } else if (m.status == 405) {
    r = Response::Error(405, req->method + " is not allowed on " + req->path);
    r.headers.Set("Allow", m.allow);
  } else {
    r = Response::Empty(204);
    r.headers.Set("Allow", m.allow);
  }
  respond(std::move(r));
}

}  // namespace robotni::http
