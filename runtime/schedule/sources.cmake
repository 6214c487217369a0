# runtime/schedule: cron expressions in a time zone (cron.cc) and serve's periodic jobs
# (scheduler.cc). Time zones come from Howard Hinnant's date/tz (libdate-tz, reading the
# system's /usr/share/zoneinfo): GCC 12's <chrono> has no tzdb yet.
find_package(date CONFIG REQUIRED)
target_sources(robotni_runtime PRIVATE
  runtime/schedule/cron.cc)
target_link_libraries(robotni_runtime PRIVATE date::date-tz)
