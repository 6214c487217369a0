target_sources(robotni_runtime PRIVATE
  runtime/core/status.cc)
