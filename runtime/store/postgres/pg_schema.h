#ifndef ROBOTNI_RUNTIME_STORE_POSTGRES_PG_SCHEMA_H_
#define ROBOTNI_RUNTIME_STORE_POSTGRES_PG_SCHEMA_H_

// PgStore's schema: created and migrated inside the schema the URL's search_path names,
// with its version in the table schema_version. Migrations run under a transaction-scoped
// advisory lock, so processes opening the same store at once migrate it once.

#include <string>

#include "robotni/status.h"
#include "store/postgres/pg_conn.h"

namespace robotni::store::postgres {

int CurrentPgSchemaVersion();
// The version of the store in the connection's schema: 0 = none yet.
StatusOr<int> ReadPgSchemaVersion(PgConn& conn);
// Creates or migrates the store. InvalidArgument when the schema holds another program's
// tables or a newer version; NotFound when there is no store and create is false.
Status MigratePg(PgConn& conn, bool create);

}  // namespace robotni::store::postgres

#endif  // ROBOTNI_RUNTIME_STORE_POSTGRES_PG_SCHEMA_H_
