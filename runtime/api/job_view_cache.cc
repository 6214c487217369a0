#include "api/job_view_cache.h"

namespace robotni::api {

bool JobViewCache::Unchanged() {
  std::optional<store::CommitStamp> now =
      store_ != nullptr ? store_->ReadCommitStamp() : std::nullopt;
  if (now && seen_ && *now == *seen_) return true;
  views_.clear();
  ++generation_;
  seen_ = now;  // unknown (a commit writing it, or no stamps): nothing is kept
  return false;
}

const JobViewCache::View* JobViewCache::Find(std::string_view id) {
  if (!Unchanged()) return nullptr;
  auto it = views_.find(id);
  return it == views_.end() ? nullptr : &it->second;
}

uint64_t JobViewCache::Begin() {
  Unchanged();
  return generation_;
}

void JobViewCache::Put(uint64_t token, std::string id, View view) {
  if (!Unchanged() || generation_ != token) return;
  if (views_.size() >= max_views_) views_.clear();  // rare: many jobs polled, none changing
  views_.insert_or_assign(std::move(id), std::move(view));
}

}  // namespace robotni::api
