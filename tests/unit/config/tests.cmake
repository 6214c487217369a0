robotni_test(config_test
  tests/unit/config/robot_yaml_test.cc
  tests/unit/config/shell_split_test.cc
  tests/unit/config/env_json_test.cc
  tests/unit/config/conda_yaml_test.cc
  tests/unit/config/corpus_test.cc
  tests/unit/config/robustness_test.cc
  tests/unit/config/serve_settings_test.cc)
