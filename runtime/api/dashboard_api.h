#ifndef ROBOTNI_RUNTIME_API_DASHBOARD_API_H_
#define ROBOTNI_RUNTIME_API_DASHBOARD_API_H_

// The dashboard: a single page (runtime/api/dashboard/*) embedded in the binary at build
// time and served at GET / and GET /dashboard/{asset}, plus the few JSON routes the page
// needs that the job API does not have (a job list, a job's event timeline, retry).
// Handlers run on the loop thread; store calls go to the WorkQueue like the job API's.

#include <string>
#include <string_view>
#include <vector>

#include "api/api_context.h"
#include "api/http_types.h"
#include "api/openapi.h"  // RegisterOpenApi: serve wires it next to RegisterDashboard
#include "http/router.h"

namespace robotni::api {

// One embedded file; the table is generated at build time by dashboard/embed.cmake.
struct DashboardAsset {
  std::string_view name;  // "index.html", "app.js", ...
  std::string_view data;
};
extern const DashboardAsset kDashboardAssets[];
extern const size_t kDashboardAssetCount;

// Registers GET /, GET /dashboard/{asset} and, unless another module already registered
// them, GET /api/worker/jobs (list), GET /api/worker/jobs/{id}/timeline and
// POST /api/worker/jobs/{id}/retry.
Status RegisterDashboard(Router* router, WorkerApiContext* ctx);

// The paths of the page itself ("/", "/dashboard/{asset}", "/dashboard/app.js", ...): static
// files with no data in them. A browser cannot send a bearer token when it navigates, so an auth
// filter should let these through (the page sends the token on its API calls).
std::vector<std::string> DashboardOpenPaths();

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_DASHBOARD_API_H_
