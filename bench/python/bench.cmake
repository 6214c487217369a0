# Python embedding benchmarks: warm sub-interpreter vs subprocess vs fresh sub-interpreter.
add_executable(interpreter_bench bench/python/interpreter_bench.cc)
target_link_libraries(interpreter_bench PRIVATE robotni_runtime benchmark::benchmark)
target_include_directories(interpreter_bench PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
