#include "store/store.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"

namespace robotni::store {

const char* StateName(State s) {
  switch (s) {
    case State::kPending:
      return "PENDING";
    case State::kReserved:
      return "RESERVED";
    case State::kDone:
      return "DONE";
    case State::kFailed:
      return "FAILED";
    case State::kCancelled:
      return "CANCELLED";
  }
  return "PENDING";
}

const char* KindName(Kind k) { return k == Kind::kJob ? "job" : "item"; }

std::optional<State> ParseState(std::string_view s) {
  std::string u(s);
  std::transform(u.begin(), u.end(), u.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  // robotni names, then robocorp (IN_PROGRESS, COMPLETED), Design Automation
  // (inprogress, success), huey (scheduled, revoked).
  if (u == "PENDING" || u == "SCHEDULED" || u == "QUEUED") return State::kPending;
  if (u == "RESERVED" || u == "IN_PROGRESS" || u == "INPROGRESS" || u == "RUNNING")
    return State::kReserved;
  if (u == "DONE" || u == "COMPLETED" || u == "SUCCESS") return State::kDone;
  if (u == "FAILED") return State::kFailed;
  if (u == "CANCELLED" || u == "CANCELED" || u == "REVOKED") return State::kCancelled;
  return std::nullopt;
}

std::array<StateCount, 6> StateCounts(const QueueStats& q) {
  return {{{"queued", q.pending + q.held},
           {"scheduled", q.scheduled},
           {"running", q.reserved},
           {"done", q.done},
           {"failed", q.failed},
           {"cancelled", q.cancelled}}};
}

const char* ExceptionTypeName(ExceptionType t) {
  switch (t) {
    case ExceptionType::kNone:
      return "";
    case ExceptionType::kBusiness:
      return "BUSINESS";
    case ExceptionType::kApplication:
      return "APPLICATION";
  }
  return "";
}

Status ValidateFileName(const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("file name is empty");
  if (name.size() > 255) {
    return Status::InvalidArgument("file name is " + std::to_string(name.size()) +
                                   " bytes, the limit is 255");
  }
  if (name == "." || name == "..") {
    return Status::InvalidArgument("file name '" + name + "' is not allowed");
  }
  if (name.find('\0') != std::string::npos) {
    return Status::InvalidArgument("file name contains a NUL byte");
  }
  if (name.find('/') != std::string::npos || name.find('\\') != std::string::npos) {
    return Status::InvalidArgument("file name '" + name +
                                   "' contains a path separator ('/' or '\\')");
  }
  return Status::OK();
}

StatusOr<std::unique_ptr<WorkItemStore>> WorkItemStore::Open(const StoreOptions& options) {
  std::string path = options.url;
  static constexpr std::string_view kSqlite = "sqlite://";
  if (path.rfind("postgres://", 0) == 0 || path.rfind("postgresql://", 0) == 0) {
    auto s = postgres::PgStore::Open(options);
    if (!s.ok()) return s.status();
    return std::unique_ptr<WorkItemStore>(std::move(s).value());
  }
  if (path.rfind(kSqlite, 0) == 0) {
    path = path.substr(kSqlite.size());  // "sqlite:///abs" -> "/abs"
    if (path.empty() || path[0] != '/') {
      return Status::InvalidArgument("store URL '" + options.url +
                                     "' must name an absolute path: sqlite:///abs/path.db");
    }
  } else if (path.find("://") != std::string::npos) {
    return Status::InvalidArgument("unknown store URL scheme: '" + options.url + "'");
  }
  if (path.empty()) return Status::InvalidArgument("store URL is empty");
  auto s = sqlite::SqliteStore::Open(options, path);
  if (!s.ok()) return s.status();
  return std::unique_ptr<WorkItemStore>(std::move(s).value());
}

}  // namespace robotni::store
