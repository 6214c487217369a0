#include "store/postgres/pg_schema.h"

namespace robotni::store::postgres {
namespace {

// kMigrations[i] brings the schema from version i to version i+1. Append only. Times are
// ms since the epoch (bigint), as in the SQLite store; ids come from id_counter (not a
// sequence) so that AllocateIds hands out a contiguous block and ids grow in commit order.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE items(
  id bigint PRIMARY KEY,
  queue text NOT NULL,
  state text NOT NULL,
  payload text NOT NULL,
  priority integer NOT NULL DEFAULT 0,
  attempt integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 3,
  parent_id bigint,
  idempotency_key text,
  lease_owner text,
  lease_expires bigint NOT NULL DEFAULT 0,
  created bigint NOT NULL,
  not_before bigint NOT NULL DEFAULT 0,
  started bigint NOT NULL DEFAULT 0,
  finished bigint NOT NULL DEFAULT 0,
  updated bigint NOT NULL,
  result text,
  exception_type text,
  error_code text,
  error_message text,
  traceback text,
  cancel_requested boolean NOT NULL DEFAULT false,
  lease_token bigint NOT NULL DEFAULT 0,
  meta text,
  kind text NOT NULL DEFAULT 'item'
);
-- Reserve: per queue in (priority DESC, id) order, PENDING rows only.
CREATE INDEX items_ready ON items(queue, priority DESC, id) WHERE state = 'PENDING';
CREATE UNIQUE INDEX items_idempotency ON items(idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX items_lease ON items(lease_expires) WHERE state = 'RESERVED';
CREATE INDEX items_final ON items(finished) WHERE finished > 0;
CREATE INDEX items_jobs ON items(id) WHERE kind = 'job';
CREATE TABLE files(
  item_id bigint NOT NULL,
  name text NOT NULL,
  size bigint NOT NULL,
  sha256 text NOT NULL,
  content bytea NOT NULL,
  PRIMARY KEY(item_id, name)
);
CREATE TABLE timeline(
  id bigserial PRIMARY KEY,
  item_id bigint NOT NULL,
  at bigint NOT NULL,
  event text NOT NULL,
  attempt integer NOT NULL DEFAULT 0,
  message text NOT NULL DEFAULT ''
);
CREATE INDEX timeline_item ON timeline(item_id, id);
CREATE TABLE schedules(
  name text PRIMARY KEY,
  queue text NOT NULL,
  cron text NOT NULL,
  timezone text NOT NULL,
  params text NOT NULL,
  paused boolean NOT NULL DEFAULT false,
  last_tick bigint NOT NULL,
  last_job_id bigint,
  updated bigint NOT NULL
);
-- The next id to hand out; one row.
CREATE TABLE id_counter(one boolean PRIMARY KEY DEFAULT true CHECK (one), next_id bigint NOT NULL);
INSERT INTO id_counter VALUES (true, 1);
)sql",
};

constexpr int kNumMigrations = sizeof(kMigrations) / sizeof(kMigrations[0]);

}  // namespace

int CurrentPgSchemaVersion() { return kNumMigrations; }

StatusOr<int> ReadPgSchemaVersion(PgConn& conn) {
  auto t =
      conn.Exec("SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_version'",
                Params().Add(conn.url().schema));
  if (!t.ok()) return t.status();
  if (t->rows() == 0) return 0;
  auto v = conn.Exec("SELECT coalesce(max(version), 0) FROM schema_version");
  if (!v.ok()) return v.status();
  return static_cast<int>(v->Int(0, 0));
}

Status MigratePg(PgConn& conn, bool create) {
  const std::string& where = conn.url().display;
  ROBOTNI_RETURN_IF_ERROR(conn.ExecScript("BEGIN"));
  auto fail = [&](Status s) {
    (void)conn.ExecScript("ROLLBACK");
    return s;
  };
  // One migrating process per schema at a time.
  auto lock = conn.Exec("SELECT pg_advisory_xact_lock(hashtext('robotni.' || $1))",
                        Params().Add(conn.url().schema));
  if (!lock.ok()) return fail(lock.status());
  if (create) {
    Status s = conn.ExecScript("CREATE SCHEMA IF NOT EXISTS " + conn.QuoteIdent(conn.url().schema));
    if (!s.ok()) return fail(s);
  }
  auto v = ReadPgSchemaVersion(conn);
  if (!v.ok()) return fail(v.status());
  if (*v > kNumMigrations) {
    return fail(Status::InvalidArgument(where + " was written by a newer robotni (schema " +
                                        std::to_string(*v) + ", this build knows " +
                                        std::to_string(kNumMigrations) + ")"));
  }
  if (*v == 0) {
    auto other = conn.Exec(
        "SELECT coalesce(string_agg(tablename, ', ' ORDER BY tablename), '') FROM pg_tables "
        "WHERE schemaname = $1",
        Params().Add(conn.url().schema));
    if (!other.ok()) return fail(other.status());
    if (!other->Text(0, 0).empty()) {
      return fail(Status::InvalidArgument(where + ": schema '" + conn.url().schema +
                                          "' is not a robotni work-item store (it has tables " +
                                          other->Text(0, 0) + ")"));
    }
    if (!create) {
      return fail(Status::NotFound("no work-item store at " + where + " (schema '" +
                                   conn.url().schema + "')"));
    }
  }
  for (int from = *v; from < kNumMigrations; ++from) {
    Status s = conn.ExecScript(kMigrations[from]);
    if (s.ok() && from == 0) s = conn.ExecScript("CREATE TABLE schema_version(version integer)");
    if (s.ok()) {
      s = conn.ExecScript("DELETE FROM schema_version; INSERT INTO schema_version VALUES(" +
                          std::to_string(from + 1) + ")");
    }
    if (!s.ok()) {
      return fail(Status::IOError(where + ": schema migration to version " +
                                  std::to_string(from + 1) + " failed: " + s.message()));
    }
  }
  return conn.ExecScript("COMMIT");
}

}  // namespace robotni::store::postgres
