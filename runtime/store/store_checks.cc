#include "store/store_checks.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "core/json_limits.h"

namespace robotni::store {

std::optional<int64_t> ParseId(const std::string& s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

Status NoItem(const std::string& id) { return Status::NotFound("no work item '" + id + "'"); }

Status LeaseLost(const Lease& l) {
  return Status::Conflict("lease lost: work item " + l.item_id + " attempt " +
                          std::to_string(l.attempt) + " is no longer held by '" + l.owner + "'");
}

std::string JsonProblem(const std::string& json, int64_t max_bytes) {
  if (static_cast<int64_t>(json.size()) > max_bytes) {
    return "is " + std::to_string(json.size()) + " bytes, the limit is " +
           std::to_string(max_bytes);
  }
  // Validates without building a DOM, and bounds the nesting that copying the value later
  // would recurse through (core/json_limits.h).
  return JsonDepthProblem(json);
}

Status CheckJson(const std::string& json, const std::string& what, int64_t max_bytes) {
  std::string p = JsonProblem(json, max_bytes);
  if (p.empty()) return Status::OK();
  return Status::InvalidArgument(what + " " + p);
}

Status CheckNewItem(const NewItem& item, const StoreOptions& options, const char* what,
                    size_t index) {
  // The item's name for messages, built only when one is needed.
  auto where = [&] {
    std::string w = what;
    if (index != kNoIndex) w += "[" + std::to_string(index) + "]";
    return w;
  };
  if (item.queue.empty()) return Status::InvalidArgument(where() + ": queue is empty");
  if (item.queue.find('%') != std::string::npos) {
    return Status::InvalidArgument(where() + ": queue name '" + item.queue +
                                   "' must not contain '%'");
  }
  {
    std::string p = JsonProblem(item.payload_json, options.max_payload_bytes);
    if (!p.empty()) return Status::InvalidArgument(where() + ": payload " + p);
  }
  if (!item.meta_json.empty()) {
    std::string p = JsonProblem(item.meta_json, options.max_payload_bytes);
    if (p.empty() && item.meta_json.find_first_not_of(" \t\r\n") != item.meta_json.find('{'))
      p = "is not a JSON object";
    if (!p.empty()) return Status::InvalidArgument(where() + ": meta " + p);
  }
  if (item.max_attempts < 1) {
    return Status::InvalidArgument(where() + ": max_attempts must be >= 1");
  }
  if (!item.parent_id.empty() && !ParseId(item.parent_id)) {
    return Status::InvalidArgument(where() + ": parent_id '" + item.parent_id +
                                   "' is not an item id");
  }
  if (!item.id.empty() && !ParseId(item.id)) {
    return Status::InvalidArgument("work item id '" + item.id + "' is not a number");
  }
  std::set<std::string> names;
  for (const NewFile& f : item.files) {
    Status s = ValidateFileName(f.name);
    if (!s.ok()) return Status::InvalidArgument(where() + ": " + s.message());
    if (!names.insert(f.name).second) {
      return Status::InvalidArgument(where() + ": file '" + f.name + "' given twice");
    }
    if (static_cast<int64_t>(f.content.size()) > options.max_file_bytes) {
      return Status::InvalidArgument(where() + ": file '" + f.name + "' is " +
                                     std::to_string(f.content.size()) + " bytes, the limit is " +
                                     std::to_string(options.max_file_bytes));
    }
  }
  return Status::OK();
}

Status CheckCompletion(const Completion& c, const StoreOptions& options) {
  if (c.ok && !c.result_json.empty())
    ROBOTNI_RETURN_IF_ERROR(CheckJson(c.result_json, "result", options.max_payload_bytes));
  if (c.payload_json)
    ROBOTNI_RETURN_IF_ERROR(CheckJson(*c.payload_json, "payload", options.max_payload_bytes));
  for (size_t k = 0; k < c.outputs.size(); ++k)
    ROBOTNI_RETURN_IF_ERROR(CheckNewItem(c.outputs[k], options, "outputs", k));
  return Status::OK();
}

Status CheckReserveRequest(const ReserveRequest& req) {
  if (req.queues.empty()) return Status::InvalidArgument("reserve: no queues given");
  if (req.owner.empty()) return Status::InvalidArgument("reserve: lease owner is empty");
  if (req.max_items < 1) return Status::InvalidArgument("reserve: max_items must be >= 1");
  if (req.lease_ms <= 0) return Status::InvalidArgument("reserve: lease_ms must be > 0");
  if (req.start_now < -1) return Status::InvalidArgument("reserve: start_now must be >= -1");
  for (const std::string& q : req.queues) {
    auto pct = q.find('%');
    if (q.empty() || (pct != std::string::npos && pct != q.size() - 1)) {
      return Status::InvalidArgument("reserve: queue '" + q +
                                     "' must be a name or a prefix ending in '%'");
    }
  }
  return Status::OK();
}

int64_t BackoffMs(const RetryPolicy& p, int attempt, std::mt19937_64& rng) {
  double d = static_cast<double>(std::max<int64_t>(0, p.base_delay_ms));
  for (int i = 1; i < attempt && d < static_cast<double>(p.max_delay_ms); ++i) d *= 2;
  d = std::min(d, static_cast<double>(p.max_delay_ms));
  if (p.jitter > 0) {
    std::uniform_real_distribution<double> u(-p.jitter, p.jitter);
    d *= 1.0 + u(rng);
  }
  return std::max<int64_t>(0, std::llround(d));
}

}  // namespace robotni::store
