// Parking: what a process becomes when its user context lives elsewhere (a frozen image on the
// home node's disk, or later a remote node). It keeps its pid, parent, fds, cwd and session;
// its memory is released and it waits in pause() with every signal blocked, so it uses no CPU
// and holds signals sent to it pending until its context comes back.
#pragma once

#include "absl/status/status.h"
#include "checkpoint/task.h"

namespace mosix {

// Parks a seized, stopped process and detaches it. Interval timers are stopped (the image
// holds them), glibc's rseq area is unregistered (it is about to be unmapped), and all memory
// but one page of code, the pages of its command line (for ps) and the kernel's special
// mappings is unmapped. On failure after the
// memory is gone the status IsAborted: the process cannot go on and should be killed.
absl::Status Park(Task& task);

// True if pid is parked (its only own mappings are the parking page and its command line).
bool IsParked(pid_t pid);

}  // namespace mosix
