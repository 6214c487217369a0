#ifndef ROBOTNI_RUNTIME_API_JOB_VIEW_CACHE_H_
#define ROBOTNI_RUNTIME_API_JOB_VIEW_CACHE_H_

// JobViewCache: the rendered JSON and ETag of jobs read lately, kept on the loop thread so a
// GET of a job that has not changed is answered with neither a store read nor a thread
// hand-off (the two were most of its cost; bench/http/run.sh measures it).
//
// A view is kept only while the store is unchanged: before every lookup the cache reads the
// store's commit stamp (WorkItemStore::ReadCommitStamp: on SQLite the WAL-index header that
// each commit, by any connection of any process, rewrites before the commit returns; a
// memory read, no system call) and forgets every view when it differs from the stamp its
// views were read under. A request sent after a commit was known to its client can so never
// get a view from before that commit. A view read from the store is kept only when the stamp
// did not change between the start of its read and its return (Begin / Put). A store
// without stamps (PostgreSQL) keeps nothing: every GET reads it.
//
// Thread-safety: loop thread only.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/store.h"

namespace robotni::api {

class JobViewCache {
 public:
  struct View {
    std::string etag;
    std::string body;  // the 200 answer's JSON
  };

  // `store` (null: keeps nothing) outlives the cache.
  explicit JobViewCache(const store::WorkItemStore* store, size_t max_views = 4096)
      : store_(store), max_views_(max_views) {}

  // The view of job `id`, or null when it is not kept (or the store changed since).
  const View* Find(std::string_view id);
  // Taken before a store read whose result may be kept.
  uint64_t Begin();
  // Keeps `view` of `id` unless the store changed since Begin returned `token`.
  void Put(uint64_t token, std::string id, View view);
  size_t size() const { return views_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  // Reads the store's stamp; false (every view forgotten) when it changed or is unknown.
  bool Unchanged();

  const store::WorkItemStore* store_;
  size_t max_views_;
  std::optional<store::CommitStamp> seen_;  // the stamp the views were read under
  uint64_t generation_ = 0;                 // counts the changes seen
  std::unordered_map<std::string, View, Hash, std::equal_to<>> views_;
};

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_JOB_VIEW_CACHE_H_
