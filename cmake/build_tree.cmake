# Build tree: how a binary that was built here, and not installed, finds robotni's Python
# packages (runtime/python/python_dir.h). The runtime looks for
# <dir>/robotni-python-dir.txt next to the file that holds it (the robotni executable, a
# test binary, librobotni.so, the robotni._native module) and reads the source tree's
# runtime/python from it. Nothing is compiled in: a copy of the binary moved elsewhere finds
# no such file, and an installed tree finds <prefix>/share/robotni/python instead. The file
# is never installed.
set(ROBOTNI_BUILD_PYTHON_DIR_FILE "${CMAKE_BINARY_DIR}/robotni-python-dir.txt")
# The build root (the CLI, the test binaries, librobotni.so): written at configure time.
file(CONFIGURE OUTPUT "${ROBOTNI_BUILD_PYTHON_DIR_FILE}"
     CONTENT "${PROJECT_SOURCE_DIR}/runtime/python\n")
# Binaries built into other directories (robotni._native in <build>/python/robotni/) get a
# copy next to them.
foreach(_target IN ITEMS robotni robotni_lib robotni_python)
  if(TARGET ${_target})
    add_custom_command(TARGET ${_target} POST_BUILD
      COMMAND ${CMAKE_COMMAND} -E copy_if_different "${ROBOTNI_BUILD_PYTHON_DIR_FILE}"
              "$<TARGET_FILE_DIR:${_target}>/robotni-python-dir.txt"
      VERBATIM)
  endif()
endforeach()
