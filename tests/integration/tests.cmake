# End-to-end tests that run the robotni binary on fixture robots.
include(tests/integration/cli/tests.cmake OPTIONAL)
include(tests/e2e/e2e.cmake)
