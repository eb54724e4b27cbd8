// A kernel counter that wakes threads polling it: Signal() makes it readable, Drain() reads it
// back to zero. The agent's threads use one each to be told to stop or to look again.
#pragma once

#include "absl/status/statusor.h"
#include "base/fd.h"

namespace mosix {

class EventFd {
 public:
  // A non-blocking, close-on-exec eventfd; `what` names its use in the error.
  static absl::StatusOr<EventFd> Make(const char* what);
  EventFd() = default;

  int get() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }
  // Adds one. Never blocks: a counter already near its limit is readable anyway.
  void Signal() const;
  // Reads the counter back to zero, if anything was signalled.
  void Drain() const;

 private:
  explicit EventFd(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace mosix
