# Each part of runtime/ has its unit tests in tests/unit/<part>/tests.cmake.
# -DROBOTNI_TEST_PARTS="python;exec" builds only those parts' tests; "all" (the default) every
# part's, so a part added later is built in existing build folders too.
set(ROBOTNI_TEST_PARTS "all" CACHE STRING "Parts whose unit tests to build (all, or a list)")
set(robotni_test_parts ${ROBOTNI_TEST_PARTS})
if(robotni_test_parts STREQUAL "all")
  file(GLOB robotni_part_files RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}/tests/unit
       ${CMAKE_CURRENT_SOURCE_DIR}/tests/unit/*/tests.cmake)
  list(TRANSFORM robotni_part_files REPLACE "/tests.cmake$" "")
  list(SORT robotni_part_files)
  set(robotni_test_parts ${robotni_part_files})
endif()
foreach(part ${robotni_test_parts})
  include(tests/unit/${part}/tests.cmake OPTIONAL)
endforeach()
