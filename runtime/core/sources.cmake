# runtime/core: status, log, time, sha256 / hmac / base64 (OpenSSL's libcrypto). A static library of its own at the bottom of
# the parts, so that loop/ and http/ (and the HTTP fuzzer, which links robotni_http alone)
# write their diagnostics through core/log, where a host's sink gets them, without the rest of
# the runtime.
add_library(robotni_core STATIC
  runtime/core/base64.cc
  runtime/core/hmac_sha256.cc
  runtime/core/iso_time.cc
  runtime/core/json_limits.cc
  runtime/core/json_schema.cc
  runtime/core/log.cc
  runtime/core/private_fs.cc
  runtime/core/sha256.cc
  runtime/core/status.cc)
target_include_directories(robotni_core PUBLIC
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime/include
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime)
target_link_libraries(robotni_core PUBLIC nlohmann_json::nlohmann_json Threads::Threads)
# Private: no public header of core includes them.
target_include_directories(robotni_core PRIVATE ${VALIJSON_INCLUDE_DIR} ${HINNANT_DATE_INCLUDE_DIR})
# SHA-256, HMAC and base64 come from libcrypto (libcurl's TLS uses it too). PRIVATE: no
# robotni header includes OpenSSL's, so hosts never need its headers.
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto)
target_link_libraries(robotni_core PRIVATE OpenSSL::Crypto)
# core/log writes through spdlog (Debian's shared libspdlog and libfmt), privately too.
find_package(spdlog CONFIG REQUIRED)
target_link_libraries(robotni_core PRIVATE spdlog::spdlog)
set_target_properties(robotni_core PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_link_libraries(robotni_runtime PUBLIC robotni_core)
