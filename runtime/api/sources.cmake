# runtime/api: the HTTP API's handlers, one file per resource, above the store and the
# dispatcher (so they build into the runtime library, not into robotni_http).
target_sources(robotni_runtime PRIVATE
  runtime/api/api_util.cc
  runtime/api/auth.cc
  runtime/api/health_api.cc
  runtime/api/job_list.cc
  runtime/api/job_submitter.cc
  runtime/api/job_types_api.cc
  runtime/api/job_view_cache.cc
  runtime/api/job_webhooks.cc
  runtime/api/jobs_api.cc
  runtime/api/metrics.cc
  runtime/api/queues_api.cc
  runtime/api/schedules_api.cc
  runtime/api/status_api.cc
  runtime/api/throughput.cc
  runtime/api/work_items_api.cc)
# auth.cc: tokens from RAND_bytes, compared with CRYPTO_memcmp.
target_link_libraries(robotni_runtime PRIVATE OpenSSL::Crypto)

# The dashboard: its files are embedded into a generated source at build time.
# Chart.js (the throughput chart) is Debian's libjs-chart.js, copied with its licence into the
# build tree and embedded next to the page's own files (served at /dashboard/chart.min.js and
# /dashboard/chart.min.js.LICENSE.txt).
set(ROBOTNI_CHARTJS /usr/share/javascript/chart.js/chart.min.js)
set(ROBOTNI_CHARTJS_LICENSE /usr/share/doc/libjs-chart.js/copyright)
foreach(f IN ITEMS ${ROBOTNI_CHARTJS} ${ROBOTNI_CHARTJS_LICENSE})
  if(NOT EXISTS ${f})
    message(FATAL_ERROR "${f} is missing: the dashboard's chart needs Debian's libjs-chart.js "
                        "(apt-get install libjs-chart.js, or scripts/setup.sh)")
  endif()
endforeach()
set(ROBOTNI_DASHBOARD_VENDOR ${CMAKE_CURRENT_BINARY_DIR}/generated/dashboard)
configure_file(${ROBOTNI_CHARTJS} ${ROBOTNI_DASHBOARD_VENDOR}/chart.min.js COPYONLY)
configure_file(${ROBOTNI_CHARTJS_LICENSE} ${ROBOTNI_DASHBOARD_VENDOR}/chart.min.js.LICENSE.txt
               COPYONLY)
set(ROBOTNI_DASHBOARD_ASSETS
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime/api/dashboard/index.html
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime/api/dashboard/app.js
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime/api/dashboard/style.css
  ${ROBOTNI_DASHBOARD_VENDOR}/chart.min.js
  ${ROBOTNI_DASHBOARD_VENDOR}/chart.min.js.LICENSE.txt)
add_custom_command(
  OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/generated/dashboard_assets.cc
  COMMAND ${CMAKE_COMMAND} -DOUT=${CMAKE_CURRENT_BINARY_DIR}/generated/dashboard_assets.cc
          "-DASSETS=${ROBOTNI_DASHBOARD_ASSETS}"
          -P ${CMAKE_CURRENT_SOURCE_DIR}/runtime/api/dashboard/embed.cmake
  DEPENDS ${ROBOTNI_DASHBOARD_ASSETS} ${CMAKE_CURRENT_SOURCE_DIR}/runtime/api/dashboard/embed.cmake
  COMMENT "Embedding the dashboard assets"
  VERBATIM)
target_sources(robotni_runtime PRIVATE runtime/api/dashboard_api.cc
  ${CMAKE_CURRENT_BINARY_DIR}/generated/dashboard_assets.cc)

# The OpenAPI document: runtime/api/openapi.json embedded as one string at build time.
add_custom_command(
  OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/generated/openapi_document.cc
  COMMAND ${CMAKE_COMMAND} -DOUT=${CMAKE_CURRENT_BINARY_DIR}/generated/openapi_document.cc
          -DASSETS=${CMAKE_CURRENT_SOURCE_DIR}/runtime/api/openapi.json
          -DSYMBOL=kOpenApiDocument -DHEADER=api/openapi.h
          -P ${CMAKE_CURRENT_SOURCE_DIR}/runtime/api/dashboard/embed.cmake
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/runtime/api/openapi.json
          ${CMAKE_CURRENT_SOURCE_DIR}/runtime/api/dashboard/embed.cmake
  COMMENT "Embedding the OpenAPI document"
  VERBATIM)
target_sources(robotni_runtime PRIVATE runtime/api/openapi.cc
  ${CMAKE_CURRENT_BINARY_DIR}/generated/openapi_document.cc)
