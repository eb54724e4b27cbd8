// The home side of a process whose user context moved to another node: the original process
// becomes its deputy. It keeps its pid, parent, fds, cwd and session; its memory is released
// but for the shim, which serves the calls its remote part forwards over the link.
#pragma once

#include <sys/socket.h>

#include "absl/status/status.h"
#include "checkpoint/shim_locator.h"
#include "checkpoint/task.h"

namespace mosix {

// Gives the seized process a stream socket connected to addr, on fd `fd` (close-on-exec).
absl::Status InjectConnection(Task& task, const sockaddr* addr, socklen_t len, int fd);

// Turns the seized, stopped process into its deputy and detaches it: everything but the shim's
// mappings is unmapped, a stack of its own is mapped, and it runs mosix_deputy_main(link_fd)
// with every signal blocked. Failures after the memory is gone are Aborted.
absl::Status Deputize(Task& task, const ShimLocation& shim, int link_fd);

}  // namespace mosix
