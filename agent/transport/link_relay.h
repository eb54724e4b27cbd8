// A forwarded-call link carried through TLS between two agents, on a network the map does not
// mark trusted: the process's end (over there) and the deputy's end (at home) are local Unix
// sockets whose other ends the agents pump into and out of one TLS session. The shim needs no
// cryptography of its own and keeps its rules (raw syscalls, no library).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/event_fd.h"
#include "base/fd.h"
#include "security/tls.h"

namespace mosix::agent {

class LinkRelays {
 public:
  LinkRelays();
  ~LinkRelays();  // stops and joins every relay

  // Pumps bytes both ways between `local` and `tls` until one of them ends, then closes both.
  // `far_end_closed` runs (on the relay's thread) when it was the TLS side that ended.
  void Start(UniqueFd local, std::unique_ptr<security::TlsConnection> tls, std::function<void()> far_end_closed = {});

 private:
  enum class Ended { kStopped, kLocal, kFar };
  struct Relay {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  Ended Pump(int local, security::TlsConnection* tls);
  // Joins the relays that have ended.
  void Reap() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  EventFd stop_;  // every relay ends when it is readable
  absl::Mutex mu_;
  std::list<std::unique_ptr<Relay>> relays_ ABSL_GUARDED_BY(mu_);
};

// A local endpoint that one process (pid) connects to: an abstract Unix socket with a random
// name, whose connection is accepted only from that pid (SO_PEERCRED).
class LocalRendezvous {
 public:
  static absl::StatusOr<LocalRendezvous> Open();
  const sockaddr* addr() const { return reinterpret_cast<const sockaddr*>(&addr_); }
  socklen_t addr_len() const { return addr_len_; }
  absl::StatusOr<UniqueFd> AcceptFrom(pid_t pid, int timeout_ms);

 private:
  UniqueFd fd_;
  sockaddr_un addr_{};
  socklen_t addr_len_ = 0;
};

}  // namespace mosix::agent
