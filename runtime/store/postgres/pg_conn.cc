#include "store/postgres/pg_conn.h"

#include <poll.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace robotni::store::postgres {

namespace {

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

}  // namespace

StatusOr<PgUrl> ParsePgUrl(const std::string& url) {
  PgUrl u;
  u.schema = "public";
  const size_t q = url.find('?');
  std::string base = url.substr(0, q);
  std::string kept;
  if (q != std::string::npos) {
    std::string_view query(url);
    query.remove_prefix(q + 1);
    while (!query.empty()) {
      size_t amp = query.find('&');
      std::string_view kv = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      size_t eq = kv.find('=');
      std::string key(kv.substr(0, eq));
      std::string value = eq == std::string_view::npos ? "" : PercentDecode(kv.substr(eq + 1));
      if (key == "search_path") {
        if (value.empty() || value.find(',') != std::string::npos)
          return Status::InvalidArgument("store URL: search_path must name one schema");
        u.schema = value;
      } else if (key == "read_pool") {
        int n = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec != std::errc() || p != value.data() + value.size() || n < 1 || n > 64)
          return Status::InvalidArgument("store URL: read_pool must be 1..64");
        u.read_pool = n;
      } else if (!kv.empty()) {
        kept += (kept.empty() ? "" : "&") + std::string(kv);
      }
    }
  }
  u.conninfo = base + (kept.empty() ? "" : "?" + kept);
  // Without the password: postgresql://user:secret@host -> postgresql://user@host.
  u.display = url;
  const size_t scheme = url.find("://");
  const size_t at = url.find('@');
  if (scheme != std::string::npos && at != std::string::npos && at < q) {
    const size_t colon = url.find(':', scheme + 3);
    if (colon != std::string::npos && colon < at) u.display = url.substr(0, colon) + url.substr(at);
  }
  return u;
}

int64_t PgResult::affected() const {
  const char* n = r_ ? PQcmdTuples(r_.get()) : "";
  return *n ? std::atoll(n) : 0;
}

int64_t PgResult::Int(int row, int col) const {
  const char* v = PQgetvalue(r_.get(), row, col);
  if (*v == 't') return 1;  // booleans
  if (*v == 'f') return 0;
  return std::atoll(v);
}

PgConn::~PgConn() {
  if (conn_) PQfinish(conn_);
}

bool PgConn::ClosedWhileIdle() {
  if (Broken()) return true;
  // A session the server ended while it was idle (pg_terminate_backend, a restart) reads
  // CONNECTION_OK until used; its goodbye and end of stream wait on the socket. Reading them
  // now makes libpq see the end, instead of failing the next statement.
  pollfd p{PQsocket(conn_), POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  return !PQconsumeInput(conn_) || Broken();
}

Status PgConn::EnsureConnected() {
  if (!ClosedWhileIdle()) return Status::OK();
  if (conn_) PQfinish(conn_);
  // connect_timeout: an unreachable server fails the operation instead of hanging it. The
  // URL (dbname, expanded) comes last, so its own parameters win over these defaults.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", "client_encoding",
                        nullptr};
  const char* values[] = {"10", "robotni", url_.conninfo.c_str(), "UTF8", nullptr};
  conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    PQfinish(conn_);
    conn_ = nullptr;
    return Status::IOError("PostgreSQL unavailable: cannot connect to " + url_.display + ": " +
                           msg);
  }
  Status s = ExecScript("SET search_path TO " + QuoteIdent(url_.schema));
  if (!s.ok()) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  return s;
}

std::string PgConn::QuoteIdent(const std::string& s) const {
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

Status PgConn::Error(PGresult* r, std::string_view what) {
  std::string msg = r ? PQresultErrorMessage(r) : "";
  if (msg.empty() && conn_) msg = PQerrorMessage(conn_);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const std::string code = state ? state : "";
  std::string text = std::string(what) + ": " + msg;
  if (Broken() || code.rfind("08", 0) == 0 || code.rfind("57P", 0) == 0)
    return Status::IOError("PostgreSQL unavailable: " + url_.display + ": " + text);
  if (code.rfind("23", 0) == 0) return Status::Conflict(text);  // constraint violated
  if (code == "40001" || code == "40P01" || code == "55P03") return Status::Busy(text);
  return Status::IOError(text);
}

StatusOr<PgResult> PgConn::Exec(const std::string& sql, const Params& params, bool binary_result) {
  if (Broken()) return Status::IOError("PostgreSQL unavailable: " + url_.display);
  const size_t n = params.p_.size();
  std::vector<const char*> values(n);
  std::vector<int> lengths(n);
  for (size_t i = 0; i < n; ++i) {
    values[i] = params.p_[i] ? params.p_[i]->data() : nullptr;
    lengths[i] = params.p_[i] ? static_cast<int>(params.p_[i]->size()) : 0;
  }
  const bool outside_tx = PQtransactionStatus(conn_) == PQTRANS_IDLE;
  PGresult* r = PQexecParams(conn_, sql.c_str(), static_cast<int>(n), nullptr, values.data(),
                             lengths.data(), params.bin_.data(), binary_result ? 1 : 0);
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_FATAL_ERROR && reads_only_ && outside_tx && Broken() && EnsureConnected().ok()) {
    // A read on a connection that was lost meanwhile: run on a new one (reads repeat safely).
    if (r) PQclear(r);
    r = PQexecParams(conn_, sql.c_str(), static_cast<int>(n), nullptr, values.data(),
                     lengths.data(), params.bin_.data(), binary_result ? 1 : 0);
    st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  }
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    Status s = Error(r, "SQL");
    if (r) PQclear(r);
    return s;
  }
  return PgResult(r);
}

Status PgConn::ExecScript(const std::string& sql) {
  if (Broken()) return Status::IOError("PostgreSQL unavailable: " + url_.display);
  PGresult* r = PQexec(conn_, sql.c_str());
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  Status s = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? Status::OK() : Error(r, "SQL");
  if (r) PQclear(r);
  return s;
}

}  // namespace robotni::store::postgres
