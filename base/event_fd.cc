#include "base/event_fd.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>

#include "base/status.h"

namespace mosix {

absl::StatusOr<EventFd> EventFd::Make(const char* what) {
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return ErrnoStatus("eventfd", what);
  return EventFd(UniqueFd(fd));
}

void EventFd::Signal() const {
  uint64_t one = 1;
  // EAGAIN only when the counter is at its limit: it is readable then, which is all a signal is.
  while (::write(fd_.get(), &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void EventFd::Drain() const {
  uint64_t n;
  while (::read(fd_.get(), &n, sizeof n) < 0 && errno == EINTR) {
  }
}

}  // namespace mosix
