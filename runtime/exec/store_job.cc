#include "exec/store_job.h"

namespace robotni::exec {

Status StoreJob::Heartbeat(double seconds) {
  if (!(seconds > 0)) return Status::InvalidArgument("heartbeat seconds must be positive");
  Status s = store_->Heartbeat(lease(), static_cast<int64_t>(seconds * 1000));
  if (s.IsConflict()) return Status::Conflict("job " + item_.id + ": the lease was lost");
  return s;
}

store::Completion StoreJob::TakeCompletion(const std::string& fallback) {
  store::Completion c = std::move(outcome_);
  c.lease = lease();
  if (!reported_) {
    c.ok = false;
    c.exception_type = store::ExceptionType::kApplication;
    c.error_message = fallback;
  }
  return c;
}

}  // namespace robotni::exec
