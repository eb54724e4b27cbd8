// The home side of a process whose user context moved to another node: the original process
// becomes its deputy. It keeps its pid, parent, fds, cwd and session; its memory is released
// but for the shim, which serves the calls its remote part forwards over the link.
#pragma once

#include <sys/socket.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "checkpoint/shim_locator.h"
#include "checkpoint/task.h"

namespace mosix {

// Gives the seized process a socket of `type` connected to addr, on fd `fd` (close-on-exec),
// and has it send first_bytes on it (a secret that proves the connection is this move's, or a
// first message). gadget: a `syscall` instruction to run the calls from (RemoteSyscalls), 0 to
// find one; in a process away from home it must be in its shim, which its seccomp filter lets
// make these calls itself.
absl::Status InjectConnection(Task& task, const sockaddr* addr, socklen_t len, int fd, const std::string& first_bytes = "",
                              int type = SOCK_STREAM, uint64_t gadget = 0);

// Turns the seized, stopped process into its deputy and detaches it: everything but the shim's
// mappings is unmapped, a stack of its own is mapped, and it runs mosix_deputy_main(link_fd)
// with every signal blocked. Its interval timers are stopped (their signals would reach the
// remote part twice) unless the caller knows none runs (DumpResult). Failures after the memory
// is gone are Aborted.
absl::Status Deputize(Task& task, const ShimLocation& shim, int link_fd, bool itimers_armed = true);

// Seizes pid's deputy where no call it serves is half made: idle, or inside the system call of
// the call it serves with nothing done yet (the kernel would restart it; it never will, as
// the process comes home over it and makes the call itself). Caught anywhere else (decoding,
// replying), it is let go and caught again, for up to 2 s. Sets the id of the last call it
// finished: the process must not be caught still waiting for that one's reply.
absl::StatusOr<Task> HoldDeputy(pid_t pid, uint64_t shim_info, uint32_t* answered_id);

// Bumps the link_epoch of the seized process's shim (at shim_info): a remote part sends the call
// it waits on again, a deputy or remote part waiting for a new link goes on with the one it has
// now (interceptor/link_invariants.h, I3 and I5).
absl::Status BumpLinkEpoch(Task& task, uint64_t shim_info);

// Seizes pid's deputy where its link may be replaced: with no message half read or half sent
// (interceptor/link_invariants.h, I2). Retried like HoldDeputy.
absl::StatusOr<Task> HoldDeputyForRelink(pid_t pid, uint64_t shim_info);

}  // namespace mosix
