#ifndef ROBOTNI_STATUS_H_
#define ROBOTNI_STATUS_H_

// Status is the result of an operation: OK, or a code and a message that says what
// went wrong and where. Runtime code returns Status / StatusOr<T>; exceptions from
// third-party libraries are caught in the adapter that calls them.
// Thread-safety: a Status is a value; distinct objects may be used from any thread.

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "robotni/export.h"

namespace robotni {

class ROBOTNI_EXPORT Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,
    kInvalidArgument,
    kBusy,
    kIOError,
    kPythonError,
    kCancelled,
    kTimeout,
    kConflict,     // a fenced operation lost its lease, or a duplicate
    kUnsupported,  // e.g. a module that cannot run in a sub-interpreter
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status InvalidArgument(std::string_view msg) {
    return Status(Code::kInvalidArgument, msg);
  }
  static Status Busy(std::string_view msg) { return Status(Code::kBusy, msg); }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  static Status PythonError(std::string_view msg) { return Status(Code::kPythonError, msg); }
  static Status Cancelled(std::string_view msg) { return Status(Code::kCancelled, msg); }
  static Status Timeout(std::string_view msg) { return Status(Code::kTimeout, msg); }
  static Status Conflict(std::string_view msg) { return Status(Code::kConflict, msg); }
  static Status Unsupported(std::string_view msg) { return Status(Code::kUnsupported, msg); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsConflict() const { return code_ == Code::kConflict; }
  bool IsTimeout() const { return code_ == Code::kTimeout; }

  // "InvalidArgument: robot.yaml:3: tasks.Producer: ..." ("OK" when ok()).
  std::string ToString() const;
  static const char* CodeName(Code code);

 private:
  Status(Code code, std::string_view msg) : code_(code), message_(msg) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// StatusOr<T> holds a T or a non-OK Status.
template <typename T>
class StatusOr {
 public:
  StatusOr(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design
  StatusOr(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace robotni

#define ROBOTNI_RETURN_IF_ERROR(expr) \
  do {                                \
    ::robotni::Status _st = (expr);   \
    if (!_st.ok()) return _st;        \
  } while (0)

#endif  // ROBOTNI_STATUS_H_
