# libFuzzer targets, built with -DROBOTNI_BUILD_FUZZERS=ON (see runtime/http/sources.cmake).
# Use a clang build dir of its own, e.g.:
#   CC=clang-16 CXX=clang++-16 cmake -S . -B build-fuzz -DROBOTNI_BUILD_FUZZERS=ON \
#     -DROBOTNI_BUILD_TESTS=OFF
#   cmake --build build-fuzz --target http_request_fuzz
#   build-fuzz/http_request_fuzz -dict=tests/fuzz/http.dict -max_total_time=60 \
#     corpus-dir tests/fuzz/corpus/http
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "The fuzzer needs clang (the C++ compiler is ${CMAKE_CXX_COMPILER_ID}); "
                      "configure with CC=clang-16 CXX=clang++-16 in a build dir of its own")
endif()

set(_fuzz_sanitizers "address,undefined")
# Coverage instrumentation for the code under test; the sanitizer runtime for whatever links it.
foreach(_lib llhttp robotni_http)
  target_compile_options(${_lib} PRIVATE -fsanitize=fuzzer-no-link,${_fuzz_sanitizers}
                                         -fno-omit-frame-pointer)
endforeach()
target_link_options(robotni_http INTERFACE -fsanitize=${_fuzz_sanitizers})

add_executable(http_request_fuzz tests/fuzz/http_request_fuzz.cc)
target_link_libraries(http_request_fuzz PRIVATE robotni_http)
target_compile_options(http_request_fuzz PRIVATE -fsanitize=fuzzer,${_fuzz_sanitizers}
                                                 -fno-omit-frame-pointer)
target_link_options(http_request_fuzz PRIVATE -fsanitize=fuzzer,${_fuzz_sanitizers})
