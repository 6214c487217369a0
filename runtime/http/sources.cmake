# runtime/http: the HTTP/1.1 server layer (llhttp on libuv). It builds as its own static
# library, robotni_http, so the fuzzer can link it without the rest of the runtime; the
# runtime links it publicly.

# llhttp from Debian's node-llhttp: C sources, no library package.
find_path(LLHTTP_INCLUDE_DIR llhttp.h PATHS /usr/share/include/llhttp REQUIRED NO_DEFAULT_PATH)
add_library(llhttp STATIC
  /usr/share/llhttp/api.c
  /usr/share/llhttp/http.c
  /usr/share/llhttp/llhttp.c)
target_include_directories(llhttp SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
target_compile_options(llhttp PRIVATE -w)
set_target_properties(llhttp PROPERTIES POSITION_INDEPENDENT_CODE ON)

add_library(robotni_http STATIC
  runtime/http/loop_poster.cc
  runtime/http/request.cc
  runtime/http/request_parser.cc
  runtime/http/response.cc
  runtime/http/router.cc
  runtime/http/server.cc)
target_include_directories(robotni_http PUBLIC
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime/include
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime)
target_link_libraries(robotni_http PUBLIC
  llhttp PkgConfig::LIBUV nlohmann_json::nlohmann_json Threads::Threads)
target_link_libraries(robotni_runtime PUBLIC robotni_http)

# Outbound HTTP for webhooks: libcurl's multi interface driven by the same loop.
find_package(CURL REQUIRED)
target_sources(robotni_http PRIVATE runtime/http/curl_multi.cc)
# Headers only: curl_multi.cc opens libcurl.so.4 with dlopen on first use.
target_include_directories(robotni_http PRIVATE ${CURL_INCLUDE_DIRS})
target_link_libraries(robotni_http PUBLIC ${CMAKE_DL_LIBS})
target_sources(robotni_runtime PRIVATE runtime/http/webhooks.cc runtime/http/job_webhooks.cc)

option(ROBOTNI_BUILD_FUZZERS "Build the libFuzzer targets (clang only)" OFF)
if(ROBOTNI_BUILD_FUZZERS)
  include(tests/fuzz/fuzz.cmake OPTIONAL)
endif()

# The API handlers sit above the store and the dispatcher, so they build into the
# runtime library, not into robotni_http.
target_sources(robotni_runtime PRIVATE runtime/http/api_util.cc runtime/http/worker_api.cc)
target_sources(robotni_runtime PRIVATE runtime/http/work_items_api.cc runtime/http/multipart.cc)
target_sources(robotni_runtime PRIVATE runtime/http/auth.cc runtime/http/metrics.cc)

# The dashboard: its files are embedded into a generated source at build time.
set(ROBOTNI_DASHBOARD_ASSETS
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime/http/dashboard/index.html
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime/http/dashboard/app.js
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime/http/dashboard/style.css)
add_custom_command(
  OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/generated/dashboard_assets.cc
  COMMAND ${CMAKE_COMMAND} -DOUT=${CMAKE_CURRENT_BINARY_DIR}/generated/dashboard_assets.cc
          "-DASSETS=${ROBOTNI_DASHBOARD_ASSETS}"
          -P ${CMAKE_CURRENT_SOURCE_DIR}/runtime/http/dashboard/embed.cmake
  DEPENDS ${ROBOTNI_DASHBOARD_ASSETS} ${CMAKE_CURRENT_SOURCE_DIR}/runtime/http/dashboard/embed.cmake
  COMMENT "Embedding the dashboard assets"
  VERBATIM)
target_sources(robotni_runtime PRIVATE runtime/http/dashboard_api.cc
  ${CMAKE_CURRENT_BINARY_DIR}/generated/dashboard_assets.cc)

# The OpenAPI document: runtime/http/openapi.json embedded as one string at build time.
add_custom_command(
  OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/generated/openapi_document.cc
  COMMAND ${CMAKE_COMMAND} -DOUT=${CMAKE_CURRENT_BINARY_DIR}/generated/openapi_document.cc
          -DASSETS=${CMAKE_CURRENT_SOURCE_DIR}/runtime/http/openapi.json
          -DSYMBOL=kOpenApiDocument -DHEADER=http/openapi.h
          -P ${CMAKE_CURRENT_SOURCE_DIR}/runtime/http/dashboard/embed.cmake
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/runtime/http/openapi.json
          ${CMAKE_CURRENT_SOURCE_DIR}/runtime/http/dashboard/embed.cmake
  COMMENT "Embedding the OpenAPI document"
  VERBATIM)
target_sources(robotni_runtime PRIVATE runtime/http/openapi.cc
  ${CMAKE_CURRENT_BINARY_DIR}/generated/openapi_document.cc)
