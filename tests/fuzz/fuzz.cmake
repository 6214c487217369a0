# libFuzzer targets (clang, ASan + UBSan), built with -DROBOTNI_BUILD_FUZZERS=ON in a build dir
# of their own: the "fuzz" preset (build-fuzz, clang 14), and scripts/fuzz.sh builds and runs
# them (CI runs each for a bounded time from its seed corpus):
#   cmake --preset fuzz && cmake --build --preset fuzz
#   build-fuzz/http_request_fuzz -dict=tests/fuzz/http.dict -max_total_time=60 \
#     corpus-dir tests/fuzz/corpus/http
# Only what the targets reach is compiled (a few libraries and files, not robotni_runtime,
# which would embed CPython and take most of CI's budget to build).
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "The fuzzers need clang (the C++ compiler is ${CMAKE_CXX_COMPILER_ID}); "
                      "use the fuzz preset (clang-14) or CC=clang CXX=clang++ in a build dir "
                      "of its own")
endif()

set(_fuzz_sanitizers "address,undefined")
set(_fuzz_instrument -fsanitize=fuzzer-no-link,${_fuzz_sanitizers} -fno-omit-frame-pointer
                     -fno-sanitize-recover=undefined)
# Coverage instrumentation for the code under test; the sanitizer runtime for whatever links it.
foreach(_lib llhttp robotni_core robotni_loop robotni_http)
  target_compile_options(${_lib} PRIVATE ${_fuzz_instrument})
endforeach()
target_link_options(robotni_http INTERFACE -fsanitize=${_fuzz_sanitizers})

# The API handlers that take request bodies, and what they link: the store (its free
# functions, and both backends, which WorkItemStore::Open names; the handlers' store calls are handed to a WorkQueue the fuzzer never runs), the
# dispatcher's job-type registry (its Python and worker halves are link stubs that abort:
# the fuzzer never starts it), webhook URL checks and multipart bodies.
add_library(robotni_fuzz_api STATIC
  runtime/api/api_util.cc
  runtime/api/auth.cc
  runtime/api/health_api.cc
  runtime/api/job_submitter.cc
  runtime/api/job_types_api.cc
  runtime/api/job_webhooks.cc
  runtime/api/job_view_cache.cc
  runtime/api/jobs_api.cc
  runtime/api/queues_api.cc
  runtime/api/schedules_api.cc
  runtime/api/status_api.cc
  runtime/api/throughput.cc
  runtime/api/work_items_api.cc
  runtime/exec/dispatcher.cc
  runtime/exec/store_job.cc
  runtime/http/multipart.cc
  runtime/http/webhooks.cc
  runtime/store/store.cc
  runtime/store/restore_checks.cc
  runtime/store/store_checks.cc
  runtime/store/sqlite/schema.cc
  runtime/store/sqlite/sqlite_restore.cc
  runtime/store/sqlite/sqlite_schedules.cc
  runtime/store/sqlite/sqlite_store.cc
  runtime/store/postgres/pg_conn.cc
  runtime/store/postgres/pg_restore.cc
  runtime/store/postgres/pg_schema.cc
  runtime/store/postgres/pg_schedules.cc
  runtime/store/postgres/pg_store.cc
  runtime/worker/start_backoff.cc
  tests/fuzz/dispatcher_link_stubs.cc)
target_include_directories(robotni_fuzz_api PUBLIC ${Python3_INCLUDE_DIRS})
target_link_libraries(robotni_fuzz_api PUBLIC robotni_http SQLite::SQLite3 PkgConfig::LIBPQ)
target_compile_options(robotni_fuzz_api PRIVATE ${_fuzz_instrument})
target_compile_definitions(robotni_fuzz_api PRIVATE ROBOTNI_VERSION="${PROJECT_VERSION}")

# A work-items file and `robotni items import` lines: input_seed.cc and items_format.cc (the
# CLI's, compiled in here) over the store's file-name rules.
add_library(robotni_fuzz_items STATIC
  runtime/exec/input_seed.cc
  runtime/cli/items_format.cc)
target_link_libraries(robotni_fuzz_items PUBLIC robotni_fuzz_api)
target_compile_options(robotni_fuzz_items PRIVATE ${_fuzz_instrument})

function(robotni_fuzzer name lib)
  add_executable(${name} tests/fuzz/${name}.cc)
  target_link_libraries(${name} PRIVATE ${lib})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,${_fuzz_sanitizers}
                                         -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,${_fuzz_sanitizers})
endfunction()
robotni_fuzzer(http_request_fuzz robotni_fuzz_api)
robotni_fuzzer(work_items_fuzz robotni_fuzz_items)
add_custom_target(fuzzers DEPENDS http_request_fuzz work_items_fuzz)
