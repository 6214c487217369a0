// The OpenAPI document against the routes serve registers: every route is documented with
// its method, every documented operation is a route, and each operation's security matches
// what the auth filter does. The router is built by the same Register* calls serve makes, and
// a check on serve_command.cc catches a module added there but not here.
#include "api/openapi.h"
#include "api/queues_api.h"
#include "api/schedules_api.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "api/dashboard_api.h"
#include "api/health_api.h"
#include "api/job_types_api.h"
#include "api/jobs_api.h"
#include "api/metrics.h"
#include "api/status_api.h"
#include "api/work_items_api.h"
#include "http/router.h"

namespace robotni::api {
namespace {

using nlohmann::json;

const std::set<std::string> kMethods = {"get", "put", "post", "delete", "options", "head", "patch"};

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  return s;
}

class CaptureSink : public ResponseSink {
 public:
  void Send(Response response) noexcept override { got = std::move(response); }
  std::optional<Response> got;
};

// The API modules serve registers, in serve's order. Registration only stores the contexts;
// nothing here runs a handler that would need a store.
struct AllApis {
  AllApis() {
    EXPECT_TRUE(RegisterHealthApi(&router, &api).ok());
    EXPECT_TRUE(RegisterJobTypesApi(&router, &api).ok());
    EXPECT_TRUE(RegisterJobsApi(&router, &api).ok());
    EXPECT_TRUE(RegisterStatusApi(&router, &api).ok());
    EXPECT_TRUE(RegisterWorkItemsApi(&router, &api).ok());
    EXPECT_TRUE(RegisterQueuesApi(&router, &api).ok());
    EXPECT_TRUE(RegisterSchedulesApi(&router, &api).ok());
    EXPECT_TRUE(RegisterDashboard(&router, &api).ok());
    EXPECT_TRUE(RegisterMetricsApi(&router, &metrics).ok());
    EXPECT_TRUE(RegisterOpenApi(&router).ok());
  }
  WorkerApiContext api;
  MetricsContext metrics;
  Router router;
};
// What AllApis calls, by name, to compare with service/http_service.cc.
const std::set<std::string> kRegistered = {
    "HealthApi", "JobTypesApi",  "JobsApi",   "StatusApi",  "WorkItemsApi",
    "QueuesApi", "SchedulesApi", "Dashboard", "MetricsApi", "OpenApi"};

json Document() {
  json doc = json::parse(OpenApiDocument(), nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << "the served document is not JSON";
  return doc;
}

TEST(OpenApiTest, IsAnOpenApi3Document) {
  json doc = Document();
  ASSERT_TRUE(doc.is_object());
  ASSERT_TRUE(doc.contains("openapi") && doc["openapi"].is_string());
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  ASSERT_TRUE(doc.contains("info") && doc["info"].is_object());
  EXPECT_TRUE(doc["info"]["title"].is_string());
  EXPECT_TRUE(doc["info"]["version"].is_string());
  EXPECT_NE(doc["info"]["version"], "0.0.0") << "the build's version replaces the placeholder";
  ASSERT_TRUE(doc.contains("paths") && doc["paths"].is_object());
  EXPECT_FALSE(doc["paths"].empty());
  // The embedded text is the source file, byte for byte.
  std::ifstream f(std::string(ROBOTNI_SOURCE_DIR) + "/runtime/api/openapi.json", std::ios::binary);
  std::stringstream text;
  text << f.rdbuf();
  EXPECT_EQ(text.str(), kOpenApiDocument);
}

TEST(OpenApiTest, EveryRouteIsDocumentedAndEveryOperationIsARoute) {
  AllApis apis;
  std::set<std::pair<std::string, std::string>> routes, documented;
  for (const auto& r : apis.router.Routes()) routes.emplace(r.method, r.path);
  json doc = Document();
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (kMethods.count(method)) documented.emplace(Upper(method), path);
    }
  }
  ASSERT_GT(routes.size(), 20u);
  for (const auto& r : routes) {
    EXPECT_TRUE(documented.count(r))
        << r.first << " " << r.second << " is registered but not in runtime/api/openapi.json";
  }
  for (const auto& d : documented) {
    EXPECT_TRUE(routes.count(d)) << d.first << " " << d.second
                                 << " is in runtime/api/openapi.json but no module registers it";
  }
}

TEST(OpenApiTest, ServeRegistersTheModulesThisTestBuilds) {
  std::ifstream f(std::string(ROBOTNI_SOURCE_DIR) + "/runtime/service/http_service.cc");
  ASSERT_TRUE(f.good());
  std::stringstream text;
  text << f.rdbuf();
  std::string src = text.str();
  std::set<std::string> called;
  std::regex call(R"(api::Register(\w+)\(\s*&router)");
  for (auto it = std::sregex_iterator(src.begin(), src.end(), call); it != std::sregex_iterator();
       ++it) {
    called.insert((*it)[1]);
  }
  EXPECT_EQ(called, kRegistered)
      << "service/http_service.cc registers other API modules than AllApis in this test: add the "
         "new module there and document its routes in runtime/api/openapi.json";
}

// Every "$ref" points at something in the document.
void CheckRefs(const json& doc, const json& node, const std::string& where) {
  if (node.is_object()) {
    for (const auto& [k, v] : node.items()) {
      if (k == "$ref" && v.is_string()) {
        std::string ref = v;
        ASSERT_EQ(ref.rfind("#/", 0), 0u) << where << ": only local refs: " << ref;
        EXPECT_TRUE(doc.contains(json::json_pointer(ref.substr(1))))
            << where << ": dangling $ref " << ref;
      } else {
        CheckRefs(doc, v, where + "/" + k);
      }
    }
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i)
      CheckRefs(doc, node[i], where + "/" + std::to_string(i));
  }
}

TEST(OpenApiTest, RefsResolve) {
  json doc = Document();
  CheckRefs(doc, doc, "");
}

const json& Deref(const json& doc, const json& node) {
  if (node.is_object() && node.contains("$ref"))
    return doc.at(json::json_pointer(node["$ref"].get<std::string>().substr(1)));
  return node;
}

TEST(OpenApiTest, OperationsHaveResponsesAndTheirPathParameters) {
  json doc = Document();
  std::regex param(R"(\{(\w+)\})");
  for (const auto& [path, item] : doc["paths"].items()) {
    std::set<std::string> in_path;
    for (auto it = std::sregex_iterator(path.begin(), path.end(), param);
         it != std::sregex_iterator(); ++it) {
      in_path.insert((*it)[1]);
    }
    for (const auto& [method, op] : item.items()) {
      if (!kMethods.count(method)) continue;
      std::string where = Upper(method) + " " + path;
      ASSERT_TRUE(op.contains("responses") && !op["responses"].empty()) << where;
      std::set<std::string> declared;
      for (const auto& p : op.value("parameters", json::array())) {
        const json& d = Deref(doc, p);
        if (d.value("in", "") == "path") {
          EXPECT_TRUE(d.value("required", false)) << where << ": path parameter not required";
          declared.insert(d.value("name", ""));
        }
      }
      EXPECT_EQ(declared, in_path) << where << ": path parameters";
    }
  }
}

// The security of each operation is what the auth filter enforces: open operations pass
// without a token, the others name the scope their method needs.
TEST(OpenApiTest, SecurityMatchesTheAuthFilter) {
  AuthOptions opts;
  for (const std::string& p : DashboardOpenPaths()) opts.open_paths.insert(p);
  Auth auth(opts);
  ASSERT_TRUE(auth.AddToken("t", kScopeAll).ok());
  json doc = Document();
  ASSERT_TRUE(doc["components"]["securitySchemes"].contains("bearerAuth"));
  EXPECT_EQ(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
  int open = 0;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (!kMethods.count(method)) continue;
      std::string where = Upper(method) + " " + path;
      ASSERT_TRUE(op.contains("security")) << where << ": say its security, [] when open";
      Request req;
      req.method = Upper(method);
      req.route = where;
      req.path = path;
      auto sink = std::make_shared<CaptureSink>();
      bool passes = auth.Filter(req, Responder(sink));
      const json& sec = op["security"];
      if (sec.empty()) {
        ++open;
        EXPECT_TRUE(passes) << where << " is documented open but needs a token";
        continue;
      }
      EXPECT_FALSE(passes) << where << " is documented with a token but is open";
      ASSERT_EQ(sec.size(), 1u) << where;
      json want = json::array({method == "get" ? "read" : "write"});
      EXPECT_EQ(sec[0].value("bearerAuth", json()), want) << where;
      EXPECT_TRUE(op["responses"].contains("401")) << where;
      EXPECT_TRUE(op["responses"].contains("403")) << where;
    }
  }
  EXPECT_EQ(open, 5);  // /healthz, /readyz, /openapi.json, /, /dashboard/{asset}
}

TEST(OpenApiTest, JobShapesHaveTheWebhookFields) {
  json s = Document()["components"]["schemas"];
  EXPECT_EQ(s["JobSubmit"]["properties"]["on_complete_url"]["format"], "uri");
  EXPECT_EQ(s["JobSubmit"]["properties"]["on_progress_url"]["format"], "uri");
  json delivery = s["WebhookDelivery"]["properties"];
  for (const char* f : {"url", "event", "attempt", "outcome", "http_status", "error", "at"})
    EXPECT_TRUE(delivery.contains(f)) << f;
  EXPECT_EQ(s["Job"]["properties"]["webhooks"]["type"], "array");
}

TEST(OpenApiTest, ServedWithAnEtag) {
  Router router;
  ASSERT_TRUE(RegisterOpenApi(&router).ok());
  Request req;
  req.method = "GET";
  std::string error;
  ASSERT_TRUE(ParseTarget("/openapi.json", &req, &error)) << error;
  auto sink = std::make_shared<CaptureSink>();
  router.Dispatch(&req, Responder(sink));
  ASSERT_TRUE(sink->got);
  EXPECT_EQ(sink->got->status, 200);
  EXPECT_EQ(sink->got->headers.Get("Content-Type"), "application/json");
  EXPECT_EQ(sink->got->body, OpenApiDocument());
  std::string etag(sink->got->headers.Get("ETag"));
  ASSERT_FALSE(etag.empty());

  req.headers.Add("If-None-Match", etag);
  auto again = std::make_shared<CaptureSink>();
  router.Dispatch(&req, Responder(again));
  ASSERT_TRUE(again->got);
  EXPECT_EQ(again->got->status, 304);
}

}  // namespace
}  // namespace robotni::api
