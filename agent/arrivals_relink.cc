// A guest's link after its home agent restarted (link_invariants.h, I5). Through TLS, the link
// runs through a relay in each agent; when the home agent stops, its relays go, this node's
// relay sees the far end close, and the guest waits (its shim, up to MOSIX_RELINK_WAIT_S) for a
// new link. The restarted home agent asks for one (PrepareRelink, Relink); a guest that gets
// none in time is ended here (WatchUnlinked): nobody could reach it any more.
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstddef>
#include <thread>

#include "absl/strings/str_cat.h"
#include "agent/arrivals.h"
#include "base/net.h"
#include "base/status.h"
#include "checkpoint/deputy.h"
#include "checkpoint/process_memory.h"
#include "checkpoint/remote_syscalls.h"
#include "checkpoint/task.h"
#include "interceptor/channel_protocol.h"
#include "interceptor/forward_protocol.h"
#include "interceptor/link_invariants.h"
#include "interceptor/shim_info.h"

namespace mosix::agent {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

void Arrivals::RelayLink(const std::shared_ptr<GuestLink>& link, UniqueFd local, std::unique_ptr<security::TlsConnection> tls) {
  link->unlinked_since_ms = 0;
  relays_->Start(std::move(local), std::move(tls), [link] {
    int64_t zero = 0;
    link->unlinked_since_ms.compare_exchange_strong(zero, NowMs());
  });
}

void Arrivals::WatchUnlinked() {
  constexpr int64_t kGraceMs = (MOSIX_RELINK_WAIT_S + 5) * 1000;
  while (!stop_watch_.WaitForNotificationWithTimeout(absl::Seconds(1))) {
    for (const auto& [local_pid, guest] : Guests()) {
      if (!guest.link) continue;
      int64_t since = guest.link->unlinked_since_ms.load();
      if (since == 0 || NowMs() - since < kGraceMs) continue;
      fprintf(stderr, "mosixd: pid %d of %s (here %d) lost its link %lld s ago and got no new one: it ends\n", guest.home_pid,
              guest.home_node.c_str(), local_pid, static_cast<long long>((NowMs() - since) / 1000));
      guest.link->unlinked_since_ms = 0;  // (said once; the kill ends it)
      if (guest.link->pidfd.valid()) (void)syscall(SYS_pidfd_send_signal, guest.link->pidfd.get(), SIGKILL, nullptr, 0);
    }
  }
}

absl::StatusOr<PrepareRelinkReply> Arrivals::PrepareRelink(const PrepareRelinkRequest& req, const std::string& from) {
  ASSIGN_OR_RETURN(Guest guest, GuestOf(req.local_pid(), from));
  if (guest.home_pid != req.home_pid()) {
    return absl::NotFoundError(absl::StrCat("pid ", req.local_pid(), " here is not home pid ", req.home_pid()));
  }
  if (!tls_ || !guest.link) {
    return absl::FailedPreconditionError("on a trusted network the link goes straight to the deputy: it needs no new one");
  }
  ASSIGN_OR_RETURN(MoveListener listener, MoveListener::Open(ListenHost(node_address_)));
  PrepareRelinkReply reply;
  reply.set_link_address(listener.address());
  reply.set_link_secret(listener.secret());
  absl::MutexLock lock(&mu_);
  std::string token = absl::StrCat("relink-", guest.home_node, "-", guest.home_pid, "-", next_token_++);
  reply.set_token(token);
  relinks_[token] = PendingRelink{std::move(listener), req.local_pid()};
  return reply;
}

absl::Status Arrivals::Relink(const RelinkRequest& req, const std::string& from) {
  PendingRelink pending;
  {
    absl::MutexLock lock(&mu_);
    auto it = relinks_.find(req.token());
    if (it == relinks_.end()) return absl::NotFoundError(absl::StrCat("no prepared relink '", req.token(), "'"));
    pending = std::move(it->second);
    relinks_.erase(it);
  }
  pid_t pid = pending.local_pid;
  ASSIGN_OR_RETURN(Guest guest, GuestOf(pid, from));
  ASSIGN_OR_RETURN(MoveConnection link, pending.listener.AcceptProven(tls_, guest.home_node, 10000, "new link"));
  ASSIGN_OR_RETURN(LocalRendezvous local, LocalRendezvous::Open());
  // Its end goes in where no message is half sent or half read on the old one (I2).
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(Task task, Task::Seize(pid));
    ASSIGN_OR_RETURN(mosix_shim_info info, task.Read(RemotePtr<mosix_shim_info>(guest.shim_info)));
    if (info.link_phase != MOSIX_LINK_IDLE) {
      if (attempt == 400) return absl::UnavailableError(absl::StrCat("pid ", pid, " stays in the middle of a message; try again"));
      RETURN_IF_ERROR(task.Detach());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    // (From a `syscall` in its shim: anywhere else its seccomp filter traps the calls.)
    ASSIGN_OR_RETURN(uint64_t gadget, FindSyscallInstruction(&task, guest.shim_text_start, guest.shim_text_end, "the guest's shim"));
    RETURN_IF_ERROR(InjectConnection(task, local.addr(), local.addr_len(), MOSIX_CHANNEL_FD, "", SOCK_STREAM, gadget));
    ASSIGN_OR_RETURN(UniqueFd mine, local.AcceptFrom(pid, 10000));
    RelayLink(guest.link, std::move(mine), std::move(link.tls));
    // Then it sends the call it waits on again, on the new link (I1, I5).
    RETURN_IF_ERROR(BumpLinkEpoch(task, guest.shim_info));
    fprintf(stderr, "mosixd: pid %d of %s (here %d) has a new link\n", guest.home_pid, guest.home_node.c_str(), pid);
    return absl::OkStatus();
  }
}

}  // namespace mosix::agent
