#include "exec/input_seed.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/json_limits.h"

namespace robotni::exec {

namespace {
StatusOr<std::string> ReadAll(const std::filesystem::path& p, int64_t limit) {
  std::error_code ec;
  auto size = std::filesystem::file_size(p, ec);
  if (ec) return Status::IOError(p.string() + ": " + ec.message());
  if (limit > 0 && static_cast<int64_t>(size) > limit)
    return Status::InvalidArgument(p.string() + ": " + std::to_string(size) +
                                   " bytes is over the file size limit of " +
                                   std::to_string(limit));
  std::ifstream f(p, std::ios::binary);
  if (!f) return Status::IOError("cannot read " + p.string());
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

StatusOr<std::vector<store::NewItem>> ReadWorkItemsFile(const std::filesystem::path& path,
                                                        const std::string& queue,
                                                        int64_t max_file_bytes) {
  auto text = ReadAll(path, 64 << 20);
  if (!text.ok()) return text.status();
  const std::string where = path.string();
  // Checked before it is parsed: copying or dumping a payload recurses once per level.
  if (JsonNestedTooDeep(*text)) return Status::InvalidArgument(where + ": " + JsonTooDeepMessage());
  // ordered_json: payloads keep their keys in the order the file has them.
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(*text, nullptr, false);
  if (doc.is_discarded()) return Status::InvalidArgument(where + ": not valid JSON");
  if (!doc.is_array() || doc.empty())
    return Status::InvalidArgument(where + ": expected a non-empty list of work items");
  std::vector<store::NewItem> items;
  for (size_t i = 0; i < doc.size(); ++i) {
    const auto& entry = doc[i];
    std::string at = where + ": item " + std::to_string(i);
    if (!entry.is_object()) return Status::InvalidArgument(at + ": expected an object");
    store::NewItem item;
    item.queue = queue;
    item.payload_json = entry.contains("payload") ? entry["payload"].dump() : "null";
    if (entry.contains("files")) {
      const auto& files = entry["files"];
      if (!files.is_object())
        return Status::InvalidArgument(at + ": files: expected an object of name: path");
      for (const auto& [name, rel] : files.items()) {
        if (Status s = store::ValidateFileName(name); !s.ok())
          return Status::InvalidArgument(at + ": files: " + s.message());
        if (!rel.is_string())
          return Status::InvalidArgument(at + ": files." + name + ": expected a path");
        std::filesystem::path p = rel.get<std::string>();
        if (p.is_relative()) p = path.parent_path() / p;
        auto content = ReadAll(p, max_file_bytes);
        if (!content.ok())
          return Status::InvalidArgument(at + ": files." + name + ": " +
                                         content.status().message());
        item.files.push_back({name, std::move(content).value()});
      }
    }
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace robotni::exec
