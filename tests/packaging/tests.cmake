# Packaging tests (cmake/install.cmake, cmake/package.cmake). Both work on copies in
# temporary directories and install nothing system-wide. They need a built tree (`ninja`):
# they install what is built; cpack also builds what is out of date.
add_test(NAME packaging_install
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/packaging/install_test.sh
          ${CMAKE_BINARY_DIR} ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_COMMAND})
add_test(NAME packaging_deb
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/packaging/deb_test.sh
          ${CMAKE_BINARY_DIR} ${CMAKE_CPACK_COMMAND} ${PROJECT_VERSION})
set_tests_properties(packaging_install packaging_deb PROPERTIES
  LABELS "integration;packaging" TIMEOUT 600)
# The install test also runs the installed binary on the PostgreSQL of the store tests' fixture.
set_tests_properties(packaging_install PROPERTIES FIXTURES_REQUIRED pg_server
  ENVIRONMENT ROBOTNI_TEST_PG_STATE=${ROBOTNI_TEST_PG_STATE})
# cpack and `cmake --install` both read the build tree: never at the same time.
set_tests_properties(packaging_install packaging_deb PROPERTIES RESOURCE_LOCK robotni_build_tree)
