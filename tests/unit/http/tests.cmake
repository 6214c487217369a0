robotni_test(http_test
  tests/unit/http/request_parser_test.cc
  tests/unit/http/response_test.cc
  tests/unit/http/router_test.cc
  tests/unit/http/server_test.cc
  tests/unit/http/server_limits_test.cc
  tests/unit/http/multipart_test.cc)
robotni_test(webhooks_test tests/unit/http/curl_multi_test.cc tests/unit/http/webhooks_test.cc)
