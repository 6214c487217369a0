# Benchmarks (not tests). Each area keeps its own bench/<area>/bench.cmake.
find_package(benchmark REQUIRED)
foreach(area store python e2e schema)
  include(bench/${area}/bench.cmake OPTIONAL)
endforeach()
