#include "exec/store_job.h"

namespace robotni::exec {

Status StoreJob::Heartbeat(double seconds) {
  if (!(seconds > 0)) return Status::InvalidArgument("heartbeat seconds must be positive");
  Status s = store_->Heartbeat(lease(), static_cast<int64_t>(seconds * 1000));
  if (s.IsConflict()) return Status::Conflict("job " + item_.id + ": the lease was lost");
  return s;
}

}  // namespace robotni::exec
