#ifndef ROBOTNI_RUNTIME_API_JOB_SUBMITTER_H_
#define ROBOTNI_RUNTIME_API_JOB_SUBMITTER_H_

// JobSubmitter: group commit for POST /api/worker/jobs. A submission arriving while no
// insert is in flight goes to the store at once; those arriving meanwhile wait for it and
// go together in the next CreateBatch (one transaction, one dispatcher wake). An idle server
// adds no delay; a busy one pays one commit per batch instead of one per job, and holds one
// WorkQueue thread instead of one per submission.
//
// Thread-safety: Submit on the loop thread only; the store call runs on a WorkQueue thread
// and the answers come back through the context's poster.

#include <cstddef>
#include <vector>

#include "api/api_context.h"

namespace robotni::api {

class JobSubmitter {
 public:
  // At most this many jobs per transaction: a batch is answered together, so a bigger one
  // only delays its first answers.
  static constexpr size_t kMaxBatch = 256;

  explicit JobSubmitter(WorkerApiContext* ctx) : ctx_(ctx) {}
  JobSubmitter(const JobSubmitter&) = delete;
  JobSubmitter& operator=(const JobSubmitter&) = delete;

  // Loop thread: answers 202 {"job_id", "status": "queued"} once the job is committed, or
  // the store's error for this job alone.
  void Submit(store::NewItem item, Responder respond);

 private:
  struct Pending {
    store::NewItem item;
    Responder respond;
  };
  void Flush();  // loop thread: sends up to kMaxBatch pending jobs to the store

  WorkerApiContext* ctx_;
  std::vector<Pending> pending_;  // loop thread only
  bool in_flight_ = false;        // loop thread only
};

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_JOB_SUBMITTER_H_
