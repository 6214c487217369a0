# sources of runtime/config
target_sources(robotni_runtime PRIVATE
  runtime/config/conda_imports.cc
  runtime/config/conda_yaml.cc
  runtime/config/env_json.cc
  runtime/config/limits_yaml.cc
  runtime/config/robot_yaml.cc
  runtime/config/schedules_yaml.cc
  runtime/config/serve_settings.cc
  runtime/config/yaml_util.cc)
