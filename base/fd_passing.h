// One message with at most one file descriptor over a Unix socket (SCM_RIGHTS).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>

#include "base/fd.h"

namespace mosix {

// sendmsg of len bytes, with `fd` attached unless it is negative (MSG_NOSIGNAL). Returns what
// sendmsg returns (-1 and errno on failure).
ssize_t SendWithFd(int sock, const void* data, size_t len, int fd);
// recvmsg into data (up to len bytes); an fd that came with it goes to *fd (close-on-exec).
// Returns what recvmsg returns (0: the peer closed; -1 and errno on failure). With `sender`,
// the credentials the kernel attached to the message (SO_PASSCRED), or pid 0 if it attached none.
ssize_t ReceiveWithFd(int sock, void* data, size_t len, UniqueFd* fd, ucred* sender = nullptr);
// A copy of fd `fd` of process pid (pidfd_getfd: needs the right to ptrace it), or an invalid
// UniqueFd.
UniqueFd TakeFdOf(pid_t pid, int fd);

}  // namespace mosix
