#include "python/interpreter_pool.h"

namespace robotni::python {

InterpreterPool::~InterpreterPool() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] {
    for (auto& s : slots_)
      if (s->busy) return false;
    return true;
  });
  slots_.clear();
}

Interpreter* InterpreterPool::Lease::operator->() const { return slot_->interp.get(); }

void InterpreterPool::Lease::Release() {
  if (pool_) pool_->GiveBack(slot_);
  pool_ = nullptr;
}

void InterpreterPool::GiveBack(Lease::Slot* slot) {
  std::unique_ptr<Lease::Slot> dead;
  {
    std::lock_guard<std::mutex> l(mu_);
    slot->busy = false;
    for (auto it = slots_.begin(); it != slots_.end(); ++it) {
      if (it->get() != slot) continue;
      if (slot->interp->poisoned()) {
        // A thread is still stuck in it; it cannot be ended, only abandoned.
        (void)slot->interp.release();
        dead = std::move(*it);
        slots_.erase(it);
      } else {
        slots_.splice(slots_.begin(), slots_, it);  // most recently used first
      }
      break;
    }
  }
  cv_.notify_all();
}

StatusOr<InterpreterPool::Lease> InterpreterPool::Acquire(const std::string& robot,
                                                          Interpreter::Kind kind) {
  std::unique_ptr<Lease::Slot> evicted;
  Lease::Slot* slot = nullptr;
  {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      int mine = 0;
      for (auto& s : slots_) {
        if (s->robot != robot || s->kind != kind) continue;
        ++mine;
        if (!s->busy) {
          s->busy = true;
          return Lease(this, s.get());
        }
      }
      if (mine < options_.max_per_robot) {
        if (static_cast<int>(slots_.size()) >= options_.max_total) {
          // End the least recently used idle interpreter of any robot.
          for (auto it = slots_.rbegin(); it != slots_.rend(); ++it) {
            if (!(*it)->busy) {
              evicted = std::move(*it);
              slots_.erase(std::next(it).base());
              break;
            }
          }
        }
        if (static_cast<int>(slots_.size()) < options_.max_total) {
          auto s = std::make_unique<Lease::Slot>();
          s->robot = robot;
          s->kind = kind;
          s->busy = true;
          slot = s.get();
          slots_.push_front(std::move(s));
          break;
        }
      }
      cv_.wait(l);
    }
  }
  evicted.reset();  // ends that interpreter outside the lock
  auto created = Interpreter::Create(kind);
  if (!created.ok()) {
    std::lock_guard<std::mutex> l(mu_);
    slots_.remove_if([&](const std::unique_ptr<Lease::Slot>& s) { return s.get() == slot; });
    cv_.notify_all();
    return created.status();
  }
  slot->interp = std::move(created).value();
  return Lease(this, slot);
}

int InterpreterPool::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return static_cast<int>(slots_.size());
}

}  // namespace robotni::python
