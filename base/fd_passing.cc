#include "base/fd_passing.h"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace mosix {

ssize_t SendWithFd(int sock, const void* data, size_t len, int fd) {
  iovec iov{const_cast<void*>(data), len};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (fd >= 0) {
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  return ::sendmsg(sock, &mh, MSG_NOSIGNAL);
}

ssize_t ReceiveWithFd(int sock, void* data, size_t len, UniqueFd* fd, ucred* sender) {
  iovec iov{data, len};
  // Room for both an fd and the sender's credentials (a truncated SCM_RIGHTS loses its fd).
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(ucred))];
  if (sender) *sender = ucred{};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
      int got;
      memcpy(&got, CMSG_DATA(c), sizeof got);
      fd->reset(got);
    } else if (sender && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
               c->cmsg_len == CMSG_LEN(sizeof(ucred))) {
      memcpy(sender, CMSG_DATA(c), sizeof *sender);
    }
  }
  return n;
}

UniqueFd TakeFdOf(pid_t pid, int fd) {
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) return UniqueFd();
  return UniqueFd(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
}

}  // namespace mosix
