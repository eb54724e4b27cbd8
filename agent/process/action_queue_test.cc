#include "agent/process/action_queue.h"

#include <atomic>
#include <chrono>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include <catch2/catch.hpp>

namespace mosix::agent {
namespace {

void WaitFor(ActionQueue& q) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (q.Pending() > 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(q.Pending() == 0);
}

TEST_CASE("actions on one process run in the order they were posted, one at a time") {
  ActionQueue q(4);
  absl::Mutex mu;
  std::vector<int> seen;
  std::atomic<int> running{0}, overlap{0};
  for (int i = 0; i < 500; ++i) {
    q.Post(42, [&, i] {
      if (running.fetch_add(1) != 0) overlap.fetch_add(1);
      {
        absl::MutexLock lock(&mu);
        seen.push_back(i);
      }
      running.fetch_sub(1);
    });
  }
  WaitFor(q);
  REQUIRE(overlap.load() == 0);
  REQUIRE(seen.size() == 500);
  for (int i = 0; i < 500; ++i) REQUIRE(seen[i] == i);
}

TEST_CASE("a process whose action blocks does not hold up the others") {
  absl::Notification release, other_ran;
  ActionQueue q(2);
  // Destroyed before the queue: a failed REQUIRE must still free the blocked worker, or the
  // queue's destructor would wait for it forever.
  struct Releaser {
    absl::Notification& n;
    ~Releaser() {
      if (!n.HasBeenNotified()) n.Notify();
    }
  } releaser{release};
  q.Post(1, [&] { release.WaitForNotification(); });
  q.Post(1, [&] {});
  q.Post(2, [&] { other_ran.Notify(); });
  REQUIRE(other_ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
  // The other process's action has run; it is counted done once its worker comes back.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (q.Pending() > 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(q.Pending() == 2);
  release.Notify();
  WaitFor(q);
}

TEST_CASE("shutdown lets the running action finish and drops the rest") {
  ActionQueue q(1);
  absl::Notification started, release;
  std::atomic<int> ran{0};
  q.Post(7, [&] {
    started.Notify();
    release.WaitForNotification();
    ran.fetch_add(1);
  });
  q.Post(7, [&] { ran.fetch_add(1); });
  REQUIRE(started.WaitForNotificationWithTimeout(absl::Seconds(30)));
  std::thread stopper([&] { q.Shutdown(); });
  while (!q.Stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  release.Notify();
  stopper.join();
  REQUIRE(ran.load() == 1);
  q.Post(7, [&] { ran.fetch_add(1); });  // ignored
  REQUIRE(ran.load() == 1);
}

}  // namespace
}  // namespace mosix::agent
