# Store throughput: WorkItemStore (SQLite, group commit) next to the same SQL run raw.
add_executable(store_bench bench/store/store_bench.cc)
target_link_libraries(store_bench PRIVATE robotni_runtime benchmark::benchmark)
