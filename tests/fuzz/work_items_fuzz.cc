// libFuzzer target for work-items JSON: the same bytes go to both readers.
// - As a devdata work-items.json (exec::ReadWorkItemsFile, what `robotni run` seeds a queue
//   from): written to a file in a temp dir that also holds two files an item can attach
//   ("files": {"n": "a.txt"} / "sub/b.bin").
// - As `robotni items import` JSON lines (cli::items::ParseExportLine), line by line as
//   RunImport splits them, with the line's own queue and with --queue.
// Checks: what is accepted holds valid JSON payloads, valid file names and the queue asked
// for; what is refused says why.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cli/items_format.h"
#include "exec/input_seed.h"
#include "store/store.h"

#define FUZZ_CHECK(cond)  \
  do {                    \
    if (!(cond)) abort(); \
  } while (0)

namespace fs = std::filesystem;

// robotni/runtime.h's, defined in service/runtime.cc (not linked here) as this same call.
namespace robotni {
Status ValidateItemFileName(const std::string& name) { return store::ValidateFileName(name); }
}  // namespace robotni

namespace {

using robotni::EnqueueRequest;
using robotni::StatusOr;

fs::path& Dir() {
  static fs::path dir;
  return dir;
}

void RemoveDir() {
  std::error_code ec;
  fs::remove_all(Dir(), ec);
}

bool ValidJson(const std::string& text) {
  return !nlohmann::json::parse(text, nullptr, false).is_discarded();
}

void CheckFile(const uint8_t* data, size_t size) {
  fs::path file = Dir() / "work-items.json";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto items = robotni::exec::ReadWorkItemsFile(file, "fuzz", 1 << 16);
  if (!items.ok()) {
    FUZZ_CHECK(!items.status().message().empty());
    return;
  }
  FUZZ_CHECK(!items->empty());
  for (const auto& item : *items) {
    FUZZ_CHECK(item.queue == "fuzz");
    FUZZ_CHECK(ValidJson(item.payload_json));
    for (const auto& f : item.files) FUZZ_CHECK(robotni::store::ValidateFileName(f.name).ok());
  }
}

void CheckLine(std::string_view line, const std::string& queue) {
  StatusOr<EnqueueRequest> item = robotni::cli::items::ParseExportLine(line, queue);
  if (!item.ok()) {
    FUZZ_CHECK(!item.status().message().empty());
    return;
  }
  FUZZ_CHECK(!item->queue.empty());
  FUZZ_CHECK(queue.empty() || item->queue == queue);
  FUZZ_CHECK(ValidJson(item->payload_json));
  FUZZ_CHECK(item->max_attempts >= 1);
  for (const auto& [name, content] : item->files)
    FUZZ_CHECK(robotni::store::ValidateFileName(name).ok());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // tmpfs when there is one: ext4 writes back a truncated and rewritten file at close, which
  // took most of an execution.
  std::error_code ec;
  fs::path base =
      fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
  std::string tmpl = (base / "robotni-fuzz-XXXXXX").string();
  FUZZ_CHECK(mkdtemp(tmpl.data()) != nullptr);
  Dir() = tmpl;
  fs::create_directory(Dir() / "sub");
  std::ofstream(Dir() / "a.txt") << "a file\n";
  std::ofstream(Dir() / "sub" / "b.bin", std::ios::binary) << std::string("\0\1\2", 3);
  atexit(RemoveDir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckFile(data, size);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    CheckLine(line, "");
    CheckLine(line, "fuzz");
  }
  return 0;
}
