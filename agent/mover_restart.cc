// The Mover's part in an agent restart (link_invariants.h, I5): the processes the table on disk
// names (ProcessTable::PersistIn) are taken back. Each is held while it is (no move, signal or
// checkpoint of it meanwhile):
//  - at home: it gets a new channel (the old one went with the old agent);
//  - away: its deputy gets a new channel and, through TLS, a new link to the node, and the
//    node puts the other end into the remote part (PrepareRelink, Relink); both sides had
//    waited for it, and the remote part sends the call it waits on again.
//  - frozen: nothing; its image is where it was.
// A forked child that still holds its parent's channel gets its own the same way before its
// first move (GiveOwnChannel).
#include <sys/socket.h>
#include <sys/un.h>

#include <csignal>
#include <cstddef>
#include <cstring>
#include <optional>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/cluster_config.h"
#include "agent/internal/arrival_client.h"
#include "agent/mover.h"
#include "agent/peers.h"
#include "base/net.h"
#include "base/status.h"
#include "checkpoint/deputy.h"
#include "interceptor/channel_protocol.h"
#include "interceptor/forward_protocol.h"
#include "interceptor/shim_info.h"

namespace mosix::agent {
namespace {

// A new channel to this agent, on MOSIX_CHANNEL_FD of the seized process; its first message
// tells the channel server whose it is (the same program as before: no hello).
absl::Status GiveChannel(Task& task, const std::string& channel_path) {
  ASSIGN_OR_RETURN(sockaddr_un addr, UnixAddress(channel_path));
  struct {
    mosix_msg_header h;
    mosix_hello hello;
  } msg = {{MOSIX_MSG_REATTACH, sizeof(mosix_hello)}, {task.pid(), MOSIX_CHANNEL_VERSION}};
  return InjectConnection(task, reinterpret_cast<const sockaddr*>(&addr), sizeof addr, MOSIX_CHANNEL_FD,
                          std::string(reinterpret_cast<const char*>(&msg), sizeof msg), SOCK_SEQPACKET);
}

}  // namespace

absl::Status Mover::GiveOwnChannel(Task& task, ProcessEntry& entry) {
  RETURN_IF_ERROR(Annotate(GiveChannel(task, channel_path_), absl::StrCat("pid ", entry.pid, ": a channel of its own")));
  // (The channel server learns it from the channel's first message, REATTACH.)
  auto now = table_->AwaitEntry(entry.pid, [](const ProcessEntry& e) { return e.channel_fd >= 0; }, absl::Seconds(10));
  if (!now || now->channel_fd < 0) {
    return absl::UnavailableError(absl::StrCat("pid ", entry.pid, ": this agent did not take the channel it was given"));
  }
  entry.channel_fd = now->channel_fd;
  entry.channel_borrowed = false;
  return absl::OkStatus();
}

void Mover::TakeBackAfterRestart(const std::vector<ProcessEntry>& entries, const std::string& channel_path) {
  for (const ProcessEntry& e : entries) {
    actions_.Post(e.pid, [this, pid = e.pid, channel_path] {
      absl::StatusOr<ProcessEntry> held = table_->Acquire(pid);
      if (!held.ok()) return;  // (it ended meanwhile)
      ProcessEntry entry = *held;
      absl::Status s = Readopt(entry, channel_path);
      table_->Release(entry);
      if (s.ok()) {
        fprintf(stderr, "mosixd: pid %d is this agent's again (%s%s)\n", pid, std::string(StateName(entry.state)).c_str(),
                entry.state == ProcState::kRemote ? absl::StrCat(" on ", entry.where).c_str() : "");
      } else {
        fprintf(stderr, "mosixd: pid %d could not be taken back whole: %s\n", pid, std::string(s.message()).c_str());
      }
    });
  }
}

absl::Status Mover::Readopt(ProcessEntry& entry, const std::string& channel_path) {
  pid_t pid = entry.pid;
  switch (entry.state) {
    case ProcState::kFrozen:
      return absl::OkStatus();
    case ProcState::kHome: {
      ASSIGN_OR_RETURN(Task task, Task::Seize(pid));
      return GiveChannel(task, channel_path);
    }
    case ProcState::kRemote:
      break;
  }
  const cluster::Node* node = FindNode(map_, entry.where);
  if (!node) return absl::InternalError(absl::StrCat("its node ", entry.where, " is not in the cluster map any more"));
  if (!transport_.tls) {  // (its link goes straight to the node: it did not go with the agent)
    ASSIGN_OR_RETURN(Task deputy, HoldDeputyForRelink(pid, entry.shim_info));
    return GiveChannel(deputy, channel_path);
  }
  return Relink(entry, *node, &channel_path);
}

absl::Status Mover::Relink(const ProcessEntry& entry, const cluster::Node& node, const std::string* channel_path,
                          NodeSpoke node_spoke) {
  pid_t pid = entry.pid;
  auto peer = PeerStub(node);
  PrepareRelinkRequest prep;
  prep.set_local_pid(entry.remote_pid);
  prep.set_home_pid(pid);
  PrepareRelinkReply prepared;
  grpc::Status ps;
  {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, 10);
    ctx.set_wait_for_ready(node_spoke == NodeSpoke::kYes);
    ps = peer->PrepareRelink(&ctx, prep, &prepared);
  }
  ASSIGN_OR_RETURN(Task deputy, HoldDeputyForRelink(pid, entry.shim_info));
  if (channel_path) RETURN_IF_ERROR(GiveChannel(deputy, *channel_path));
  if (!ps.ok()) {
    // Its remote part is gone, or its node: the deputy finds its link closed and asks how it
    // ended, on its new channel (DeputyWaits).
    RETURN_IF_ERROR(BumpLinkEpoch(deputy, entry.shim_info));
    return internal::FromGrpc(node, ps);
  }
  ASSIGN_OR_RETURN(sockaddr_in link, ParseIpv4Address(prepared.link_address()));
  grpc::Status relinked;
  std::thread call([&] {  // (the node accepts while the deputy connects)
    RelinkRequest req;
    req.set_token(prepared.token());
    RelinkReply reply;
    grpc::ClientContext ctx;
    SetDeadline(&ctx, 30);
    ctx.set_wait_for_ready(node_spoke == NodeSpoke::kYes);
    relinked = peer->Relink(&ctx, req, &reply);
  });
  absl::Status linked = internal::LinkDeputy(deputy, MOSIX_LINK_FD, node, link, prepared.link_secret(), transport_);
  absl::Status bumped = BumpLinkEpoch(deputy, entry.shim_info);
  RETURN_IF_ERROR(deputy.Detach());
  call.join();
  RETURN_IF_ERROR(linked);
  RETURN_IF_ERROR(bumped);
  // (If the node could not put the link into its remote part, the deputy sees it close.)
  if (!relinked.ok()) return internal::FromGrpc(node, relinked);
  return absl::OkStatus();
}

absl::Status Mover::StillHere(pid_t pid, int32_t local_pid, const std::string& node, const std::string& from) {
  if (!from.empty() && from != node) {
    return absl::PermissionDeniedError(absl::StrCat("permission denied: node ", from, " speaks for ", node));
  }
  auto e = table_->Get(pid);
  if (!e || e->state != ProcState::kRemote || e->where != node || e->remote_pid != local_pid || e->ended) {
    return absl::NotFoundError(absl::StrCat("pid ", pid, " of this node does not run as pid ", local_pid, " on ", node));
  }
  const cluster::Node* peer = FindNode(map_, node);
  if (!peer) return absl::NotFoundError(absl::StrCat("no node ", node, " in the cluster map"));
  {
    absl::MutexLock lock(&down_mu_);  // (it answers again)
    found_down_.erase(node);
  }
  if (!transport_.tls) return absl::OkStatus();  // (its link went straight to the deputy: it holds)
  actions_.Post(pid, [this, pid, peer = *peer, local_pid] {
    absl::StatusOr<ProcessEntry> held = table_->Acquire(pid);
    if (!held.ok()) return;
    ProcessEntry entry = *held;
    absl::Status s = entry.state == ProcState::kRemote && entry.where == peer.name() && entry.remote_pid == local_pid
                         ? Relink(entry, peer, nullptr, NodeSpoke::kYes)
                         : absl::OkStatus();  // (moved or ended meanwhile)
    table_->Release(entry);
    if (s.ok()) {
      table_->StopWaitingForEnd(pid);  // (a deputy that asked how it ended goes on instead)
      fprintf(stderr, "mosixd: pid %d on %s has a new link after that node's agent restarted\n", pid, peer.name().c_str());
    } else {
      fprintf(stderr, "mosixd: pid %d on %s could not be relinked after that node's agent restarted: %s\n", pid,
              peer.name().c_str(), std::string(s.message()).c_str());
    }
  });
  return absl::OkStatus();
}

void Mover::DeputyGone(const ProcessEntry& e) {
  if (e.state != ProcState::kRemote || e.ended) return;
  const cluster::Node* node = FindNode(map_, e.where);
  if (!node) return;
  // Its remote part cannot go on without it (killed at home, say): it ends too. (Usually it
  // has ended already, and told its deputy how: the node then knows it no more.)
  actions_.Post(e.pid, [node = *node, local_pid = e.remote_pid] {
    SignalRequest req;
    req.set_local_pid(local_pid);
    req.set_signo(SIGKILL);
    SignalReply reply;
    grpc::ClientContext ctx;
    SetDeadline(&ctx, 10);
    (void)PeerStub(node)->Signal(&ctx, req, &reply);
  });
}

}  // namespace mosix::agent
