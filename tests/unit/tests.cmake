# Each part of runtime/ has its unit tests in tests/unit/<part>/tests.cmake.
foreach(part core config store python exec cli)
  include(tests/unit/${part}/tests.cmake OPTIONAL)
endforeach()
