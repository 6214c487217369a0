#include "api/job_list.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <utility>
#include <vector>

#include "api/api_util.h"
#include "api/jobs_api.h"
#include "core/iso_time.h"

namespace robotni::api {

namespace {

using nlohmann::json;

constexpr size_t kMaxTextBytes = 200;

bool ParseJobState(std::string_view s, store::State* out) {
  if (s == "queued")
    *out = store::State::kPending;
  else if (s == "running")
    *out = store::State::kReserved;
  else if (s == "done")
    *out = store::State::kDone;
  else if (s == "failed")
    *out = store::State::kFailed;
  else if (s == "cancelled")
    *out = store::State::kCancelled;
  else
    return false;
  return true;
}

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

// ms since the epoch (digits) or an RFC 3339 time in UTC (Z or +00:00), read by the same
// strict parser as run_at.
std::optional<int64_t> ParseTime(std::string_view s) {
  int64_t ms = 0;
  if (ParseNumber(s, &ms) && ms >= 0) return ms;
  bool utc = s.ends_with('Z') || s.ends_with('z') || s.ends_with("+00:00");
  return utc ? ParseIsoTime(s) : std::nullopt;
}

std::string Cursor(char dir, const std::string& id) { return std::string(1, dir) + id; }

// Whether any job matches `f` (its id bounds included).
StatusOr<bool> Any(store::WorkItemStore* store, store::ListFilter f) {
  f.limit = 1;
  f.offset = 0;
  auto items = store->List(f);
  if (!items.ok()) return items.status();
  return !items->empty();
}

}  // namespace

bool ParseJobListQuery(const Request& req, JobListQuery* out, Response* err) {
  auto fail = [&](std::string msg) {
    *err = Response::Error(400, std::move(msg));
    return false;
  };
  store::ListFilter& f = out->filter;
  f.kind = store::Kind::kJob;  // a robot's work items are at /api/work-items
  f.held_as_pending = true;    // "queued" and "running" as each job's JSON says
  if (auto t = req.Query("type")) f.queue = std::string(*t);
  if (auto s = req.Query("state"); s && !s->empty()) {
    store::State st;
    if (!ParseJobState(*s, &st))
      return fail("state: expected queued, running, done, failed or cancelled");
    f.state = st;
  }
  if (auto q = req.Query("q"); q && !q->empty()) {
    if (q->size() > kMaxTextBytes)
      return fail("q: at most " + std::to_string(kMaxTextBytes) + " bytes");
    f.text = std::string(*q);
  }
  using TimeParam = std::pair<const char*, std::optional<int64_t>*>;
  for (auto [name, slot] : {TimeParam{"since", &f.created_from_ms}, {"until", &f.created_to_ms}}) {
    auto v = req.Query(name);
    if (!v || v->empty()) continue;
    auto ms = ParseTime(*v);
    if (!ms)
      return fail(std::string(name) +
                  ": expected ms since the epoch or an ISO 8601 UTC time like "
                  "2030-01-02T03:04:05Z");
    *slot = *ms;
  }
  if (f.created_from_ms && f.created_to_ms && *f.created_from_ms > *f.created_to_ms)
    return fail("since: after until");
  f.limit = 50;
  if (auto l = req.Query("limit"); l && !l->empty()) {
    if (!ParseNumber(*l, &f.limit) || f.limit < 1 || f.limit > 1000)
      return fail("limit: expected an integer from 1 to 1000");
  }
  if (auto o = req.Query("offset"); o && !o->empty()) {
    if (!ParseNumber(*o, &f.offset) || f.offset < 0)
      return fail("offset: expected an integer from 0 to 2147483647");
  }
  if (auto c = req.Query("cursor"); c && !c->empty()) {
    if (f.offset != 0) return fail("cursor: give cursor or offset, not both");
    if (c->size() < 2 || ((*c)[0] != 'o' && (*c)[0] != 'n') ||
        !ParseNumber(c->substr(1), &out->cursor_id) || out->cursor_id < 0)
      return fail("cursor: expected a next_cursor or prev_cursor of an earlier answer");
    out->cursor_dir = (*c)[0];
  }
  return true;
}

Response ListJobs(store::WorkItemStore* store, const JobListQuery& q) {
  store::ListFilter f = q.filter;
  const int limit = f.limit;
  f.limit = limit + 1;  // one more than asked: whether there is a next page
  const bool newer = q.cursor_dir == 'n';
  if (q.cursor_dir == 'o') f.id_below = q.cursor_id;
  if (newer) {
    f.id_above = q.cursor_id;
    f.newest_first = false;  // the page just above the cursor: the oldest first, then reversed
  }
  auto items = store->List(f);
  if (!items.ok()) return StatusError(items.status());
  std::vector<store::Item> page = std::move(items).value();
  const bool more = static_cast<int>(page.size()) > limit;
  if (more) page.resize(limit);
  if (newer) std::reverse(page.begin(), page.end());

  // The other direction: asked of the store (rows may have come or gone since).
  store::ListFilter other = q.filter;
  other.newest_first = !newer;
  if (newer) {
    if (page.empty())
      other.id_below = q.cursor_id + 1;
    else
      other.id_below = std::stoll(page.back().id);
  } else if (q.cursor_dir == 'o') {
    if (page.empty())
      other.id_above = q.cursor_id - 1;
    else
      other.id_above = std::stoll(page.front().id);
  }
  json next = nullptr, prev = nullptr;
  if (newer) {
    if (more) prev = Cursor('n', page.front().id);
    auto any = Any(store, other);
    if (!any.ok()) return StatusError(any.status());
    if (*any) next = Cursor('o', page.empty() ? std::to_string(q.cursor_id + 1) : page.back().id);
  } else {
    if (more) next = Cursor('o', page.back().id);
    if (q.cursor_dir == 'o') {
      auto any = Any(store, other);
      if (!any.ok()) return StatusError(any.status());
      if (*any)
        prev = Cursor('n', page.empty() ? std::to_string(q.cursor_id - 1) : page.front().id);
    }
  }
  auto total = store->Count(q.filter);
  if (!total.ok()) return StatusError(total.status());
  json jobs = json::array();
  for (const auto& it : page) jobs.push_back(JobJson(it));
  return Response::Json(200, {{"jobs", jobs},
                              {"total", *total},
                              {"limit", limit},
                              {"offset", q.filter.offset},
                              {"next_cursor", next},
                              {"prev_cursor", prev}});
}

Handler JobListHandler(WorkerApiContext* ctx) {
  return [ctx](const Request& req, Responder respond) {
    JobListQuery q;
    if (Response err; !ParseJobListQuery(req, &q, &err)) return respond(std::move(err));
    auto req_copy = std::make_shared<Request>(req);
    Offload(ctx, std::move(respond), [ctx, q, req_copy] {
      Response r = ListJobs(ctx->store, q);
      if (r.status == 200) ApplyEtag(*req_copy, &r);
      return r;
    });
  };
}

}  // namespace robotni::api
