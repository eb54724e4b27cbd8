// Releasing a process's memory and sending it elsewhere in its own code: shared by Park and
// Deputize. Internal to checkpoint/.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "checkpoint/internal/layout.h"
#include "checkpoint/procfs.h"
#include "checkpoint/remote_syscalls.h"
#include "checkpoint/task.h"

namespace mosix::internal {

// Who unmaps the memory that goes.
enum class Releaser {
  kAgent,    // ReleaseAndJump itself, before the jump
  kProcess,  // the code jumped to: its 2nd and 3rd arguments (rsi, rdx) are an array of
             // {start, end} pairs on its stack and their count. It frees (slowly, for big
             // processes) while the caller is already done.
};

// rs must inject through the vDSO (RemoteSyscalls::CreateInVdso): the program's code goes.
// Stops interval timers (unless the caller knows none runs), unregisters rseq, releases every mapping of `maps` not inside `keep`
// (the kernel's special mappings stay), then sets rip/rsp/rdi, blocks every signal and
// detaches. rsp is the top of a stack inside `keep`. Failures after the first unmap are
// Aborted: the process cannot go back.
absl::Status ReleaseAndJump(Task& task, RemoteSyscalls& rs, const std::vector<MapEntry>& maps,
                            const std::vector<Range>& keep, uint64_t rip, uint64_t rsp, uint64_t rdi,
                            Releaser releaser = Releaser::kAgent, bool stop_itimers = true);

// The pages holding the process's argv and environment: kept when the rest of its memory is
// released, so `ps` still shows its command line.
absl::StatusOr<Range> ArgumentPages(pid_t pid);

// Maps `size` bytes of anonymous memory in a hole of the process and returns their address.
absl::StatusOr<uint64_t> MapHole(Task& task, RemoteSyscalls& rs, const std::vector<MapEntry>& maps, uint64_t size, int prot);

}  // namespace mosix::internal
