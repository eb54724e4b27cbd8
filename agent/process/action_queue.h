// Actions on processes, run in order per process and in parallel across processes: a signal
// sent after a stop request arrives after it; a move, a signal and an ending of the same
// process never overlap. A fixed set of worker threads, started in the constructor and joined
// by Shutdown (or the destructor): nothing outlives the queue.
#pragma once

#include <sys/types.h>

#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace mosix::agent {

class ActionQueue {
 public:
  explicit ActionQueue(int workers = 8);
  ~ActionQueue();
  ActionQueue(const ActionQueue&) = delete;
  ActionQueue& operator=(const ActionQueue&) = delete;

  // Runs `action` after every action posted for `pid` before it. Ignored after Shutdown.
  void Post(pid_t pid, std::function<void()> action);
  // Lets the running actions finish, drops those not begun, joins the workers.
  void Shutdown();
  // Actions posted and not finished, and whether Shutdown has begun (for tests).
  size_t Pending();
  bool Stopping();

 private:
  void Work();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !ready_.empty(); }

  absl::Mutex mu_;
  std::map<pid_t, std::deque<std::function<void()>>> queues_ ABSL_GUARDED_BY(mu_);
  std::deque<pid_t> ready_ ABSL_GUARDED_BY(mu_);  // pids with actions and none running
  size_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace mosix::agent
