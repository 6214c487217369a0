# Each part of runtime/ has its unit tests in tests/unit/<part>/tests.cmake.
# -DROBOTNI_TEST_PARTS="python;exec" builds only those parts' tests.
set(ROBOTNI_TEST_PARTS "core;config;store;python;exec;worker;cli;http;api;service;bindings;package" CACHE STRING "Parts whose unit tests to build")
foreach(part ${ROBOTNI_TEST_PARTS})
  include(tests/unit/${part}/tests.cmake OPTIONAL)
endforeach()
