#include "agent/services/peer_service.h"

#include <unistd.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "agent/cluster_config.h"
#include "agent/decide/aging.h"
#include "agent/services/client_service.h"
#include "checkpoint/procfs.h"

namespace mosix::agent {
namespace {

// More processes than any node runs (pid_max's default is 4 million; a request this big is not
// from an agent).
constexpr int kMaxYieldPids = 1 << 16;

}  // namespace

absl::StatusOr<std::string> CertifiedNode(const grpc::ServerContext& ctx) {
  auto auth = ctx.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) return absl::PermissionDeniedError("permission denied: the peer has no certificate");
  std::vector<grpc::string_ref> cn = auth->FindPropertyValues("x509_common_name");
  if (cn.size() != 1) return absl::PermissionDeniedError("permission denied: the peer's certificate names no node");
  return std::string(cn[0].data(), cn[0].size());
}

absl::StatusOr<std::string> PeerService::From(const grpc::ServerContext& ctx) const {
  if (!tls_) return std::string();
  auto name = CertifiedNode(ctx);
  if (!name.ok()) return name.status();
  if (!FindNode(map_, *name)) {
    return absl::PermissionDeniedError(absl::StrCat("permission denied: '", *name, "' is not a node of this cluster"));
  }
  return name;
}

grpc::Status PeerService::Ping(grpc::ServerContext* ctx, const PingRequest*, PingReply* reply) {
  auto from = From(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  reply->set_node(node_);
  reply->set_version("mosix 0.1");
  return grpc::Status::OK;
}

grpc::Status PeerService::PrepareArrival(grpc::ServerContext* ctx, const PrepareArrivalRequest* req, PrepareArrivalReply* reply) {
  auto from = From(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  if (!FindNode(map_, req->home_node())) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, absl::StrCat("'", req->home_node(), "' is not a node of this cluster"));
  }
  if (!policy_->TakesGuests()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("node ", node_, " takes no guests (", policy_->Isolated() ? "isolated" : "blocked", " by its administrator)"));
  }
  if (!from->empty() && *from != req->home_node()) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat("permission denied: node ", *from, " may not send arrivals for ", req->home_node()));
  }
  auto r = arrivals_->Prepare(*req);
  if (!r.ok()) return ToGrpc(r.status());
  *reply = *r;
  return grpc::Status::OK;
}

grpc::Status PeerService::Arrive(grpc::ServerContext* ctx, grpc::ServerReader<ArrivalChunk>* reader, ArrivalReply* reply) {
  auto from = From(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  auto r = arrivals_->Arrive(reader, *from);
  if (!r.ok()) return ToGrpc(r.status());
  gossiper_->WorkArrived(1);  // (everyone sees this node busier at once: no herd here)
  if (metrics_) metrics_->MoveIn(r->restore_seconds());
  *reply = *r;
  return grpc::Status::OK;
}

grpc::Status PeerService::Signal(grpc::ServerContext* ctx, const SignalRequest* req, SignalReply*) {
  auto from = From(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  if (req->signo() <= 0 || req->signo() > 64) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad signal number");
  return ToGrpc(arrivals_->Signal(req->local_pid(), req->signo(), req->seq(), *from));
}

grpc::Status PeerService::Ended(grpc::ServerContext* ctx, const EndedRequest* req, EndedReply*) {
  auto from = From(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  return ToGrpc(mover_->RemoteEnded(req->home_pid(), req->local_pid(), req->wait_status(), *from));
}

grpc::Status PeerService::Depart(grpc::ServerContext* ctx, const DepartRequest* req, grpc::ServerWriter<DepartChunk>* writer) {
  auto from = From(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  return ToGrpc(arrivals_->Depart(*req, writer, /*leaving=*/true, *from));
}

grpc::Status PeerService::CheckpointGuest(grpc::ServerContext* ctx, const DepartRequest* req,
                                          grpc::ServerWriter<DepartChunk>* writer) {
  auto from = From(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  return ToGrpc(arrivals_->Depart(*req, writer, /*leaving=*/false, *from));
}

grpc::Status PeerService::FinishDeparture(grpc::ServerContext* ctx, const FinishDepartureRequest* req, FinishDepartureReply*) {
  auto from = From(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  return ToGrpc(arrivals_->FinishDeparture(req->local_pid(), req->arrived(), *from));
}

grpc::Status PeerService::TakeBack(grpc::ServerContext* ctx, const TakeBackRequest* req, TakeBackReply*) {
  auto from = From(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  // A node that sends its guests home (it stops, or expels them) takes none until it says
  // otherwise in a newer gossip entry: no move is tried there meanwhile.
  if (!from->empty()) view_->TakesNoGuests(*from);
  return ToGrpc(mover_->TakeBack(req->home_pid(), req->local_pid(), *from));
}

grpc::Status PeerService::PrepareRelink(grpc::ServerContext* ctx, const PrepareRelinkRequest* req, PrepareRelinkReply* reply) {
  auto from = From(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  auto r = arrivals_->PrepareRelink(*req, *from);
  if (!r.ok()) return ToGrpc(r.status());
  *reply = *r;
  return grpc::Status::OK;
}

grpc::Status PeerService::Relink(grpc::ServerContext* ctx, const RelinkRequest* req, RelinkReply*) {
  auto from = From(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  return ToGrpc(arrivals_->Relink(*req, *from));
}

grpc::Status PeerService::StillHere(grpc::ServerContext* ctx, const StillHereRequest* req, StillHereReply*) {
  auto from = From(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  return ToGrpc(mover_->StillHere(req->home_pid(), req->local_pid(), req->node(), *from));
}

grpc::Status PeerService::Guests(grpc::ServerContext* ctx, const GuestsRequest* req, GuestsReply* reply) {
  auto from = From(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  if (req->yield_home_pids_size() > kMaxYieldPids) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, absl::StrCat("a Guests request names ", req->yield_home_pids_size(),
                                                                         " processes to yield; at most ", kMaxYieldPids));
  }
  // Whose guests may be reniced: the certified node's; on a trusted network, the one named.
  const std::string& asker = from->empty() ? req->home_node() : *from;
  std::set<int32_t> yield(req->yield_home_pids().begin(), req->yield_home_pids().end());
  for (const auto& [pid, guest] : arrivals_->Guests()) {
    if (!from->empty() && guest.home_node != *from) continue;  // only the asking node's own
    if (guest.home_node == asker && yield.count(guest.home_pid)) {
      if (absl::Status s = RunNiced(pid); !s.ok() && !absl::IsNotFound(s)) {
        fprintf(stderr, "mosixd: pid %d of %s (here %d) does not yield: %s\n", guest.home_pid, guest.home_node.c_str(), pid,
                std::string(s.message()).c_str());
      }
    }
    GuestInfo* g = reply->add_guests();
    g->set_local_pid(pid);
    g->set_home_node(guest.home_node);
    g->set_home_pid(guest.home_pid);
    Usage u = UsageOf(pid);
    g->set_cpu_seconds(u.cpu_seconds);
    g->set_rss_kb(u.rss_kb);
    g->set_busy_ns(u.busy_ns);
    g->set_nice(NiceOf(pid).value_or(0));
  }
  for (const Arrivals::Ended& e : arrivals_->RecentlyEnded()) {
    if (!from->empty() && e.home_node != *from) continue;
    EndedGuest* g = reply->add_ended();
    g->set_local_pid(e.local_pid);
    g->set_home_pid(e.home_pid);
    g->set_wait_status(e.wait_status);
  }
  if (auto self = view_->Get(node_)) {
    reply->set_mem_free_mb(self->load.mem_free_mb());
    reply->set_mem_total_mb(self->load.mem_total_mb());
  }
  return grpc::Status::OK;
}

grpc::Status PeerService::Gossip(grpc::ServerContext* ctx, const GossipRequest* req, GossipReply*) {
  auto from = From(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  if (policy_->Isolated()) return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, absl::StrCat("node ", node_, " is isolated"));
  return ToGrpc(view_->Merge(*req, *from));
}

}  // namespace mosix::agent
