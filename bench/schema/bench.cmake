# Checking a job's params and run_at: valijson and date::parse (core/) next to the hand-written
# checks they replaced. Links robotni_core only.
add_executable(schema_bench bench/schema/schema_bench.cc)
target_link_libraries(schema_bench PRIVATE robotni_core benchmark::benchmark)
