robotni_test(core_test tests/unit/core/status_test.cc tests/unit/core/hmac_sha256_test.cc
  tests/unit/core/iso_time_test.cc tests/unit/core/json_schema_test.cc
  tests/unit/core/sha256_test.cc tests/unit/core/base64_test.cc tests/unit/core/json_limits_test.cc)
robotni_test(log_test tests/unit/core/log_test.cc)
