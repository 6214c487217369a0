# bindings/python: robotni._native, the pybind11 module for Python host programs
# (docs/python-host.md). Built into <build>/python/robotni/ next to links to the `robotni`
# package's .py files, so `PYTHONPATH=<build>/python python3.11 -c "import robotni"` works.

# pybind11's classic mode finds the interpreter itself: Debian's, never a pyenv python3.
set(PYTHON_EXECUTABLE ${Python3_EXECUTABLE})
find_package(pybind11 2.10 CONFIG REQUIRED)

pybind11_add_module(robotni_python MODULE bindings/python/module.cc)
set(ROBOTNI_PYTHON_PACKAGE_DIR ${CMAKE_CURRENT_BINARY_DIR}/python/robotni)
set_target_properties(robotni_python PROPERTIES
  OUTPUT_NAME _native
  LIBRARY_OUTPUT_DIRECTORY ${ROBOTNI_PYTHON_PACKAGE_DIR})

# robotni_runtime links libpython3.11.so publicly (the CLI embeds CPython), but an
# extension module must not: Debian's /usr/bin/python3.11 is a static executable that
# exports the C API, and a module that pulls in libpython3.11.so loads a second, unused
# CPython into the process (docs/python-host.md, "Linking"). So the module links the
# runtime's archive and the runtime's link interface without Python3::Python; the Py*
# symbols stay undefined and bind to the host interpreter at import. Deferred to the end
# of the root directory so that every part has added its dependencies.
target_include_directories(robotni_python PRIVATE
  $<TARGET_PROPERTY:robotni_runtime,INTERFACE_INCLUDE_DIRECTORIES>)
target_compile_definitions(robotni_python PRIVATE
  $<TARGET_PROPERTY:robotni_runtime,INTERFACE_COMPILE_DEFINITIONS>)
add_dependencies(robotni_python robotni_runtime)
set_property(TARGET robotni_python APPEND PROPERTY LINK_DEPENDS $<TARGET_FILE:robotni_runtime>)
function(robotni_python_link_runtime)
  get_target_property(_libs robotni_runtime INTERFACE_LINK_LIBRARIES)
  list(FILTER _libs EXCLUDE REGEX "^(\\$<LINK_ONLY:)?Python3::")
  target_link_libraries(robotni_python PRIVATE $<TARGET_FILE:robotni_runtime> ${_libs})
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} CALL robotni_python_link_runtime)

# The package's .py files (owned by runtime/python/shims/robotni/) are linked next to the
# module at build time; globbed so that a module added there is picked up on reconfigure.
file(GLOB ROBOTNI_PYTHON_PACKAGE_FILES CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime/python/shims/robotni/*.py)
foreach(_py IN LISTS ROBOTNI_PYTHON_PACKAGE_FILES)
  get_filename_component(_name ${_py} NAME)
  add_custom_command(TARGET robotni_python POST_BUILD
    COMMAND ${CMAKE_COMMAND} -E create_symlink ${_py} ${ROBOTNI_PYTHON_PACKAGE_DIR}/${_name}
    VERBATIM)
endforeach()
