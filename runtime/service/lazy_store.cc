#include "service/lazy_store.h"

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <random>
#include <thread>

#include "core/log.h"

namespace robotni::service {

namespace {

std::string Hostname() {
  char buf[256] = {0};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

}  // namespace

std::string NewOwner(const std::string& suffix) {
  std::random_device rd;
  return "robotni:" + Hostname() + ":" + std::to_string(getpid()) + ":" +
         (suffix.empty() ? std::to_string(rd() % 100000) : suffix);
}

bool OwnerIsDeadHere(const std::string& owner) {
  std::string prefix = "robotni:" + Hostname() + ":";
  if (owner.rfind(prefix, 0) != 0) return false;
  std::string rest = owner.substr(prefix.size());
  pid_t pid = static_cast<pid_t>(atol(rest.c_str()));
  if (pid <= 0 || pid == getpid()) return false;
  return kill(pid, 0) != 0 && errno == ESRCH;
}

StoreSet::~StoreSet() {
  if (closing_ && closing_->joinable()) closing_->join();
}

StatusOr<store::WorkItemStore*> StoreSet::Get(const std::string& url) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto it = stores_.find(url); it != stores_.end()) return it->second.get();
  store::StoreOptions opts;
  opts.url = url;
  opts.create_if_missing = create_if_missing_;
  opts.synchronous_full = synchronous_full_;
  opts.max_payload_bytes = max_payload_bytes_;
  auto s = store::WorkItemStore::Open(opts);
  if (!s.ok()) return s.status();
  auto* st = s->get();
  stores_[url] = std::move(s).value();
  auto released = st->ReleaseDeadOwners(OwnerIsDeadHere);
  if (released.ok() && *released > 0)
    log::Info(
        std::to_string(*released) + " work item(s) held by a run that died went back to the queue",
        {{"event", "dead_owner_items_released"}, {"count", *released}});
  return st;
}

void StoreSet::CloseInBackground() {
  std::lock_guard<std::mutex> l(mu_);
  if (closing_) return;
  auto stores = std::make_shared<decltype(stores_)>(std::move(stores_));
  closing_ = std::make_unique<std::thread>([stores] { stores->clear(); });
}

}  // namespace robotni::service
