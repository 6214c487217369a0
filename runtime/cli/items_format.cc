#include "cli/items_format.h"

#include "core/iso_time.h"
#include "core/json_limits.h"

#include <ctime>

#include "core/base64.h"
#include "core/sha256.h"

namespace robotni::cli::items {

namespace {

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

nlohmann::ordered_json JsonOrString(const std::string& text) {
  if (text.empty()) return nullptr;
  if (JsonNestedTooDeep(text)) return text;  // shown as text, never copied as a value
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(text, nullptr, false);
  if (j.is_discarded()) return text;
  return j;
}

nlohmann::ordered_json OptString(const std::string& s) {
  if (s.empty()) return nullptr;
  return s;
}

nlohmann::ordered_json OptTime(int64_t ms) {
  if (ms == 0) return nullptr;
  return ms;
}

Status Bad(const std::string& msg) { return Status::InvalidArgument(msg); }

// An integer field that is absent or null keeps `*out`.
Status ReadInt(const nlohmann::ordered_json& obj, const char* key, int min, int* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::OK();
  if (!it->is_number_integer()) return Bad(std::string(key) + ": expected an integer");
  int64_t v = it->get<int64_t>();
  if (v < min || v > INT32_MAX)
    return Bad(std::string(key) + ": " + std::to_string(v) + " is out of range (" +
               std::to_string(min) + ".." + std::to_string(INT32_MAX) + ")");
  *out = static_cast<int>(v);
  return Status::OK();
}

}  // namespace

std::string FormatTime(int64_t ms) { return ms == 0 ? "-" : FormatIsoTime(ms); }

nlohmann::ordered_json ItemToJson(const ItemInfo& it) {
  nlohmann::ordered_json j;
  j["id"] = it.id;
  j["queue"] = it.queue;
  j["state"] = it.state;
  j["payload"] = JsonOrString(it.payload_json.empty() ? "null" : it.payload_json);
  j["priority"] = it.priority;
  j["attempt"] = it.attempt;
  j["max_attempts"] = it.max_attempts;
  j["parent_id"] = OptString(it.parent_id);
  j["idempotency_key"] = OptString(it.idempotency_key);
  j["lease_owner"] = OptString(it.lease_owner);
  j["lease_expires_ms"] = OptTime(it.lease_expires_ms);
  j["created_ms"] = OptTime(it.created_ms);
  j["not_before_ms"] = OptTime(it.not_before_ms);
  j["started_ms"] = OptTime(it.started_ms);
  j["finished_ms"] = OptTime(it.finished_ms);
  j["updated_ms"] = OptTime(it.updated_ms);
  j["result"] = JsonOrString(it.result_json);
  j["exception_type"] = OptString(it.exception_type);
  j["error_code"] = OptString(it.error_code);
  j["error_message"] = OptString(it.error_message);
  j["traceback"] = OptString(it.traceback);
  j["cancel_requested"] = it.cancel_requested;
  j["lease_token"] = it.lease_token;
  // What the service or an import kept with the item (an Action Server item's own id,
  // state and times), null when nothing.
  j["meta"] = it.meta_json.empty() ? nlohmann::ordered_json() : JsonOrString(it.meta_json);
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  for (const auto& f : it.file_details)
    files.push_back({{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}});
  j["files"] = std::move(files);
  return j;
}

nlohmann::ordered_json TimelineToJson(const std::vector<TimelineEvent>& timeline) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& e : timeline)
    out.push_back(
        {{"at_ms", e.at_ms}, {"event", e.event}, {"attempt", e.attempt}, {"message", e.message}});
  return out;
}

StatusOr<EnqueueRequest> ParseExportLine(std::string_view line, const std::string& queue_override) {
  if (JsonNestedTooDeep(line)) return Bad("the line " + JsonTooDeepMessage());
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(line);
  } catch (const nlohmann::ordered_json::exception& e) {  // parse_error, out_of_range (1e400)
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at ...": keep the readable part.
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return Bad("malformed JSON: " + what);
  }
  if (!j.is_object()) return Bad(std::string("expected a JSON object, got ") + j.type_name());
  EnqueueRequest item;
  if (!queue_override.empty()) {
    item.queue = queue_override;
  } else {
    auto q = j.find("queue");
    if (q == j.end() || !q->is_string() || q->get<std::string>().empty())
      return Bad("queue: expected a non-empty string (or pass --queue)");
    item.queue = q->get<std::string>();
  }
  if (auto p = j.find("payload"); p != j.end()) item.payload_json = p->dump();
  ROBOTNI_RETURN_IF_ERROR(ReadInt(j, "priority", INT32_MIN, &item.priority));
  ROBOTNI_RETURN_IF_ERROR(ReadInt(j, "max_attempts", 1, &item.max_attempts));
  if (auto k = j.find("idempotency_key"); k != j.end() && !k->is_null()) {
    if (!k->is_string()) return Bad("idempotency_key: expected a string or null");
    item.idempotency_key = k->get<std::string>();
  }
  if (item.idempotency_key.empty()) {
    if (auto id = j.find("id"); id != j.end() && !id->is_null()) {
      if (id->is_string())
        item.idempotency_key = "import:" + id->get<std::string>();
      else if (id->is_number_integer())
        item.idempotency_key = "import:" + id->dump();
      else
        return Bad("id: expected a string or an integer");
    }
  }
  if (auto files = j.find("files"); files != j.end() && !files->is_null()) {
    if (!files->is_array()) return Bad("files: expected an array");
    for (size_t i = 0; i < files->size(); ++i) {
      const auto& f = (*files)[i];
      std::string at = "files[" + std::to_string(i) + "]";
      if (!f.is_object()) return Bad(at + ": expected an object");
      auto name = f.find("name");
      if (name == f.end() || !name->is_string()) return Bad(at + ".name: expected a string");
      std::string file_name = name->get<std::string>(), file_content;
      if (Status s = ValidateItemFileName(file_name); !s.ok())
        return Bad(at + ".name: " + s.message());
      if (item.files.count(file_name)) return Bad(at + ".name: '" + file_name + "' given twice");
      auto content = f.find("content_base64");
      if (content == f.end() || !content->is_string())
        return Bad(at + ".content_base64: expected a base64 string");
      if (!Base64Decode(content->get<std::string>(), &file_content))
        return Bad(at + ".content_base64: not valid base64");
      if (auto sha = f.find("sha256"); sha != f.end() && !sha->is_null()) {
        if (!sha->is_string()) return Bad(at + ".sha256: expected a hex string");
        if (core::Sha256Hex(file_content) != sha->get<std::string>())
          return Bad(at + ".sha256: does not match the content of '" + file_name + "'");
      }
      item.files.emplace(std::move(file_name), std::move(file_content));
    }
  }
  return item;
}

std::string Table::Render() const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], Utf8Length(row[c]));
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line.append(widths[c] - Utf8Length(row[c]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

std::string Abbreviate(std::string_view s, size_t max) {
  std::string out;
  size_t chars = 0;
  bool cut = false;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    bool starts_char = (c & 0xC0) != 0x80;
    if (starts_char) {
      if (chars == max) {
        cut = true;
        break;
      }
      ++chars;
    }
    out += c < 0x20 || c == 0x7F ? ' ' : static_cast<char>(c);
  }
  if (cut && max >= 3) {
    // Drop three characters to make room for "...".
    for (int k = 0; k < 3 && !out.empty(); ++k) {
      while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80)
        out.pop_back();
      if (!out.empty()) out.pop_back();
    }
    out += "...";
  }
  return out;
}

}  // namespace robotni::cli::items
