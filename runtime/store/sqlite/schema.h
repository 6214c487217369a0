#ifndef ROBOTNI_RUNTIME_STORE_SQLITE_SCHEMA_H_
#define ROBOTNI_RUNTIME_STORE_SQLITE_SCHEMA_H_

// The versioned SQLite schema. Table `schema_version` holds one row with the version
// the file was last migrated to; Migrate() applies the missing steps, each in its own
// transaction, and refuses a file written by a newer build without touching it.

#include <sqlite3.h>

#include "robotni/status.h"

namespace robotni::store::sqlite {

// The schema version this build writes.
int CurrentSchemaVersion();

// Version stored in the file: 0 for an empty database (no schema_version table).
// Read-only: never writes.
StatusOr<int> ReadSchemaVersion(sqlite3* db);

// Refuses (InvalidArgument, nothing written) a version newer than this build; else
// applies the missing migrations. `path` is used in messages only.
Status Migrate(sqlite3* db, const std::string& path);

// For a file with no robotni schema yet: OK when it has no tables (it becomes a store),
// else InvalidArgument naming them (another program's database is never taken over).
Status RefuseForeignTables(sqlite3* db, const std::string& path);

// Migrate, stopping at version `target` (tests use it to build a file at an older version).
Status MigrateTo(sqlite3* db, const std::string& path, int target);

}  // namespace robotni::store::sqlite

#endif  // ROBOTNI_RUNTIME_STORE_SQLITE_SCHEMA_H_
