// `robotni items`: inspect and manage the work-item store (being written).
#include "cli/commands.h"

namespace robotni::cli {
void AddItemsCommand(CLI::App& app, CommandBody* body) {}
}  // namespace robotni::cli
