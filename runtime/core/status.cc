#include "robotni/status.h"

namespace robotni {

const char* Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kNotFound:
      return "NotFound";
    case Code::kInvalidArgument:
      return "InvalidArgument";
    case Code::kBusy:
      return "Busy";
    case Code::kIOError:
      return "IOError";
    case Code::kPythonError:
      return "PythonError";
    case Code::kCancelled:
      return "Cancelled";
    case Code::kTimeout:
      return "Timeout";
    case Code::kConflict:
      return "Conflict";
    case Code::kUnsupported:
      return "Unsupported";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace robotni
