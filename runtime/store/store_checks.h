#ifndef ROBOTNI_RUNTIME_STORE_STORE_CHECKS_H_
#define ROBOTNI_RUNTIME_STORE_STORE_CHECKS_H_

// What every backend checks before it writes, and the errors it answers with: one rule and
// one message on SQLite and PostgreSQL (sqlite_store.cc, pg_store.cc). Plain functions.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "store/store.h"

namespace robotni::store {

// An item id: the decimal text of an int64 > 0.
std::optional<int64_t> ParseId(const std::string& s);
Status NoItem(const std::string& id);  // NotFound "no work item 'ID'"
Status LeaseLost(const Lease& lease);  // Conflict "lease lost: ..."

// "" when `json` is acceptable (at most max_bytes, parses, nests at most core/json_limits.h's
// depth), else why not: the tail of the error message.
std::string JsonProblem(const std::string& json, int64_t max_bytes);
// InvalidArgument "<what> <problem>" when JsonProblem finds one.
Status CheckJson(const std::string& json, const std::string& what, int64_t max_bytes);

constexpr size_t kNoIndex = static_cast<size_t>(-1);
// A new item (or an output): its queue, payload, meta, attempts, ids and files within
// `options`' limits. Messages start with `what`, and "[index]" unless index is kNoIndex.
Status CheckNewItem(const NewItem& item, const StoreOptions& options, const char* what,
                    size_t index = kNoIndex);
// A completion's result, payload and outputs.
Status CheckCompletion(const Completion& c, const StoreOptions& options);
Status CheckReserveRequest(const ReserveRequest& req);

// The delay before retrying after failed attempt `attempt` (1-based): base * 2^(attempt-1),
// capped at max_delay_ms, then jittered by +-jitter.
int64_t BackoffMs(const RetryPolicy& policy, int attempt, std::mt19937_64& rng);

}  // namespace robotni::store

#endif  // ROBOTNI_RUNTIME_STORE_STORE_CHECKS_H_
