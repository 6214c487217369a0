# sources of runtime/store
target_sources(robotni_runtime PRIVATE
  runtime/store/store.cc
  runtime/store/migrate.cc
  runtime/store/restore_checks.cc
  runtime/store/store_checks.cc
  runtime/store/sqlite/schema.cc
  runtime/store/sqlite/sqlite_restore.cc
  runtime/store/sqlite/sqlite_schedules.cc
  runtime/store/sqlite/sqlite_store.cc
  runtime/store/postgres/pg_conn.cc
  runtime/store/postgres/pg_restore.cc
  runtime/store/postgres/pg_schema.cc
  runtime/store/postgres/pg_schedules.cc
  runtime/store/postgres/pg_store.cc)
# PostgreSQL's client library (Debian: libpq-dev). robotni_runtime is a static library inside
# the build only; librobotni.so links it privately, so an installed robotni::robotni needs
# no find_dependency for it (libpq is a run-time dependency of the library and the CLI).
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
target_link_libraries(robotni_runtime PUBLIC PkgConfig::LIBPQ)
