robotni_test(http_test
  tests/unit/http/request_parser_test.cc
  tests/unit/http/response_test.cc
  tests/unit/http/router_test.cc
  tests/unit/http/server_test.cc
  tests/unit/http/metrics_test.cc
  tests/unit/http/auth_test.cc
  tests/unit/http/multipart_test.cc)
robotni_test(http_api_doc_test tests/unit/http/openapi_test.cc tests/unit/http/auth_routing_test.cc)
robotni_test(webhooks_test tests/unit/http/curl_multi_test.cc tests/unit/http/webhooks_test.cc)
