#ifndef ROBOTNI_RUNTIME_EXEC_INPUT_SEED_H_
#define ROBOTNI_RUNTIME_EXEC_INPUT_SEED_H_

// Reads a devdata work-items.json (robocorp FileAdapter format, compat §3):
// [{"payload": <any JSON>, "files": {"<name>": "<path relative to the file>"}}, ...]
// into new items for `queue`. Errors name the file, the item index and the field.

#include <filesystem>
#include <string>
#include <vector>

#include "store/store.h"

namespace robotni::exec {

StatusOr<std::vector<store::NewItem>> ReadWorkItemsFile(const std::filesystem::path& path,
                                                        const std::string& queue,
                                                        int64_t max_file_bytes);

}  // namespace robotni::exec

#endif  // ROBOTNI_RUNTIME_EXEC_INPUT_SEED_H_
