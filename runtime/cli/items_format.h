#ifndef ROBOTNI_RUNTIME_CLI_ITEMS_FORMAT_H_
#define ROBOTNI_RUNTIME_CLI_ITEMS_FORMAT_H_

// Formatting for `robotni items` (docs/items-cli.md): items as JSON, the JSON-lines
// export format and its parser, base64, times, and aligned text tables.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/base64.h"
#include "robotni/runtime.h"

namespace robotni::cli::items {

using robotni::Base64Decode;
using robotni::Base64Encode;

// "2024-05-01T12:00:00.123Z" (UTC); "-" for 0.
std::string FormatTime(int64_t ms);

// An item as JSON: every field of ItemInfo but meta and the timeline, payload and result
// as JSON values, empty optional strings and unset times as null, files as
// {name, size, sha256}.
nlohmann::ordered_json ItemToJson(const ItemInfo& item);
nlohmann::ordered_json TimelineToJson(const std::vector<TimelineEvent>& timeline);

// Parses one line of an export into a new PENDING item (payload, priority,
// max_attempts, files; idempotency key: the line's own, else "import:<id>").
// `queue_override` replaces the line's queue when not empty. Errors are
// InvalidArgument messages without the line number, e.g. "files[0].name: ...".
StatusOr<EnqueueRequest> ParseExportLine(std::string_view line, const std::string& queue_override);

// Text tables: columns padded to the widest cell (UTF-8 aware), two spaces apart.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// At most `max` characters of `s` on one line (control characters shown as spaces),
// with "..." when cut. UTF-8 aware.
std::string Abbreviate(std::string_view s, size_t max);

}  // namespace robotni::cli::items

#endif  // ROBOTNI_RUNTIME_CLI_ITEMS_FORMAT_H_
