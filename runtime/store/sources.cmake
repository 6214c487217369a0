# sources of runtime/store
target_sources(robotni_runtime PRIVATE
  runtime/store/store.cc
  runtime/store/migrate.cc
  runtime/store/sqlite/schema.cc
  runtime/store/sqlite/sqlite_restore.cc
  runtime/store/sqlite/sqlite_schedules.cc
  runtime/store/sqlite/sqlite_store.cc)
