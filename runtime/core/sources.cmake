target_sources(robotni_runtime PRIVATE
  runtime/core/hmac_sha256.cc
  runtime/core/iso_time.cc
  runtime/core/log.cc
  runtime/core/sha256.cc
  runtime/core/status.cc)
