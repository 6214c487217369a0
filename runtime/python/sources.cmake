target_sources(robotni_runtime PRIVATE
  runtime/python/interpreter.cc
  runtime/python/interpreter_pool.cc
  runtime/python/module_probe.cc
  runtime/python/python_dir.cc
  runtime/python/python_env.cc
  runtime/python/robotni_module.cc
  runtime/python/version.cc
  runtime/python/watchdog.cc)

# robotni's own Python (host + shims) compiled to bytecode at build time: every in-process
# run imports it, and the interpreter does not write bytecode, so without this each
# `robotni run` compiled ~3,500 lines again (~40 ms). The .pyc files sit in __pycache__
# beside the sources (git-ignored); Python checks them against the sources' mtime and size.
file(GLOB_RECURSE ROBOTNI_PY_SOURCES CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_SOURCE_DIR}/runtime/python/*.py)
add_custom_command(
  OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/robotni_pyc.stamp
  COMMAND ${Python3_EXECUTABLE} -m compileall -q ${CMAKE_CURRENT_SOURCE_DIR}/runtime/python
  COMMAND ${CMAKE_COMMAND} -E touch ${CMAKE_CURRENT_BINARY_DIR}/robotni_pyc.stamp
  DEPENDS ${ROBOTNI_PY_SOURCES}
  COMMENT "Compiling robotni's Python to bytecode")
add_custom_target(robotni_pyc ALL DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/robotni_pyc.stamp)
