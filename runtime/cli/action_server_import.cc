#include "cli/action_server_import.h"

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

namespace robotni::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct FinalizeStmt {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;
using Stmt = std::unique_ptr<sqlite3_stmt, FinalizeStmt>;

std::string Text(sqlite3_stmt* s, int col) {
  const unsigned char* p = sqlite3_column_text(s, col);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s, col)) : "";
}
bool IsNull(sqlite3_stmt* s, int col) { return sqlite3_column_type(s, col) == SQLITE_NULL; }

StatusOr<Stmt> Prepare(sqlite3* db, const std::string& sql, const std::string& path) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
    return Status::InvalidArgument(path + ": " + sqlite3_errmsg(db));
  return Stmt(s);
}

// The columns a table has, empty when there is no such table.
StatusOr<std::set<std::string>> Columns(sqlite3* db, const std::string& table,
                                        const std::string& path) {
  auto st = Prepare(db, "SELECT name FROM pragma_table_info('" + table + "')", path);
  if (!st.ok()) return st.status();
  std::set<std::string> out;
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) out.insert(Text(st->get(), 0));
  if (rc != SQLITE_DONE) return Status::InvalidArgument(path + ": " + sqlite3_errmsg(db));
  return out;
}

// An ISO 8601 time as actions-work-items writes it, in ms since the epoch (NULL: not set).
std::string Ms(const std::string& col) {
  return "CAST(round((julianday(" + col + ") - 2440587.5) * 86400000.0) AS INTEGER)";
}

// A file's path as the database has it: absolute, or relative to where the adapter ran
// (files_dir defaults to ./work_item_files): the database's directory, else the current one.
std::optional<fs::path> FindFile(const std::string& recorded, const fs::path& db_dir) {
  fs::path p(recorded);
  std::error_code ec;
  if (p.is_absolute()) return fs::is_regular_file(p, ec) ? std::optional(p) : std::nullopt;
  for (const fs::path& c : {db_dir / p, fs::current_path(ec) / p})
    if (fs::is_regular_file(c, ec)) return c;
  return std::nullopt;
}

}  // namespace

StatusOr<ActionServerItems> ReadActionServerDb(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::NotFound(path + ": no such file");
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK)
    return Status::InvalidArgument(path + ": cannot open: " + sqlite3_errstr(rc));
  auto cols = Columns(db.get(), "work_items", path);
  if (!cols.ok()) return cols.status();
  for (const char* need : {"id", "queue_name", "state"}) {
    if (!cols->count(need))
      return Status::InvalidArgument(
          path +
          " is not an Action Server / actions-work-items database (no work_items table "
          "with id, queue_name and state)");
  }
  // Columns of actions-work-items 0.2; one a version lacks reads as NULL.
  auto col = [&](const std::string& c) { return cols->count(c) ? c : "NULL"; };
  const std::string sql =
      "SELECT id, queue_name, " + col("parent_id") + ", state, " + col("payload") + ", " +
      col("exception_type") + ", " + col("error_code") + ", " + col("error_message") + ", " +
      col("created_at") + ", " + col("updated_at") + ", " + col("reserved_at") + ", " +
      col("completed_at") + ", " + Ms(col("created_at")) + ", " + Ms(col("reserved_at")) + ", " +
      Ms(col("completed_at")) + " FROM work_items ORDER BY " + col("created_at") + ", rowid";
  auto rows = Prepare(db.get(), sql, path);
  if (!rows.ok()) return rows.status();

  ActionServerItems out;
  std::map<std::string, int> index;  // their id -> entry
  std::vector<std::string> parents;  // their parent id per entry ("" = none)
  std::vector<json> metas;
  sqlite3_stmt* r = rows->get();
  while ((rc = sqlite3_step(r)) == SQLITE_ROW) {
    const std::string id = Text(r, 0);
    const std::string where = path + ": work item " + id + ": ";
    if (index.count(id)) return Status::InvalidArgument(where + "the id appears twice");
    ImportRequest req;
    req.item.queue = Text(r, 1);
    req.item.idempotency_key = "action-server:" + id;
    const std::string state = Text(r, 3);
    // actions-work-items' load_payload gives {} for a NULL payload.
    req.item.payload_json = IsNull(r, 4) ? "{}" : Text(r, 4);
    if (!json::accept(req.item.payload_json))
      return Status::InvalidArgument(where + "payload is not JSON");
    json meta = {{"id", id}, {"state", state}};
    const char* times[] = {"created_at", "updated_at", "reserved_at", "completed_at"};
    for (int k = 0; k < 4; ++k)
      if (!IsNull(r, 8 + k)) meta[times[k]] = Text(r, 8 + k);
    req.created_ms = sqlite3_column_int64(r, 12);
    req.started_ms = sqlite3_column_int64(r, 13);
    req.finished_ms = sqlite3_column_int64(r, 14);
    req.attempt = req.started_ms > 0 ? 1 : 0;
    std::string note =
        "imported from Action Server database " + path + " (id " + id + ", state " + state + ")";
    if (state == "IN_PROGRESS") {
      // Nobody will finish it: back in the queue, as actions-work-items'
      // recover_orphaned_work_items does with an orphaned item.
      req.state = "PENDING";
      req.started_ms = 0;
      req.attempt = 0;
      note += "; nobody holds it here, so it is PENDING again";
      out.were_in_progress++;
    } else {
      auto canonical = ParseItemState(state);
      if (!canonical.ok() || *canonical == "RESERVED")
        return Status::InvalidArgument(where + "unknown state '" + state + "'");
      req.state = *canonical;
    }
    if (req.state == "FAILED") {
      req.exception_type = Text(r, 5);
      if (req.exception_type != "BUSINESS") req.exception_type = "APPLICATION";
    }
    req.error_code = Text(r, 6);
    req.error_message = Text(r, 7);
    if (!IsNull(r, 5) && req.state != "FAILED") meta["exception_type"] = Text(r, 5);
    req.note = std::move(note);
    index[id] = static_cast<int>(out.items.size());
    parents.push_back(IsNull(r, 2) ? "" : Text(r, 2));
    metas.push_back({{"action_server", std::move(meta)}});
    out.items.push_back(std::move(req));
  }
  if (rc != SQLITE_DONE) return Status::InvalidArgument(path + ": " + sqlite3_errmsg(db.get()));
  for (size_t i = 0; i < out.items.size(); ++i) {
    if (parents[i].empty()) continue;
    auto p = index.find(parents[i]);
    metas[i]["action_server"]["parent_id"] = parents[i];  // kept even when it is not here
    if (p != index.end()) out.items[i].parent_index = p->second;
  }

  auto file_cols = Columns(db.get(), "work_item_files", path);
  if (!file_cols.ok()) return file_cols.status();
  if (!file_cols->empty()) {
    const fs::path db_dir = fs::absolute(fs::path(path), ec).parent_path();
    auto fcol = [&](const std::string& c) { return file_cols->count(c) ? c : "NULL"; };
    auto files = Prepare(db.get(),
                         "SELECT work_item_id, name, " + fcol("original_name") +
                             ", file_path FROM work_item_files ORDER BY work_item_id, name",
                         path);
    if (!files.ok()) return files.status();
    sqlite3_stmt* f = files->get();
    while ((rc = sqlite3_step(f)) == SQLITE_ROW) {
      const std::string item_id = Text(f, 0), name = Text(f, 1), recorded = Text(f, 3);
      const std::string where = path + ": work item " + item_id + ": file '" + name + "': ";
      auto it = index.find(item_id);
      if (it == index.end()) return Status::InvalidArgument(where + "no such work item");
      auto found = FindFile(recorded, db_dir);
      if (!found)
        return Status::InvalidArgument(where + recorded + " not found (looked beside " +
                                       db_dir.string() + " and in the current directory)");
      std::ifstream in(*found, std::ios::binary);
      std::stringstream content;
      content << in.rdbuf();
      if (!in.good() && !in.eof())
        return Status::InvalidArgument(where + "cannot read " + found->string());
      auto& req = out.items[it->second];
      req.item.files[name] = content.str();
      json& meta = metas[it->second]["action_server"];
      meta["files"][name] = {{"file_path", recorded}};
      if (!IsNull(f, 2) && Text(f, 2) != name) meta["files"][name]["original_name"] = Text(f, 2);
      out.files++;
    }
    if (rc != SQLITE_DONE) return Status::InvalidArgument(path + ": " + sqlite3_errmsg(db.get()));
  }
  for (size_t i = 0; i < out.items.size(); ++i) out.items[i].meta_json = metas[i].dump();
  return out;
}

}  // namespace robotni::cli
