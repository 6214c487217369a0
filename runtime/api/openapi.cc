#include "api/openapi.h"

#include <nlohmann/json.hpp>

#include "http/response.h"

namespace robotni::api {

const std::string& OpenApiDocument() {
  // Built once: the embedded text is fixed, only the version comes from the build.
  static const std::string doc = [] {
    nlohmann::json j = nlohmann::json::parse(kOpenApiDocument, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::string(kOpenApiDocument);
    j["info"]["version"] = ROBOTNI_VERSION;
    return j.dump();
  }();
  return doc;
}

Status RegisterOpenApi(Router* router) {
  return router->Add("GET /openapi.json", [](const Request& req, Responder respond) {
    Response r;
    r.status = 200;
    r.body = OpenApiDocument();
    r.headers.Set("Content-Type", "application/json");
    r.headers.Set("Cache-Control", "no-cache");
    ApplyEtag(req, &r);
    respond(std::move(r));
  });
}

}  // namespace robotni::api
