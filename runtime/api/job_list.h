#ifndef ROBOTNI_RUNTIME_API_JOB_LIST_H_
#define ROBOTNI_RUNTIME_API_JOB_LIST_H_

// GET /api/worker/jobs: the job list, newest first, filtered and paged in the store (the
// dashboard's jobs table, docs/serve.md "Listing jobs"). Query parameters:
//   type, state (queued | running | done | failed | cancelled), q (text in the params JSON or
//   the error), since / until (ms since the epoch or ISO 8601 UTC; on the queued time, since
//   inclusive, until exclusive), limit (1-1000, 50), cursor (a next_cursor or prev_cursor of
//   an earlier answer) or offset.
// The answer: {"jobs": [...], "total": <jobs matching the filter>, "limit", "offset",
// "next_cursor": older page or null, "prev_cursor": newer page or null}. A bad value is a 400
// naming the parameter.

#include <cstdint>
#include <optional>
#include <string>

#include "api/api_context.h"
#include "api/http_types.h"
#include "store/store.h"

namespace robotni::api {

struct JobListQuery {
  store::ListFilter filter;  // kind kJob, the filters, limit and offset
  // The keyset cursor: 'o' = jobs older than `cursor_id`, 'n' = newer; 0 = none.
  char cursor_dir = 0;
  int64_t cursor_id = 0;
};

// Reads the query parameters of `req`; false with the 400 answer naming the bad one.
bool ParseJobListQuery(const Request& req, JobListQuery* out, Response* err);

// The answer to `q` from the store (blocking: call it off the loop).
Response ListJobs(store::WorkItemStore* store, const JobListQuery& q);

Handler JobListHandler(WorkerApiContext* ctx);

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_JOB_LIST_H_
