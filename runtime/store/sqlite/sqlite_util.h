#ifndef ROBOTNI_RUNTIME_STORE_SQLITE_SQLITE_UTIL_H_
#define ROBOTNI_RUNTIME_STORE_SQLITE_SQLITE_UTIL_H_

// RAII helpers for the SQLite C API.
//
// DbPtr owns a connection (sqlite3_close_v2). Stmt owns one statement prepared once
// with SQLITE_PREPARE_PERSISTENT; each use goes through a StmtUse guard that resets the
// statement and clears its bindings when the scope ends, so a statement never stays
// mid-step (which would hold a read transaction open) and never leaks old bindings.
// Thread-safety: a connection and its statements are used by one thread at a time.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "robotni/status.h"

namespace robotni::store::sqlite {

struct CloseV2 {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, CloseV2>;

struct Finalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, Finalize>;

// An error Status built from the connection's last error: "<what>: <sqlite message>".
inline Status SqlError(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Status::Busy(msg);
  if (primary == SQLITE_NOTADB) return Status::InvalidArgument(msg);
  if (primary == SQLITE_CONSTRAINT) return Status::Conflict(msg);
  return Status::IOError(msg);
}

// Runs one or more statements without results.
inline Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::OK();
  std::string msg = std::string("sqlite: ") + (err ? err : sqlite3_errstr(rc));
  sqlite3_free(err);
  return SqlError(nullptr, rc, msg);
}

class Stmt {
 public:
  Stmt() = default;
  Status Prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) return SqlError(db, rc, std::string("prepare ") + sql);
    stmt_.reset(s);
    db_ = db;
    return Status::OK();
  }
  sqlite3_stmt* get() const { return stmt_.get(); }
  sqlite3* db() const { return db_; }

 private:
  StmtPtr stmt_;
  sqlite3* db_ = nullptr;
};

// One use of a prepared statement: bind, step, read columns. The destructor resets the
// statement and clears its bindings.
class StmtUse {
 public:
  explicit StmtUse(Stmt& s) : s_(s.get()), db_(s.db()) {}
  ~StmtUse() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;

  StmtUse& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  StmtUse& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  StmtUse& Bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  StmtUse& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  StmtUse& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  // Binds text without copying it: v must stay valid until this StmtUse ends (the
  // statement is reset then). For string literals and strings the caller owns.
  StmtUse& BindStatic(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  // BindStatic, or NULL for an empty string.
  StmtUse& BindStaticOrNull(int i, std::string_view v) {
    if (v.empty()) {
      sqlite3_bind_null(s_, i);
      return *this;
    }
    return BindStatic(i, v);
  }
  // Binds NULL for an empty string.
  StmtUse& BindOrNull(int i, std::string_view v) {
    if (v.empty()) {
      sqlite3_bind_null(s_, i);
      return *this;
    }
    return Bind(i, v);
  }
  StmtUse& BindNull(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(s_); }
  // Steps to completion expecting no rows; returns an error Status on failure.
  Status Run(std::string_view what) {
    int rc;
    while ((rc = sqlite3_step(s_)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) return SqlError(db_, rc, what);
    return Status::OK();
  }
  Status Error(int rc, std::string_view what) const { return SqlError(db_, rc, what); }

  int64_t Int(int c) const { return sqlite3_column_int64(s_, c); }
  bool IsNull(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  // Valid until the next step or reset.
  std::string_view TextView(int c) const {
    const unsigned char* p = sqlite3_column_text(s_, c);
    if (!p) return std::string_view();
    return std::string_view(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s_, c));
  }
  std::string Text(int c) const {
    const unsigned char* p = sqlite3_column_text(s_, c);
    if (!p) return std::string();
    return std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s_, c));
  }
  int Changes() const { return sqlite3_changes(db_); }

 private:
  sqlite3_stmt* s_;
  sqlite3* db_;
};

}  // namespace robotni::store::sqlite

#endif  // ROBOTNI_RUNTIME_STORE_SQLITE_SQLITE_UTIL_H_
