robotni_test(schedule_test tests/unit/schedule/cron_test.cc)
target_link_libraries(schedule_test PRIVATE date::date-tz)
