#include "agent/transport/link_relay.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "agent/transport/move_connection.h"
#include "base/file_util.h"
#include "base/net.h"
#include "base/status.h"

namespace mosix::agent {

LinkRelays::LinkRelays() : stop_(EventFd::Make("link relays stop").value_or(EventFd())) {}

LinkRelays::~LinkRelays() {
  stop_.Signal();
  absl::MutexLock lock(&mu_);
  for (auto& r : relays_) r->thread.join();
  relays_.clear();
}

void LinkRelays::Reap() {
  for (auto it = relays_.begin(); it != relays_.end();) {
    if ((*it)->done) {
      (*it)->thread.join();
      it = relays_.erase(it);
    } else {
      ++it;
    }
  }
}

void LinkRelays::Start(UniqueFd local, std::unique_ptr<security::TlsConnection> tls, std::function<void()> far_end_closed) {
  absl::MutexLock lock(&mu_);
  Reap();
  auto relay = std::make_unique<Relay>();
  Relay* r = relay.get();
  // The thread owns both ends; the relay list owns the thread (joined by Reap or the destructor).
  relay->thread = std::thread([this, r, local = std::make_shared<UniqueFd>(std::move(local)),
                               tls = std::shared_ptr<security::TlsConnection>(std::move(tls)),
                               far_end_closed = std::move(far_end_closed)] {
    Ended how = Pump(local->get(), tls.get());
    tls->Close();
    local->reset();
    if (how == Ended::kFar && far_end_closed) far_end_closed();
    r->done = true;
  });
  relays_.push_back(std::move(relay));
}

LinkRelays::Ended LinkRelays::Pump(int local, security::TlsConnection* tls) {
  std::vector<char> buf(256 << 10);
  for (;;) {
    pollfd p[3] = {{stop_.get(), POLLIN, 0}, {local, POLLIN, 0}, {tls->fd(), POLLIN, 0}};
    if (::poll(p, 3, tls->HasBuffered() ? 0 : -1) < 0) {
      if (errno == EINTR) continue;
      return Ended::kStopped;
    }
    if (p[0].revents) return Ended::kStopped;
    if (p[1].revents) {
      ssize_t n = ::read(local, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Ended::kLocal;
      if (!tls->Write(buf.data(), n).ok()) return Ended::kFar;
    }
    if (p[2].revents || tls->HasBuffered()) {
      auto n = tls->ReadSome(buf.data(), buf.size());
      if (!n.ok() || *n == 0) return Ended::kFar;
      if (!WriteAll(local, buf.data(), *n, "link").ok()) return Ended::kLocal;
    }
  }
}

absl::StatusOr<LocalRendezvous> LocalRendezvous::Open() {
  LocalRendezvous r;
  r.fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!r.fd_.valid()) return ErrnoStatus("socket", "link rendezvous");
  ASSIGN_OR_RETURN(std::string random, NewSecret());
  std::string name = absl::StrCat("mosix-link-", absl::BytesToHexString(random.substr(0, 12)));
  r.addr_.sun_family = AF_UNIX;
  r.addr_.sun_path[0] = '\0';  // abstract: no file, gone with the socket
  memcpy(r.addr_.sun_path + 1, name.data(), name.size());
  r.addr_len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(r.fd_.get(), reinterpret_cast<sockaddr*>(&r.addr_), r.addr_len_) != 0) return ErrnoStatus("bind", name);
  if (::listen(r.fd_.get(), 4) != 0) return ErrnoStatus("listen", name);
  return r;
}

absl::StatusOr<UniqueFd> LocalRendezvous::AcceptFrom(pid_t pid, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    ASSIGN_OR_RETURN(UniqueFd c, AcceptBefore(fd_.get(), deadline, absl::StrCat("link of pid ", pid)));
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(c.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid == pid) return c;
  }
}

}  // namespace mosix::agent
