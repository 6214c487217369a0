robotni_test(api_test tests/unit/api/metrics_test.cc tests/unit/api/auth_test.cc
  tests/unit/api/token_file_test.cc tests/unit/api/throughput_test.cc
  tests/unit/api/job_submitter_test.cc tests/unit/api/job_view_cache_test.cc)
robotni_test(http_api_doc_test tests/unit/api/openapi_test.cc tests/unit/api/auth_routing_test.cc)
