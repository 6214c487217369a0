#ifndef ROBOTNI_RUNTIME_API_OPENAPI_H_
#define ROBOTNI_RUNTIME_API_OPENAPI_H_

// The OpenAPI 3.1 document of the whole HTTP API. It is written by hand in
// runtime/api/openapi.json and embedded into the binary at build time (dashboard/embed.cmake),
// and served at GET /openapi.json without a token: it is the same for every robotni of a
// version and holds no data. tests/unit/http/openapi_test.cc keeps it and the router in step.

#include <string>
#include <string_view>

#include "http/router.h"
#include "robotni/status.h"
#include "api/http_types.h"

namespace robotni::api {

// runtime/api/openapi.json byte for byte (generated source).
extern const std::string_view kOpenApiDocument;

// The served document: kOpenApiDocument with info.version set to this build's version.
const std::string& OpenApiDocument();

// Registers GET /openapi.json (application/json, strong ETag, 304 on If-None-Match).
Status RegisterOpenApi(Router* router);

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_OPENAPI_H_
