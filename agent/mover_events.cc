// The Mover's answers to what happens around a process, as opposed to the moves themselves
// (mover.cc): a program that starts and is to run elsewhere, a process away that must come
// home for a call, a signal for a process away, the end of a remote part and a deputy waiting
// to hear of it, and a node that died under a process.
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"

#include "agent/channel_server.h"
#include "agent/cluster_config.h"
#include "agent/mover.h"
#include "agent/peers.h"
#include "checkpoint/remote_syscalls.h"
#include "checkpoint/task.h"
#include "interceptor/channel_protocol.h"
#include "interceptor/forward_protocol.h"

namespace mosix::agent {
namespace {

void SendEnd(int fd, int wait_status, bool known) {
  struct {
    mosix_msg_header h;
    mosix_end end;
  } msg = {{MOSIX_MSG_END, sizeof(mosix_end)}, {0, -1}};
  if (known) {
    msg.end.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 0;
    msg.end.signo = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
  }
  (void)::send(fd, &msg, sizeof msg, MSG_NOSIGNAL);
}

// Delivers signo to the process that runs as local_pid on node.
grpc::Status SignalGuest(const cluster::Node& node, int32_t local_pid, int signo, uint32_t seq = 0) {
  SignalRequest req;
  req.set_local_pid(local_pid);
  req.set_signo(signo);
  req.set_seq(seq);
  SignalReply reply;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 10);
  return PeerStub(node)->Signal(&ctx, req, &reply);
}

}  // namespace

void Mover::TellEndIfAny(pid_t pid) {
  // Its part over there may have ended, and its deputy asked how, while a move held it.
  if (auto end = table_->EndToTell(pid)) SendEnd(end->first, end->second, true);
}

void Mover::StartOn(pid_t pid, const std::string& node) {
  // Caught exec'ing again (a wrapper script that execs the real program), it is tried again
  // for a second; after that, the next program it execs is.
  actions_.Post(pid, [this, pid, node] {
    absl::StatusOr<MoveResult> r = absl::UnknownError("not tried");
    for (int attempt = 0; attempt < 50; ++attempt) {
      if (table_->WhereIs(pid) == node) return;  // (taken there meanwhile)
      r = MoveWhenFree(pid, node);
      if (r.ok() || !table_->Knows(pid)) return;  // (or it ended meanwhile)
      if (!absl::IsFailedPrecondition(r.status()) && !absl::IsUnavailable(r.status())) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    fprintf(stderr, "mosixd: pid %d stays home instead of going to %s: %s\n", pid, node.c_str(),
            std::string(r.status().message()).c_str());
    table_->SetStartOn(pid, node);
  });
}

void Mover::MoveInBackground(pid_t pid, const std::string& target, std::function<void(const absl::Status&)> done) {
  actions_.Post(pid, [this, pid, target, done = std::move(done)] {
    absl::StatusOr<MoveResult> r = MoveWhenFree(pid, target);
    if (!r.ok() && table_->Knows(pid)) {
      fprintf(stderr, "mosixd: pid %d did not go to %s: %s\n", pid, target.c_str(), std::string(r.status().message()).c_str());
    }
    done(r.status());
  });
}

void Mover::ComeHomeFor(pid_t pid, int fd, int64_t nr) {
  // A program it execs goes back where it was (as in MOSIX, where exec happens over there).
  if (nr == SYS_execve || nr == SYS_execveat) table_->SetStartOn(pid, table_->WhereIs(pid));
  actions_.Post(pid, [this, pid, fd] {
    auto r = MoveWhenFree(pid, "home");
    if (r.ok()) return;
    table_->SetStartOn(pid, "");
    fprintf(stderr, "mosixd: pid %d could not come home for a call made there: %s\n", pid, std::string(r.status().message()).c_str());
    if (IsChannelOf(fd, pid)) (void)SendMessage(fd, MOSIX_MSG_ERROR, std::string(r.status().message()));
  });
}

void Mover::KillGuest(const cluster::Node& node, int32_t local_pid) {
  grpc::Status s = SignalGuest(node, local_pid, SIGKILL);
  if (!s.ok()) fprintf(stderr, "mosixd: cannot end pid %d on %s: %s\n", local_pid, node.name().c_str(), s.error_message().c_str());
}

void Mover::ForwardSignal(pid_t pid, int signo, uint32_t seq) {
  actions_.Post(pid, [this, pid, signo, seq] {
    // Held while it is sent: no move is under way, so it reaches the copy that runs (never one
    // that is leaving), and a move waits until it is there.
    absl::StatusOr<ProcessEntry> held = absl::AbortedError("");
    for (int attempt = 0; attempt < 12000; ++attempt) {
      held = table_->Acquire(pid);
      if (!absl::IsAborted(held.status())) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!held.ok()) {
      fprintf(stderr, "mosixd: signal %d for pid %d is dropped: %s\n", signo, pid, std::string(held.status().message()).c_str());
      return;
    }
    const ProcessEntry& entry = *held;
    const cluster::Node* node = entry.state == ProcState::kRemote ? FindNode(map_, entry.where) : nullptr;
    if (node) {
      // (Its node's agent restarting: the guest still runs there, and the next agent takes it.)
      grpc::Status s;
      RetryWhileAgentRestarts(*node, std::chrono::milliseconds(500), [&] {
        s = SignalGuest(*node, entry.remote_pid, signo, seq);
        return s.error_code() != grpc::StatusCode::UNAVAILABLE;
      });
      if (!s.ok()) {
        fprintf(stderr, "mosixd: signal %d for pid %d could not reach %s: %s\n", signo, pid, entry.where.c_str(),
                s.error_message().c_str());
      }
    } else if (entry.state == ProcState::kHome) {
      ::kill(pid, signo);  // it came home since its deputy took the signal: it is its own again
    }
    table_->Release(entry);
    TellEndIfAny(pid);  // (its end, if it came while the signal held it)
  });
}

absl::Status Mover::RemoteEnded(pid_t pid, int32_t local_pid, int wait_status, const std::string& from) {
  if (!table_->Knows(pid)) return absl::NotFoundError(absl::StrCat("no process ", pid, " of this node is away"));
  if (auto fd = table_->RecordEnd(pid, from, local_pid, wait_status)) SendEnd(*fd, wait_status, true);
  return absl::OkStatus();
}

void Mover::DeputyWaits(pid_t pid, int fd) {
  auto entry = table_->Get(pid);
  if (!entry || entry->state != ProcState::kRemote) {
    SendEnd(fd, 0, false);
    return;
  }
  if (auto status = table_->WaitForEnd(pid, fd)) {
    SendEnd(fd, *status, true);
    return;
  }
  // Its node will say how it ended, unless the node is gone or no longer has it: ask it, off
  // the channel thread.
  actions_.Post(pid, [this, pid, fd, where = entry->where, local_pid = entry->remote_pid] {
    std::string why;
    // A node whose machine is there but whose agent is not: a restarted agent takes the guest
    // back (arrivals_adopt.cc) and, through TLS, this deputy gets a new link (StillHere).
    GuestThere there = GuestThere::kNodeDown;
    int wait_status = 0;
    if (const cluster::Node* node = FindNode(map_, where)) {
      RetryWhileAgentRestarts(*node, std::chrono::seconds(1), [&] {
        there = AskNodeFor(where, local_pid, pid, &wait_status);
        return there != GuestThere::kNodeDown;
      });
    }
    switch (there) {
      case GuestThere::kRuns:
        return;  // its end will be reported
      case GuestThere::kEnded:
        // It ended over there while this agent could not be told (it was down: restarting).
        (void)RemoteEnded(pid, local_pid, wait_status, where);
        return;
      case GuestThere::kGone:
        // Its end may be on its way (its node reports it after it has dropped it).
        for (int i = 0; i < 30; ++i) {
          auto e = table_->Get(pid);
          if (!e || e->state != ProcState::kRemote || e->ended || e->where != where) return;
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        why = absl::StrCat(where, " no longer has it (its agent restarted?)");
        break;
      case GuestThere::kNodeDown:
        why = absl::StrCat(where, " does not answer");
        break;
    }
    LoseRemote(pid, fd, where, why);
  });
}

Mover::GuestThere Mover::AskNodeFor(const std::string& where, int32_t local_pid, pid_t home_pid, int* wait_status) {
  const cluster::Node* node = FindNode(map_, where);
  if (!node) return GuestThere::kNodeDown;
  {
    absl::MutexLock lock(&down_mu_);  // (the node watch has just found it silent: not asked again)
    auto it = found_down_.find(where);
    if (it != found_down_.end() && std::chrono::steady_clock::now() - it->second < std::chrono::seconds(10)) {
      return GuestThere::kNodeDown;
    }
  }
  GuestsReply reply;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 3);
  if (!PeerStub(*node)->Guests(&ctx, GuestsRequest(), &reply).ok()) return GuestThere::kNodeDown;
  for (const GuestInfo& g : reply.guests()) {
    if (g.local_pid() == local_pid && g.home_pid() == home_pid) return GuestThere::kRuns;
  }
  for (const EndedGuest& g : reply.ended()) {
    if (g.local_pid() == local_pid && g.home_pid() == home_pid) {
      *wait_status = g.wait_status();
      return GuestThere::kEnded;
    }
  }
  return GuestThere::kGone;
}

void Mover::LoseRemote(pid_t pid, int fd, const std::string& where, const std::string& why) {
  auto acquired = table_->Acquire(pid);
  if (!acquired.ok()) return;
  ProcessEntry e = *acquired;
  if (e.state != ProcState::kRemote || e.where != where || e.ended) {  // (moved or ended meanwhile)
    table_->Release(e);
    return;
  }
  if (!e.last_checkpoint.empty()) {
    auto deputy = Task::Seize(pid);
    absl::Status s = deputy.ok() ? RestoreIntoDeputy(*deputy, e.shim_info, e.last_checkpoint) : deputy.status();
    if (s.ok()) {
      fprintf(stderr, "mosixd: pid %d: %s; it is back home from its checkpoint %s\n", pid, why.c_str(), e.last_checkpoint.c_str());
      e.state = ProcState::kHome;
      e.where.clear();
      e.remote_pid = 0;
      table_->Release(e);
      return;
    }
    fprintf(stderr, "mosixd: pid %d: %s, and it could not come back from %s: %s\n", pid, why.c_str(), e.last_checkpoint.c_str(),
            std::string(s.message()).c_str());
  } else {
    fprintf(stderr, "mosixd: pid %d: %s; it had no checkpoint, so it is lost\n", pid, why.c_str());
  }
  table_->Release(e);
  if (IsChannelOf(fd, pid)) SendEnd(fd, 0, false);  // the deputy says the process is lost (exit 112)
}

absl::Status Mover::TakeBack(pid_t pid, int32_t local_pid, const std::string& from) {
  auto not_there = [pid, local_pid] { return absl::NotFoundError(absl::StrCat("pid ", pid, " of this node does not run as pid ", local_pid, " there")); };
  if (!table_->Knows(pid)) return not_there();
  struct Outcome {
    absl::Notification done;
    absl::Status status;
    std::string where;
  };
  auto outcome = std::make_shared<Outcome>();  // (the action may outlive this call's wait)
  actions_.Post(pid, [this, pid, local_pid, from, outcome, not_there] {
    // Its move to that node may still be finishing: the copy there runs (and may be sent back)
    // before this side has made the deputy and written down where it went. Once the move is
    // over (an action before this one, or a move asked by hand), the entry says.
    auto e = table_->AwaitEntry(pid, [](const ProcessEntry& now) { return !now.busy; }, absl::Seconds(60));
    if (!e || e->state != ProcState::kRemote || e->remote_pid != local_pid || (!from.empty() && e->where != from)) {
      outcome->status = not_there();
    } else {
      outcome->where = e->where;
      outcome->status = MoveWhenFree(pid, "home").status();
    }
    outcome->done.Notify();
  });
  if (!outcome->done.WaitForNotificationWithTimeout(absl::Seconds(180))) {
    return absl::DeadlineExceededError(absl::StrCat("pid ", pid, " did not come home within 180 s"));
  }
  if (outcome->status.ok()) fprintf(stderr, "mosixd: pid %d is back home: %s sent it back\n", pid, outcome->where.c_str());
  return outcome->status;
}

void Mover::NodeDown(pid_t pid, const std::string& node) {
  actions_.Post(pid, [this, pid, node] {
    auto e = table_->Get(pid);
    if (!e || e->state != ProcState::kRemote || e->where != node) return;
    fprintf(stderr, "mosixd: %s does not answer: pid %d's link to it is cut\n", node.c_str(), pid);
    {
      absl::MutexLock lock(&down_mu_);
      found_down_[node] = std::chrono::steady_clock::now();
    }
    // Its deputy then asks how it ended (DeputyWaits), and hears it is lost, or the process
    // comes back from its checkpoint.
    auto deputy = Task::Seize(pid);
    if (!deputy.ok()) return;
    if (auto rs = RemoteSyscalls::Create(&*deputy); rs.ok()) (void)rs->Raw(SYS_shutdown, MOSIX_LINK_FD, SHUT_RDWR);
  });
}

}  // namespace mosix::agent
