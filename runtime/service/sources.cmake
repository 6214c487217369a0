# runtime/service: the composition root (robotni/runtime.h's Runtime), robot runs and the
# HTTP service. Above api/, http/, exec/, python/ and store/.
target_sources(robotni_runtime PRIVATE
  runtime/service/env_check.cc
  runtime/service/http_service.cc
  runtime/service/lazy_store.cc
  runtime/service/robot_run.cc
  runtime/service/runtime.cc
  runtime/service/serve_reload.cc
  runtime/service/serve_schedules.cc
  runtime/service/serve_tasks.cc)
