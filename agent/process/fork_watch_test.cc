#include "agent/process/fork_watch.h"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>

#include <catch2/catch.hpp>

namespace mosix::agent {
namespace {

// One netlink message of the proc connector, as the kernel sends it.
std::string Event(uint32_t what, pid_t parent, pid_t child_pid, pid_t child_tgid) {
  proc_event e;
  memset(&e, 0, sizeof e);
  e.what = static_cast<decltype(e.what)>(what);
  e.event_data.fork.parent_pid = parent;
  e.event_data.fork.parent_tgid = parent;
  e.event_data.fork.child_pid = child_pid;
  e.event_data.fork.child_tgid = child_tgid;
  cn_msg c;
  memset(&c, 0, sizeof c);
  c.id.idx = CN_IDX_PROC;
  c.id.val = CN_VAL_PROC;
  c.len = sizeof e;
  nlmsghdr h;
  memset(&h, 0, sizeof h);
  h.nlmsg_len = static_cast<uint32_t>(sizeof h + sizeof c + sizeof e);
  h.nlmsg_type = NLMSG_DONE;
  std::string out(reinterpret_cast<const char*>(&h), sizeof h);
  out.append(reinterpret_cast<const char*>(&c), sizeof c);
  out.append(reinterpret_cast<const char*>(&e), sizeof e);
  out.resize(NLMSG_ALIGN(out.size()), '\0');
  return out;
}

std::vector<Fork> Parse(const std::string& s) {
  std::vector<Fork> f;
  ParseProcEvents(s.data(), s.size(), &f);
  return f;
}

}  // namespace

TEST_CASE("forks are read from the kernel's messages; threads, other events and bad lengths are not") {
  auto f = Parse(Event(proc_event::PROC_EVENT_FORK, 100, 200, 200) + Event(proc_event::PROC_EVENT_EXEC, 200, 200, 200) +
                 Event(proc_event::PROC_EVENT_FORK, 100, 201, 100) /* a thread */ + Event(proc_event::PROC_EVENT_FORK, 200, 300, 300));
  REQUIRE(f.size() == 2);
  CHECK((f[0].parent == 100 && f[0].child == 200));
  CHECK((f[1].parent == 200 && f[1].child == 300));
  std::vector<Fork> forks, threads;
  std::string thread = Event(proc_event::PROC_EVENT_FORK, 50, 201, 100);  // thread 201 of process 100 (parent 50)
  ParseProcEvents(thread.data(), thread.size(), &forks, &threads);
  CHECK(forks.empty());
  REQUIRE(threads.size() == 1);
  CHECK((threads[0].parent == 100 && threads[0].child == 201));
  std::string one = Event(proc_event::PROC_EVENT_FORK, 1, 2, 2);
  // Cut anywhere: nothing, never a read past the end.
  for (size_t n = 0; n < one.size() - 8; ++n) CHECK(Parse(one.substr(0, n)).empty());
  // A message longer than what came, or a connector payload longer than its message.
  std::string lie = one;
  uint32_t len = static_cast<uint32_t>(one.size() + 1);
  memcpy(lie.data(), &len, sizeof len);
  CHECK(Parse(lie).empty());
  lie = one;
  uint16_t clen = 0xffff;
  memcpy(lie.data() + sizeof(nlmsghdr) + offsetof(cn_msg, len), &clen, sizeof clen);
  CHECK(Parse(lie).empty());
  // Another connector's message.
  lie = one;
  uint32_t idx = CN_IDX_PROC + 1;
  memcpy(lie.data() + sizeof(nlmsghdr), &idx, sizeof idx);
  CHECK(Parse(lie).empty());
}

TEST_CASE("random bytes and mutated messages never crash the reader") {
  std::mt19937 rng(7);
  std::string base = Event(proc_event::PROC_EVENT_FORK, 10, 20, 20) + Event(proc_event::PROC_EVENT_FORK, 20, 30, 30);
  for (int i = 0; i < 200000; ++i) {
    std::string s = base;
    if (i % 2) {
      s.resize(rng() % 256);
      for (char& c : s) c = static_cast<char>(rng());
    } else {
      for (int k = 0; k < 4; ++k) s[rng() % s.size()] = static_cast<char>(rng());
      s.resize(rng() % (s.size() + 1));
    }
    std::vector<Fork> f;
    ParseProcEvents(s.data(), s.size(), &f);
    for (const Fork& x : f) REQUIRE((x.parent > 0 && x.child > 0));
  }
}

TEST_CASE("descendants are found through children of children, each once") {
  std::map<pid_t, pid_t> parents = {{1, 0}, {10, 1}, {11, 10}, {12, 11}, {13, 10}, {20, 1}, {21, 20}, {30, 30}};
  auto d = DescendantsOf({10}, parents);
  std::sort(d.begin(), d.end());
  REQUIRE(d == std::vector<pid_t>{11, 12, 13});
  REQUIRE(DescendantsOf({99}, parents).empty());
  REQUIRE(DescendantsOf({30}, parents).empty());  // (its own parent: no loop)
  auto both = DescendantsOf({11, 20}, parents);
  std::sort(both.begin(), both.end());
  REQUIRE(both == std::vector<pid_t>{12, 21});
  // /proc as it is: this test's own child is found.
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  auto mine = DescendantsOf({getpid()}, ParentsInProc());
  CHECK(std::find(mine.begin(), mine.end(), child) != mine.end());
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
}

TEST_CASE("the kernel tells the watch of a fork") {
  ForkWatch::Subscription how = ForkWatch::Subscription::kUnknown;
  auto w = ForkWatch::Open(&how);
  if (!w.ok()) {
    // (Only root in the first pid and user namespace may listen; the agent then looks in /proc.
    // This test runs outside Bazel's sandbox: as root, it listens.)
    WARN("no process events here: " << w.status().message());
    REQUIRE(geteuid() != 0);
    REQUIRE(w.status().message().find("process events") != std::string::npos);
    REQUIRE(how == ForkWatch::Subscription::kUnknown);
    return;
  }
  REQUIRE(how != ForkWatch::Subscription::kUnknown);
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  bool seen = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    pollfd p{w->fd(), POLLIN, 0};
    poll(&p, 1, 100);
    std::vector<Fork> forks;
    w->Drain(&forks);
    for (const Fork& f : forks) seen = seen || (f.parent == getpid() && f.child == child);
  }
  REQUIRE(seen);
}

}  // namespace mosix::agent
