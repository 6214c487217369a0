#ifndef ROBOTNI_RUNTIME_API_WORK_ITEMS_API_H_
#define ROBOTNI_RUNTIME_API_WORK_ITEMS_API_H_

// The Action Server work-items REST API (/api/work-items, shapes as in
// docs/reference robocorp-compat §2) over the store; huey-style queue management is
// queues_api.h.
// Handlers run on the loop thread; store calls go to the WorkQueue (see api_context.h).

#include <nlohmann/json.hpp>

#include "api/api_context.h"
#include "api/http_types.h"
#include "http/router.h"
#include "store/store.h"

namespace robotni::api {

// Registers the routes above.
Status RegisterWorkItemsApi(Router* router, WorkerApiContext* ctx);

// An item as the Action Server's WorkItemResponse: {id, queue_name, state (PENDING |
// IN_PROGRESS | DONE | FAILED; a cancelled item is FAILED with error_code CANCELLED),
// payload (object, else null), parent_id, error_code, error_message, files, created_at,
// updated_at}.
nlohmann::json WorkItemJson(const store::Item& item);

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_WORK_ITEMS_API_H_
