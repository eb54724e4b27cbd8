// Long runners yield: a process the cluster may move runs at nice 19 once it has had
// yield_after_cpu_ms of CPU (the cluster map's; 1 s by default), wherever it runs. On a node
// shared by old and new work, CFS then gives a new process 1024/15 times an old one's share:
// short jobs finish as if the node were theirs, and long ones lose little (they are long
// because of what they do alone). This is least attained service, approximated in two classes,
// as the decay-usage schedulers of BSD did it and as Harchol-Balter and Downey's measurements of
// process lifetimes favour (a process that has run long is likely to run long yet).
// bench/stream_sim measures it ("old jobs run niced"); DESIGN.md, "The cluster brain", explains.
//
// The home decides for its processes wherever they run (it knows all the CPU each has had, on
// every node): those at home it renices itself, and for those away it names them in its next
// Guests request to the node they run on, which renices its guests of that home only. The nice
// travels with the process in its image. Locked (mosrun -L) and kept-home (-h) processes keep
// their priority: the cluster leaves them as they are. Nice is only ever raised, never lowered.
#pragma once

#include <sys/types.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/cluster.pb.h"

namespace mosix::agent {

inline constexpr int kOldNice = 19;

struct AgingSettings {
  bool enabled = true;
  double after_cpu_s = 1;
  static AgingSettings FromMap(const cluster::ClusterMap& map);
};

// Whether a process that has had cpu_s of CPU, and lately gets `rate` CPU-seconds a second
// (taken as 0..1), is old `ahead_s` seconds from now (the Guests request that renices a process
// away leaves one step later).
bool OldBy(double cpu_s, double rate, double ahead_s, const AgingSettings& s);

// Runs every thread of pid at nice kOldNice at least (a thread at that or above is left as it
// is). NotFound if pid is gone.
absl::Status RunNiced(pid_t pid);

// The nice of pid's main thread (or of thread `pid`), or an error (NotFound if it is gone).
absl::StatusOr<int> NiceOf(pid_t pid);

}  // namespace mosix::agent
