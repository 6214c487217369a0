# The Python-host suite: robotni.Runtime imported by Debian's python3.11 from the build
# tree (<build>/python). tests/packaging/install_test.sh runs the same suite against an
# installed prefix: the tests take the module from PYTHONPATH only.
if(TARGET robotni_python)
  add_test(NAME python_host
           COMMAND /usr/bin/python3.11 -m pytest -q -p no:cacheprovider
                   ${CMAKE_CURRENT_SOURCE_DIR}/tests/python_host)
  set_tests_properties(python_host PROPERTIES
    ENVIRONMENT "PYTHONPATH=${CMAKE_CURRENT_BINARY_DIR}/python;PYTHONDONTWRITEBYTECODE=1"
    LABELS integration
    TIMEOUT 600)
endif()
