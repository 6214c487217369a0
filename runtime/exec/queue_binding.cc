#include "exec/queue_binding.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

#include "core/json_limits.h"

namespace robotni::exec {

using store::LeaseOf;

namespace {

constexpr int kIdBlock = 1024;      // the first block of output ids
constexpr int kMaxIdBlock = 16384;  // later blocks double up to this
constexpr int kIdLowWater = 512;    // ids left when the next block is asked for
constexpr int64_t kReserveAheadNs = 5'000'000;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Status CheckPayload(const std::string& json, int64_t max_bytes) {
  if (static_cast<int64_t>(json.size()) > max_bytes)
    return Status::InvalidArgument("payload of " + std::to_string(json.size()) +
                                   " bytes is over the limit of " + std::to_string(max_bytes));
  if (std::string why = JsonDepthProblem(json); !why.empty())
    return Status::InvalidArgument("payload " + why);
  return Status::OK();
}

}  // namespace

QueueBinding::QueueBinding(StoreOpener open_store, QueueBindingOptions options)
    : open_store_(std::move(open_store)), options_(std::move(options)) {}

QueueBinding::~QueueBinding() {
  Finish(false);
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  if (completer_.thread.joinable()) completer_.thread.join();
  if (reserver_.thread.joinable()) reserver_.thread.join();
}

void QueueBinding::Background(Lane& lane, std::function<void()> fn) {
  lane.jobs.push_back(std::move(fn));
  cv_.notify_all();
}

void QueueBinding::BackgroundLoop(Lane& lane) {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [&] { return stop_ || !lane.jobs.empty(); });
    if (lane.jobs.empty()) return;  // stop_ and nothing left
    auto job = std::move(lane.jobs.front());
    lane.jobs.pop_front();
    l.unlock();
    job();
    l.lock();
  }
}

StatusOr<store::WorkItemStore*> QueueBinding::Store() {
  if (store_) return store_;
  auto s = open_store_();
  if (!s.ok()) return s.status();
  store_ = *s;
  heartbeat_ = std::thread([this] { HeartbeatLoop(); });
  completer_.thread = std::thread([this] { BackgroundLoop(completer_); });
  reserver_.thread = std::thread([this] { BackgroundLoop(reserver_); });
  return store_;
}

void QueueBinding::HeartbeatLoop() {
  using Clock = std::chrono::steady_clock;
  const auto period = std::chrono::milliseconds(std::max<int64_t>(options_.lease_ms / 3, 10));
  const auto max_delay = std::chrono::milliseconds(options_.max_completion_delay_ms);
  std::unique_lock<std::mutex> l(mu_);
  auto next_beat = Clock::now() + period;
  while (!stop_) {
    // Also wakes for releases that waited max_delay for their batch to fill (a slow
    // task): they are sent then, whatever the batch size.
    auto until = next_beat;
    if (!pending_.empty()) until = std::min(until, pending_since_ + max_delay);
    cv_.wait_until(l, until);
    if (stop_) break;
    auto now = Clock::now();
    if (!pending_.empty() && now >= pending_since_ + max_delay) (void)FlushLocked(l, false);
    if (now < next_beat) continue;
    next_beat = now + period;
    std::vector<store::Lease> leases;
    for (const auto& it : prefetched_) leases.push_back(LeaseOf(it));
    for (const auto& [id, h] : held_) leases.push_back(LeaseOf(h.item));
    if (leases.empty()) continue;
    l.unlock();
    Status s = store_->HeartbeatBatch(leases, options_.lease_ms);
    l.lock();
    if (!s.ok()) counters_.lost_leases++;
  }
}

StatusOr<std::optional<std::string>> QueueBinding::ReserveInput() {
  std::unique_lock<std::mutex> l(mu_);
  // The task's pace: its own time per item, from the last hand-out to this call (our
  // waits for the store are not part of it).
  if (last_handout_ns_) pace_ns_ = (pace_ns_ * 7 + (NowNs() - last_handout_ns_)) / 8;
  if (finished_) return Status::InvalidArgument("the run has finished");
  auto st = Store();
  if (!st.ok()) return st.status();
  cv_.wait(l, [&] { return !reserving_ || !prefetched_.empty(); });
  if (prefetched_.empty() && !queue_empty_) {
    store::ReserveRequest req = NextRequest();
    auto items = (*st)->Reserve(req);
    if (!items.ok()) return items.status();
    if (items->empty() && options_.seed_empty_input && counters_.reserved == 0) {
      options_.seed_empty_input = false;
      store::NewItem seed;
      seed.queue = options_.input_queue;
      auto id = (*st)->Create(seed);
      if (!id.ok()) return id.status();
      items = (*st)->Reserve(req);
      if (!items.ok()) return items.status();
    }
    if (items->empty()) queue_empty_ = true;
    for (auto& it : *items) prefetched_.push_back(std::move(it));
  }
  if (prefetched_.empty()) {
    // Come back empty only once; a later reserve looks at the store again.
    queue_empty_ = false;
    return std::optional<std::string>();
  }
  store::Item item = std::move(prefetched_.front());
  prefetched_.pop_front();
  // Reserve the next batch once what is left would last less than kReserveAheadNs at
  // the task's pace: a reserve waits in the writer's queue behind a completion batch.
  last_handout_ns_ = NowNs();
  if (!reserving_ && !queue_empty_ &&
      (prefetched_.empty() ||
       static_cast<int64_t>(prefetched_.size()) * pace_ns_ < kReserveAheadNs))
    StartReserveAhead();
  std::string id = item.id;
  held_[id] = Held{std::move(item), {}};
  counters_.reserved++;
  return std::optional<std::string>(id);
}

store::ReserveRequest QueueBinding::NextRequest() {
  store::ReserveRequest req;
  req.queues = {options_.input_queue};
  req.owner = options_.owner;
  req.lease_ms = options_.lease_ms;
  req.lean = true;  // ids, payloads, files and leases are all a task's items need here
  // At most about twice kReserveAheadNs of work at the task's pace: a slow task holds
  // few leases (other consumers get the rest), a fast one gets up to max_prefetch.
  req.max_items = next_batch_;
  if (pace_ns_ > 0)
    req.max_items =
        static_cast<int>(std::clamp<int64_t>(2 * kReserveAheadNs / pace_ns_, 1, next_batch_));
  next_batch_ = std::min(next_batch_ * 2, options_.max_prefetch);
  return req;
}

void QueueBinding::StartReserveAhead() {
  reserving_ = true;
  store::ReserveRequest req = NextRequest();
  Background(reserver_, [this, req] {
    auto items = store_->Reserve(req);
    std::lock_guard<std::mutex> l(mu_);
    if (items.ok()) {
      if (items->empty()) queue_empty_ = true;
      for (auto& it : *items) prefetched_.push_back(std::move(it));
    }  // on error the next ReserveInput reserves synchronously and reports it
    reserving_ = false;
    cv_.notify_all();
  });
}

Status QueueBinding::ReleaseInput(const std::string& id, const Release& release) {
  std::unique_lock<std::mutex> l(mu_);
  auto it = held_.find(id);
  if (it == held_.end()) {
    if (released_.count(id)) return Status::InvalidArgument("Work item already released: " + id);
    return Status::InvalidArgument("work item " + id + " is not held by this run");
  }
  if (interrupted_) return Status::OK();  // kept held: Finish gives it back unspent
  store::Completion c;
  c.lease = LeaseOf(it->second.item);
  c.ok = release.done;
  if (!release.done) {
    c.exception_type = release.type;
    c.error_code = release.code.value_or("");
    c.error_message = release.message.value_or("");
  }
  c.outputs = std::move(it->second.outputs);
  for (const auto& o : c.outputs) deferred_parent_.erase(o.id);
  released_.emplace(id, Fence{c.lease.attempt, c.lease.token});
  held_.erase(it);
  counters_.released++;
  if (pending_.empty()) {
    pending_since_ = std::chrono::steady_clock::now();
    cv_.notify_all();  // the heartbeat thread sends it after max_completion_delay_ms
  }
  pending_.push_back(std::move(c));
  if (static_cast<int>(pending_.size()) >= options_.completion_batch) {
    cv_.wait(l, [&] { return in_flight_ < 2; });  // back-pressure
    return FlushLocked(l, /*wait=*/false);
  }
  return Status::OK();
}

Status QueueBinding::FlushLocked(std::unique_lock<std::mutex>& l, bool wait) {
  if (!store_) return Status::OK();
  if (!pending_.empty()) {
    auto batch = std::make_shared<std::vector<store::Completion>>();
    batch->swap(pending_);
    in_flight_++;
    Background(completer_, [this, batch] {
      std::vector<Status> results = store_->CompleteBatch(*batch);
      std::lock_guard<std::mutex> g(mu_);
      for (size_t i = 0; i < results.size(); ++i) {
        if (results[i].ok()) continue;
        if (results[i].IsConflict()) counters_.lost_leases++;
        if (async_error_.ok())
          async_error_ = Status::Conflict("work item " + (*batch)[i].lease.item_id +
                                          ": release not committed: " + results[i].message());
      }
      in_flight_--;
      cv_.notify_all();
    });
  }
  if (!wait) return Status::OK();
  cv_.wait(l, [&] { return in_flight_ == 0 && !reserving_; });
  Status s = async_error_;
  async_error_ = Status::OK();
  return s;
}

Status QueueBinding::Flush() {
  std::unique_lock<std::mutex> l(mu_);
  ROBOTNI_RETURN_IF_ERROR(FlushLocked(l, /*wait=*/true));
  if (!store_) return Status::OK();
  ROBOTNI_RETURN_IF_ERROR(store_->Sync());
  if (options_.checkpoint_after_flush) store_->CheckpointWhenIdle();
  return Status::OK();
}

StatusOr<std::string> QueueBinding::NextOutputId(std::unique_lock<std::mutex>& l) {
  if (ids_left_ == 0) {
    cv_.wait(l, [&] { return !allocating_; });
    if (spare_count_ > 0) {
      next_id_ = spare_first_;
      ids_left_ = spare_count_;
      spare_count_ = 0;
    } else {  // the first block, or the one asked for ahead failed: here and now
      auto first = store_->AllocateIds(kIdBlock);
      if (!first.ok()) return first.status();
      next_id_ = *first;
      ids_left_ = kIdBlock;
      id_block_ = kIdBlock;
    }
  }
  if (ids_left_ <= kIdLowWater && spare_count_ == 0 && !allocating_) {
    allocating_ = true;
    const int n = id_block_ = std::min(id_block_ * 2, kMaxIdBlock);
    Background(reserver_, [this, n] {
      auto first = store_->AllocateIds(n);
      std::lock_guard<std::mutex> g(mu_);
      if (first.ok()) {  // else the next NextOutputId allocates itself and reports it
        spare_first_ = *first;
        spare_count_ = n;
      }
      allocating_ = false;
      cv_.notify_all();
    });
  }
  ids_left_--;
  return std::to_string(next_id_++);
}

StatusOr<std::string> QueueBinding::CreateOutput(const std::string& parent_id,
                                                 std::string payload_json) {
  ROBOTNI_RETURN_IF_ERROR(CheckPayload(payload_json, options_.max_payload_bytes));
  std::unique_lock<std::mutex> l(mu_);
  auto st = Store();
  if (!st.ok()) return st.status();
  store::NewItem out;
  out.queue = options_.output_queue;
  out.payload_json = std::move(payload_json);
  out.parent_id = parent_id;
  auto it = held_.find(parent_id);
  if (it == held_.end()) return CreateLateOutput(l, std::move(out));
  auto id = NextOutputId(l);
  if (!id.ok()) return id.status();
  out.id = *id;
  it->second.outputs.push_back(std::move(out));
  deferred_parent_[*id] = parent_id;
  counters_.outputs++;
  return *id;
}

StatusOr<std::string> QueueBinding::CreateLateOutput(std::unique_lock<std::mutex>& l,
                                                     store::NewItem out) {
  auto r = released_.find(out.parent_id);
  if (r == released_.end())
    return Status::InvalidArgument("work item " + out.parent_id +
                                   " is not an input of this run: an output needs one as parent");
  const store::Lease fence{out.parent_id, options_.owner, r->second.attempt, r->second.token};
  auto id = NextOutputId(l);  // keyed before the insert: a repeat is refused, never a copy
  if (!id.ok()) return id.status();
  out.id = *id;
  // The parent's completion must have committed first: send what is pending and wait for
  // every batch in flight (their errors stay for Flush to report).
  if (!pending_.empty()) ROBOTNI_RETURN_IF_ERROR(FlushLocked(l, /*wait=*/false));
  cv_.wait(l, [&] { return in_flight_ == 0; });
  auto created = store_->CreateOutputOfFinished(fence, out);
  if (created.ok()) counters_.outputs++;
  return created;
}

store::NewItem* QueueBinding::FindDeferred(const std::string& id) {
  auto p = deferred_parent_.find(id);
  if (p == deferred_parent_.end()) return nullptr;
  auto h = held_.find(p->second);
  if (h == held_.end()) return nullptr;
  for (auto& o : h->second.outputs)
    if (o.id == id) return &o;
  return nullptr;
}

StatusOr<std::string> QueueBinding::LoadPayload(const std::string& id) {
  std::unique_lock<std::mutex> l(mu_);
  if (store::NewItem* o = FindDeferred(id)) return o->payload_json;
  if (auto h = held_.find(id); h != held_.end()) return h->second.item.payload_json;
  auto st = Store();
  if (!st.ok()) return st.status();
  auto item = (*st)->Get(id);
  if (!item.ok()) return item.status();
  return item->payload_json;
}

Status QueueBinding::SavePayload(const std::string& id, std::string payload_json) {
  ROBOTNI_RETURN_IF_ERROR(CheckPayload(payload_json, options_.max_payload_bytes));
  std::unique_lock<std::mutex> l(mu_);
  if (store::NewItem* o = FindDeferred(id)) {
    o->payload_json = std::move(payload_json);
    return Status::OK();
  }
  auto h = held_.find(id);
  if (h == held_.end())
    return Status::InvalidArgument("work item " + id + " is not held by this run");
  ROBOTNI_RETURN_IF_ERROR(store_->UpdatePayload(LeaseOf(h->second.item), payload_json));
  h->second.item.payload_json = std::move(payload_json);
  return Status::OK();
}

StatusOr<std::vector<std::string>> QueueBinding::ListFiles(const std::string& id) {
  std::unique_lock<std::mutex> l(mu_);
  std::vector<std::string> names;
  if (store::NewItem* o = FindDeferred(id)) {
    for (const auto& f : o->files) names.push_back(f.name);
  } else if (auto h = held_.find(id); h != held_.end()) {
    for (const auto& f : h->second.item.files) names.push_back(f.name);  // no store read
  } else {
    auto st = Store();
    if (!st.ok()) return st.status();
    auto item = (*st)->Get(id);
    if (!item.ok()) return item.status();
    for (const auto& f : item->files) names.push_back(f.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

StatusOr<std::string> QueueBinding::GetFile(const std::string& id, const std::string& name) {
  std::unique_lock<std::mutex> l(mu_);
  if (store::NewItem* o = FindDeferred(id)) {
    for (const auto& f : o->files)
      if (f.name == name) return f.content;
    return Status::NotFound("No file with name: " + name);
  }
  auto st = Store();
  if (!st.ok()) return st.status();
  return (*st)->GetFile(id, name);
}

Status QueueBinding::AddFile(const std::string& id, const std::string& name, std::string content) {
  ROBOTNI_RETURN_IF_ERROR(store::ValidateFileName(name));
  std::unique_lock<std::mutex> l(mu_);
  if (store::NewItem* o = FindDeferred(id)) {
    for (auto& f : o->files) {
      if (f.name == name) {
        f.content = std::move(content);
        return Status::OK();
      }
    }
    o->files.push_back({name, std::move(content)});
    return Status::OK();
  }
  auto st = Store();
  if (!st.ok()) return st.status();
  int64_t size = static_cast<int64_t>(content.size());
  ROBOTNI_RETURN_IF_ERROR((*st)->AddFile(id, {name, std::move(content)}));
  if (auto h = held_.find(id); h != held_.end()) {
    auto& files = h->second.item.files;
    files.erase(std::remove_if(files.begin(), files.end(),
                               [&](const store::FileRef& f) { return f.name == name; }),
                files.end());
    files.push_back({name, size, ""});
  }
  return Status::OK();
}

Status QueueBinding::RemoveFile(const std::string& id, const std::string& name) {
  std::unique_lock<std::mutex> l(mu_);
  if (store::NewItem* o = FindDeferred(id)) {
    auto f = std::find_if(o->files.begin(), o->files.end(),
                          [&](const store::NewFile& f) { return f.name == name; });
    if (f == o->files.end()) return Status::NotFound("No such file in work item: " + name);
    o->files.erase(f);
    return Status::OK();
  }
  auto st = Store();
  if (!st.ok()) return st.status();
  ROBOTNI_RETURN_IF_ERROR((*st)->RemoveFile(id, name));
  if (auto h = held_.find(id); h != held_.end()) {
    auto& files = h->second.item.files;
    files.erase(std::remove_if(files.begin(), files.end(),
                               [&](const store::FileRef& f) { return f.name == name; }),
                files.end());
  }
  return Status::OK();
}

Status QueueBinding::GiveBack(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = held_.find(id);
  if (it == held_.end())
    return Status::InvalidArgument("work item " + id + " is not held by this run");
  if (!it->second.outputs.empty())
    return Status::InvalidArgument("work item " + id + " has outputs: it cannot be given back");
  prefetched_.push_front(std::move(it->second.item));
  held_.erase(it);
  counters_.reserved--;
  return Status::OK();
}

void QueueBinding::Interrupt() {
  std::lock_guard<std::mutex> l(mu_);
  interrupted_ = true;
}

Status QueueBinding::Finish(bool task_passed, const std::string& failure) {
  std::unique_lock<std::mutex> l(mu_);
  if (finished_ || !store_) {
    finished_ = true;
    return Status::OK();
  }
  finished_ = true;
  if (interrupted_) {
    for (auto& [id, h] : held_) prefetched_.push_back(std::move(h.item));
    held_.clear();
  }
  for (auto& [id, h] : held_) {
    store::Completion c;
    c.lease = LeaseOf(h.item);
    c.ok = task_passed;
    if (!task_passed) {
      c.exception_type = store::ExceptionType::kApplication;
      c.error_message = "the task failed while this item was reserved";
      if (!failure.empty()) c.error_message += ": " + failure;
    }
    // Committed with the release; the store drops them if the item is retried.
    c.outputs = std::move(h.outputs);
    pending_.push_back(std::move(c));
  }
  held_.clear();
  deferred_parent_.clear();
  Status s = FlushLocked(l, /*wait=*/true);
  for (const auto& it : prefetched_) {
    Status u = store_->Unreserve(LeaseOf(it));
    if (s.ok() && !u.ok() && !u.IsConflict()) s = u;
  }
  prefetched_.clear();
  // No store Sync here: every write above waited for its commit, and a checkpoint the
  // flush asked for may be running (Sync would queue behind it).
  return s;
}

QueueBinding::Counters QueueBinding::counters() const {
  std::lock_guard<std::mutex> l(mu_);
  return counters_;
}

}  // namespace robotni::exec
