robotni_backend_test(serve_cli_test tests/integration/cli/serve_test.cc
  tests/integration/cli/serve_auth_test.cc)
robotni_backend_test(serve_items_cli_test tests/integration/cli/serve_items_test.cc)
robotni_test(serve_limits_cli_test tests/integration/cli/serve_limits_test.cc)
robotni_backend_test(serve_tasks_cli_test tests/integration/cli/serve_tasks_test.cc)
robotni_test(serve_load_cli_test tests/integration/cli/serve_load_test.cc)
robotni_test(serve_ops_cli_test tests/integration/cli/serve_ops_test.cc)
robotni_test(serve_webhooks_cli_test tests/integration/cli/serve_webhooks_test.cc)
robotni_test(serve_workers_cli_test tests/integration/cli/serve_workers_test.cc)
robotni_test(serve_chaos_cli_test tests/integration/cli/serve_chaos_test.cc)
robotni_test(serve_task_chaos_cli_test tests/integration/cli/serve_task_chaos_test.cc)
robotni_test(serve_worker_start_cli_test tests/integration/cli/serve_worker_start_test.cc)
robotni_test(serve_job_output_cli_test tests/integration/cli/serve_job_output_test.cc)
# Jobs apart from a robot's work items (issue #16): over a store the example robot filled.
robotni_backend_test(serve_jobs_apart_cli_test tests/integration/cli/serve_jobs_apart_test.cc)
# The job list the dashboard pages and filters: keyset cursors, total, filters, 400s.
robotni_backend_test(serve_job_list_cli_test tests/integration/cli/serve_job_list_test.cc)
# Queue counts that add up; two serve processes on one store; running = started.
robotni_backend_test(serve_counts_cli_test tests/integration/cli/serve_counts_test.cc)
# The API token file: refused when unsafe, never written through a link.
robotni_test(serve_token_cli_test tests/integration/cli/serve_token_file_test.cc)
# --durability: shown by counting fsync/fdatasync calls with an LD_PRELOAD library built here.
add_library(fsync_counter SHARED tests/support/fsync_counter.c)
target_link_libraries(fsync_counter PRIVATE ${CMAKE_DL_LIBS})
# Built without sanitizers: a preloaded library must not need the sanitizer runtime.
target_compile_options(fsync_counter PRIVATE -fno-sanitize=all)
target_link_options(fsync_counter PRIVATE -fno-sanitize=all)
robotni_test(serve_durability_cli_test tests/integration/cli/serve_durability_test.cc)
target_compile_definitions(serve_durability_cli_test PRIVATE
  ROBOTNI_FSYNC_COUNTER="$<TARGET_FILE:fsync_counter>")
add_dependencies(serve_durability_cli_test fsync_counter)
# What serve serves at its start: robot.yaml's `jobs:`, --jobs, --types that match nothing.
robotni_test(serve_startup_cli_test tests/integration/cli/serve_startup_test.cc)
# serve's log: finished jobs, --access-log, drain progress; the job metrics' type label.
robotni_test(serve_logs_cli_test tests/integration/cli/serve_logs_test.cc)
# Job params against their type's JSON Schema (valijson), strict run_at: 400s naming the field.
robotni_test(serve_validation_cli_test tests/integration/cli/serve_validation_test.cc)
# Periodic jobs: two serves on one store, one job per tick; pause / resume; config errors.
robotni_backend_test(serve_schedules_cli_test tests/integration/cli/serve_schedules_test.cc)
# Three serve nodes on one PostgreSQL schema under SIGKILLs and cut connections (issue #14).
set(ROBOTNI_TEST_PROPERTIES FIXTURES_REQUIRED pg_server
    ENVIRONMENT ROBOTNI_TEST_PG_STATE=${ROBOTNI_TEST_PG_STATE} TIMEOUT 900)
robotni_test(serve_postgres_chaos_cli_test tests/integration/cli/serve_postgres_chaos_test.cc
             tests/support/pg_server.cc)
unset(ROBOTNI_TEST_PROPERTIES)
set(ROBOTNI_TEST_PROPERTIES FIXTURES_REQUIRED pg_server
    ENVIRONMENT ROBOTNI_TEST_PG_STATE=${ROBOTNI_TEST_PG_STATE})
robotni_test(serve_postgres_lost_db_cli_test tests/integration/cli/serve_postgres_lost_db_test.cc
             tests/support/pg_server.cc)
unset(ROBOTNI_TEST_PROPERTIES)
