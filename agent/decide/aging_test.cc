#include "agent/decide/aging.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "checkpoint/procfs.h"

namespace mosix::agent {
namespace {

TEST_CASE("a process is old once its CPU so far, and what it gets by then at its rate, reach the threshold") {
  AgingSettings s;  // 1 s
  REQUIRE_FALSE(OldBy(0.2, 1, 0.5, s));
  REQUIRE(OldBy(0.6, 1, 0.5, s));
  REQUIRE(OldBy(1.0, 0, 0, s));
  REQUIRE_FALSE(OldBy(0.9, 0, 5, s));  // (a process that waits does not age)
  REQUIRE_FALSE(OldBy(0.9, -3, 5, s));
  REQUIRE(OldBy(0.9, 7, 0.1, s));      // (a rate above one CPU counts as one)
}

TEST_CASE("the cluster map sets when processes yield, or that they never do") {
  cluster::ClusterMap map;
  REQUIRE(AgingSettings::FromMap(map).enabled);
  REQUIRE(AgingSettings::FromMap(map).after_cpu_s == 1);
  map.set_yield_after_cpu_ms(2500);
  REQUIRE(AgingSettings::FromMap(map).after_cpu_s == 2.5);
  map.set_yield_after_cpu_ms(-1);
  REQUIRE_FALSE(AgingSettings::FromMap(map).enabled);
  REQUIRE_FALSE(OldBy(100, 1, 1, AgingSettings::FromMap(map)));
}

void* Park(void*) {
  for (;;) pause();
  return nullptr;
}

// A child with a second thread, at `nice`; it waits until killed.
pid_t Child(int nice) {
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (setpriority(PRIO_PROCESS, 0, nice) != 0) _exit(1);
    pthread_t t;
    if (pthread_create(&t, nullptr, Park, nullptr) != 0) _exit(1);
    (void)!write(ready[1], "x", 1);
    for (;;) pause();
  }
  close(ready[1]);
  char c;
  REQUIRE(read(ready[0], &c, 1) == 1);
  close(ready[0]);
  return pid;
}

void End(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

TEST_CASE("every thread of an old process runs at nice 19, and a second time changes nothing") {
  pid_t pid = Child(0);
  REQUIRE(*NiceOf(pid) == 0);
  REQUIRE(RunNiced(pid).ok());
  auto tids = NumberedEntries("/proc/" + std::to_string(pid) + "/task");
  REQUIRE(tids.ok());
  REQUIRE(tids->size() >= 2);  // (its own and the parked one; a sanitizer may add its own)
  for (int tid : *tids) REQUIRE(getpriority(PRIO_PROCESS, static_cast<id_t>(tid)) == kOldNice);
  REQUIRE(RunNiced(pid).ok());
  REQUIRE(*NiceOf(pid) == kOldNice);
  End(pid);
}

TEST_CASE("a process gone is NotFound, and names its pid") {
  pid_t pid = Child(0);
  End(pid);
  absl::Status s = RunNiced(pid);
  REQUIRE(absl::IsNotFound(s));
  REQUIRE(s.message().find(std::to_string(pid)) != std::string::npos);
  REQUIRE(absl::IsNotFound(NiceOf(pid).status()));
}

}  // namespace
}  // namespace mosix::agent
