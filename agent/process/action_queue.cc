#include "agent/process/action_queue.h"

#include <utility>

namespace mosix::agent {

ActionQueue::ActionQueue(int workers) {
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { Work(); });
}

ActionQueue::~ActionQueue() { Shutdown(); }

void ActionQueue::Post(pid_t pid, std::function<void()> action) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  auto& q = queues_[pid];
  q.push_back(std::move(action));
  ++pending_;
  // A pid is in ready_ or being run whenever its queue is not empty; a first action makes it
  // ready (the queue entry is erased when it runs empty, below).
  if (q.size() == 1) ready_.push_back(pid);
}

void ActionQueue::Work() {
  for (;;) {
    std::function<void()> action;
    pid_t pid = 0;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &ActionQueue::HasWork));
      if (stopping_) return;
      pid = ready_.front();
      ready_.pop_front();
      action = std::move(queues_[pid].front());  // (stays in the queue until done: the pid is busy)
    }
    action();
    absl::MutexLock lock(&mu_);
    auto it = queues_.find(pid);
    it->second.pop_front();
    --pending_;
    if (it->second.empty()) {
      queues_.erase(it);
    } else {
      ready_.push_back(pid);
    }
  }
}

void ActionQueue::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

bool ActionQueue::Stopping() {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

size_t ActionQueue::Pending() {
  absl::MutexLock lock(&mu_);
  return pending_;
}

}  // namespace mosix::agent
