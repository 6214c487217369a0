target_sources(robotni_runtime PRIVATE
  runtime/python/interpreter.cc
  runtime/python/interpreter_pool.cc
  runtime/python/robotni_module.cc
  runtime/python/watchdog.cc)
