# End-to-end tests in headless Chromium (Debian's chromium, driven by playwright-core from npm).
# run.sh runs `npm ci` in tests/e2e when node_modules is missing, and skips (passing) only
# when chromium or node is not installed.
add_test(NAME dashboard_e2e
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run.sh $<TARGET_FILE:robotni>)
set_tests_properties(dashboard_e2e PROPERTIES LABELS integration TIMEOUT 180)
# The same page with API tokens on: "needs token", a wrong token, a read-only one, then
# a read+write token that submits a fakejob to done.
add_test(NAME dashboard_auth_e2e
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run.sh $<TARGET_FILE:robotni> auth)
set_tests_properties(dashboard_auth_e2e PROPERTIES LABELS integration TIMEOUT 180)
# log.html of a fixture robot run with the binary (tests/fixtures/robots/log_html), opened
# from file:// (tasks, status, messages, a traceback, work-item rows, no secret).
add_test(NAME log_html_e2e
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run.sh $<TARGET_FILE:robotni> log)
set_tests_properties(log_html_e2e PROPERTIES LABELS integration TIMEOUT 180)
# The job list: server-side paging and filters in the address, a URL per job and per queue,
# the detail in view, bulk retry and cancel.
add_test(NAME dashboard_jobs_e2e
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run.sh $<TARGET_FILE:robotni> jobs)
set_tests_properties(dashboard_jobs_e2e PROPERTIES LABELS integration TIMEOUT 180)
# Sign-in by the link serve prints (#token=...): stored, then gone from the address bar.
add_test(NAME dashboard_signin_e2e
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run.sh $<TARGET_FILE:robotni> signin)
set_tests_properties(dashboard_signin_e2e PROPERTIES LABELS integration TIMEOUT 180)
# The worker panel (slots busy or idle with their job) and the throughput chart (Chart.js).
add_test(NAME dashboard_panels_e2e
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run.sh $<TARGET_FILE:robotni> panels)
set_tests_properties(dashboard_panels_e2e PROPERTIES LABELS integration TIMEOUT 180)
# The Schedules card: a schedule every 2 s listed, paused (no jobs), resumed (jobs again).
add_test(NAME dashboard_schedules_e2e
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run.sh $<TARGET_FILE:robotni> schedules)
set_tests_properties(dashboard_schedules_e2e PROPERTIES LABELS integration TIMEOUT 180)
