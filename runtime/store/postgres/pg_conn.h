#ifndef ROBOTNI_RUNTIME_STORE_POSTGRES_PG_CONN_H_
#define ROBOTNI_RUNTIME_STORE_POSTGRES_PG_CONN_H_

// A libpq connection for PgStore: text parameters (bytea ones binary), results as strings,
// errors as Status. A connection that broke (server restart, network) makes the statement
// fail with IOError "PostgreSQL unavailable: ..." at once; EnsureConnected() opens it again
// (and sets the search_path again) before the next use. Not thread-safe: one thread at a time.

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "robotni/status.h"

namespace robotni::store::postgres {

// A store URL taken apart: what libpq gets, and robotni's own parameters.
struct PgUrl {
  std::string conninfo;  // the URL without robotni's parameters, for libpq
  std::string schema;    // search_path=...; "public" when not given
  int read_pool = 4;     // read_pool=N: idle read connections kept
  std::string display;   // the URL without its password, for messages
};
StatusOr<PgUrl> ParsePgUrl(const std::string& url);

// Query parameters: text, NULL, or binary (bytea).
class Params {
 public:
  Params& Add(std::string_view s) {
    p_.push_back(std::string(s));
    bin_.push_back(0);
    return *this;
  }
  Params& Add(const char* s) { return Add(std::string_view(s)); }
  Params& Add(const std::string& s) { return Add(std::string_view(s)); }
  Params& Add(int64_t v) { return Add(std::to_string(v)); }
  Params& Add(int v) { return Add(std::to_string(v)); }
  Params& Add(bool v) { return Add(v ? "true" : "false"); }
  Params& Null() {
    p_.push_back(std::nullopt);
    bin_.push_back(0);
    return *this;
  }
  Params& OrNull(const std::string& s) { return s.empty() ? Null() : Add(s); }
  Params& Binary(std::string_view bytes) {
    p_.push_back(std::string(bytes));
    bin_.push_back(1);
    return *this;
  }
  size_t size() const { return p_.size(); }

 private:
  friend class PgConn;
  std::vector<std::optional<std::string>> p_;
  std::vector<int> bin_;
};

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r, &PQclear) {}
  int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
  int64_t affected() const;  // rows an INSERT / UPDATE / DELETE changed
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col); }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(r_.get(), row, col), PQgetlength(r_.get(), row, col));
  }
  int64_t Int(int row, int col) const;
  bool Bool(int row, int col) const { return PQgetvalue(r_.get(), row, col)[0] == 't'; }

 private:
  std::shared_ptr<PGresult> r_;
};

class PgConn {
 public:
  explicit PgConn(PgUrl url) : url_(std::move(url)) {}
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Connects when not connected (or broken); sets client_encoding and the search_path.
  Status EnsureConnected();
  bool Broken() const { return !conn_ || PQstatus(conn_) != CONNECTION_OK; }
  // Broken, or ended by the server while idle (checked without blocking).
  bool ClosedWhileIdle();
  // Runs one statement. binary_result: every result column in binary (bytea content).
  StatusOr<PgResult> Exec(const std::string& sql, const Params& params = Params(),
                          bool binary_result = false);
  // Runs statements without parameters (several may be given, separated by ';').
  Status ExecScript(const std::string& sql);
  const PgUrl& url() const { return url_; }
  // A connection that only runs autocommit reads: a statement that finds it lost (the
  // server ended the session, a restart) runs again once on a new connection.
  void set_reads_only(bool on) { reads_only_ = on; }
  PGconn* raw() { return conn_; }  // for LISTEN's socket and notifications
  void Close() {
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
  }
  std::string QuoteIdent(const std::string& s) const;

 private:
  Status Error(PGresult* r, std::string_view what);
  PgUrl url_;
  PGconn* conn_ = nullptr;
  bool reads_only_ = false;
};

}  // namespace robotni::store::postgres

#endif  // ROBOTNI_RUNTIME_STORE_POSTGRES_PG_CONN_H_
