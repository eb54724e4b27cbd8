// How the agent learns of the children that processes under mosrun fork: the kernel's process
// events (the proc connector, NETLINK_CONNECTOR / CN_IDX_PROC), so that a fork costs the
// forking program nothing. A shim that greeted at each fork cost every fork 50-110 us on
// these VMs (a send from a fresh child, and the copy of the page it wrote), 1-2% of a shell's
// or a make's run; a program it execs still greets (its hello says that its shim is up).
//
// The kernel reports every fork of the machine to every listener: the agent reads them with
// its channels at rest (never woken by one), keeps those whose parent it knows, and drops the
// rest. Events can be lost (the socket overflows while the agent sleeps): the reader says so,
// and the agent then looks for the children of its processes in /proc (ChildrenIn), as it does
// where the kernel will not report (an agent without CAP_NET_ADMIN, or outside the first pid
// namespace).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <map>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "base/fd.h"

namespace mosix::agent {

struct Fork {
  pid_t parent;  // the forking process (its thread group)
  pid_t child;   // the new process (never a new thread: those are not reported)
};

class ForkWatch {
 public:
  // How the kernel takes a subscription: with a filter of events (Linux 6.6 and later: forks
  // only), or without (every fork, exec and exit, the others dropped here).
  enum class Subscription { kUnknown, kForksOnly, kEverything };
  // Subscribes to the kernel's process events; fails with the reason when it cannot. The
  // kernel ignores a subscription it does not take (an older kernel, a filter; a listener
  // outside the first pid or user namespace) without an error: with *how kUnknown, the watch
  // proves that events come, by starting a thread of its own, and sets *how to what worked;
  // later watches subscribe so without proof.
  static absl::StatusOr<ForkWatch> Open(Subscription* how);
  ForkWatch() = default;
  ForkWatch(ForkWatch&&) = default;
  ForkWatch& operator=(ForkWatch&&);
  ~ForkWatch();  // unsubscribes: the kernel stops making events nobody reads

  bool valid() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }
  // Appends every fork reported since the last call, without waiting. False when the kernel
  // dropped events meanwhile (the socket overflowed): some forks are missing.
  bool Drain(std::vector<Fork>* forks);

 private:
  explicit ForkWatch(UniqueFd fd, Subscription how) : fd_(std::move(fd)), how_(how) {}
  void Unsubscribe();
  // Whether a thread of this process, started now, is reported (forks read meanwhile go to pending_).
  bool Proven();
  UniqueFd fd_;
  Subscription how_ = Subscription::kUnknown;
  std::vector<Fork> pending_;
};

// The forks in one datagram from the kernel (a netlink message of the proc connector), read as
// hostile: lengths are checked against what was received; anything else is skipped.
// Threads started (parent: the process; child: the thread) go to *threads, if given.
void ParseProcEvents(const char* data, size_t n, std::vector<Fork>* forks, std::vector<Fork>* threads = nullptr);

// The processes descended from `known` (parent -> children, transitively), from `parents`: each
// process of the machine with its parent (as /proc says). Neither those in `known` nor pids <= 0.
std::vector<pid_t> DescendantsOf(const std::set<pid_t>& known, const std::map<pid_t, pid_t>& parents);

// Every process of the machine with its parent, from /proc (those that end meanwhile are left out).
std::map<pid_t, pid_t> ParentsInProc();

}  // namespace mosix::agent
