# runtime/http: the HTTP/1.1 server layer (llhttp on libuv). It builds as its own static
# library, robotni_http, so the fuzzer can link it without the rest of the runtime; the
# runtime links it publicly. Below it: robotni_loop and robotni_core (its diagnostics go
# through core/log).

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
  runtime/http/request.cc
  runtime/http/request_parser.cc
  runtime/http/response.cc
  runtime/http/source_etag.cc
  runtime/http/router.cc
  runtime/http/address_policy.cc
  runtime/http/server.cc)
target_include_directories(robotni_http PUBLIC
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime/include
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime)
target_link_libraries(robotni_http PUBLIC
  robotni_loop robotni_core llhttp PkgConfig::LIBUV nlohmann_json::nlohmann_json
  Threads::Threads)
target_link_libraries(robotni_runtime PUBLIC robotni_http)

# Outbound HTTP for webhooks: libcurl's multi interface driven by the same loop.
find_package(CURL REQUIRED)
target_sources(robotni_http PRIVATE runtime/http/curl_multi.cc)
target_link_libraries(robotni_http PRIVATE CURL::libcurl)
target_sources(robotni_runtime PRIVATE runtime/http/webhooks.cc)

option(ROBOTNI_BUILD_FUZZERS "Build the libFuzzer targets (clang only)" OFF)
if(ROBOTNI_BUILD_FUZZERS)
  include(tests/fuzz/fuzz.cmake OPTIONAL)
endif()

# multipart bodies are parsed by the transport; the API handlers (runtime/api/) use them.
target_sources(robotni_runtime PRIVATE runtime/http/multipart.cc)
