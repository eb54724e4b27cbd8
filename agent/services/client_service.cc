#include "agent/services/client_service.h"

#include <unistd.h>

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "base/file_util.h"
#include "checkpoint/dump.h"
#include "checkpoint/procfs.h"
#include "agent/decide/aging.h"
#include "agent/peers.h"
#include "agent/services/caller.h"
#include "checkpoint/creds.h"
#include "interceptor/channel_protocol.h"

#include <map>

namespace mosix::agent {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

grpc::Status ClientService::Ping(grpc::ServerContext*, const PingRequest*, PingReply* reply) {
  reply->set_node(info_.node);
  reply->set_version("mosix 0.1");
  reply->set_agent_pid(getpid());
  reply->set_state_dir(info_.state_dir);
  reply->set_channel_socket(info_.channel_socket);
  reply->set_address(info_.address);
  for (const auto& n : info_.nodes) reply->add_nodes(n);
  return grpc::Status::OK;
}

absl::Status RegisterProcess(ProcessTable* table, const AgentInfo& info, pid_t caller, const RegisterRequest& req) {
  if (req.pid() <= 0) return absl::InvalidArgumentError("register: invalid pid");
  // mosrun registers itself, the process that is about to exec the program: no one else.
  if (req.pid() != caller) {
    return absl::PermissionDeniedError(absl::StrCat("permission denied: pid ", caller, " may register itself only, not pid ", req.pid()));
  }
  if (!(req.checkpoint_interval_s() >= 0)) return absl::InvalidArgumentError("register: negative checkpoint interval");
  ProcessEntry e;
  e.pid = req.pid();
  e.argv.assign(req.argv().begin(), req.argv().end());
  e.options.set_checkpoint_file(req.checkpoint_file());
  e.options.set_checkpoint_interval_s(req.checkpoint_interval_s());
  e.options.set_keep_home(req.keep_home());
  e.options.set_locked(req.locked());
  e.options.set_memory_mb(req.memory_mb());
  if (req.keep_home() && !req.start_on().empty()) return absl::InvalidArgumentError("register: -h (keep home) and -r NODE together");
  if (!req.start_on().empty()) {
    bool known = false;
    for (const auto& n : info.nodes) known = known || n == req.start_on();
    if (!known) return absl::NotFoundError(absl::StrCat("no node '", req.start_on(), "' in the cluster"));
    if (req.start_on() != info.node) e.start_on = e.run_on = req.start_on();
  }
  return table->Register(std::move(e));
}

grpc::Status ClientService::Register(grpc::ServerContext* ctx, const RegisterRequest* req, RegisterReply*) {
  auto caller = CallerOf(*ctx);
  if (!caller.ok()) return ToGrpc(caller.status());
  return ToGrpc(RegisterProcess(table_, info_, caller->pid, *req));
}

grpc::Status ClientService::Checkpoint(grpc::ServerContext* ctx, const CheckpointRequest* req, CheckpointReply* reply) {
  if (auto s = CheckCallerMayControl(*ctx, req->pid()); !s.ok()) return ToGrpc(s);
  auto r = checkpointer_->Checkpoint(req->pid(), req->path());
  if (!r.ok()) return ToGrpc(r.status());
  reply->set_path(r->path);
  reply->set_bytes(r->bytes);
  reply->set_pages(r->pages);
  reply->set_seconds(r->seconds);
  for (const std::string& n : r->notes) reply->add_notes(n);
  return grpc::Status::OK;
}


grpc::Status ClientService::ListProcesses(grpc::ServerContext*, const ListRequest*, ListReply* reply) {
  // A process away from home uses CPU and memory where it runs: ask each node it runs on once.
  std::vector<ProcessEntry> entries = table_->Snapshot();
  std::set<std::string> nodes;
  for (const ProcessEntry& e : entries) {
    if (e.state == ProcState::kRemote) nodes.insert(e.where);
  }
  auto away = AskGuests(map_, info_.node, nodes, std::chrono::seconds(2));
  for (const ProcessEntry& e : entries) {
    ProcessInfo* p = reply->add_processes();
    p->set_pid(e.pid);
    p->set_state(e.busy ? "migrating" : std::string(StateName(e.state)));  // busy: being moved or checkpointed
    p->set_where(e.state == ProcState::kRemote ? e.where : info_.node);
    p->set_from(info_.node);
    if (auto creds = ReadCredentials(e.pid); creds.ok()) {
      p->set_uid(creds->uid());
      p->set_user(UserName(creds->uid()));
    }
    Usage usage = UsageOf(e.pid);
    double cpu = usage.cpu_seconds;
    int nice = e.state == ProcState::kHome ? NiceOf(e.pid).value_or(0) : 0;
    uint64_t rss = usage.rss_kb;
    cpu += e.cpu_elsewhere;
    if (const GuestInfo* g = e.state == ProcState::kRemote ? FindGuest(away, e.where, e.pid) : nullptr) {
      cpu += g->cpu_seconds();  // its deputy's (next to nothing) and its own over there
      rss = g->rss_kb();
      nice = g->nice();
    }
    p->set_nice(nice);
    p->set_cpu_seconds(cpu);
    p->set_rss_kb(rss);
    p->set_command(absl::StrJoin(e.argv, " "));
    p->set_checkpoint_file(e.options.checkpoint_file());
    p->set_checkpoint_interval_s(e.options.checkpoint_interval_s());
    p->set_checkpoints(e.options.checkpoint_count());
    p->set_last_checkpoint(e.last_checkpoint);
    p->set_moves(e.moves);
    p->set_locked(e.options.locked() || e.options.keep_home());
    p->set_stays(brain_->WhyStays(e.pid));
    if (e.state != ProcState::kHome) continue;
    absl::Status why = CheckMovable(e.pid, e.ChannelFdInProcess());
    if (!why.ok()) p->set_cannot_migrate(std::string(why.message()));
  }
  return grpc::Status::OK;
}

grpc::Status ClientService::Migrate(grpc::ServerContext* ctx, const MigrateRequest* req, MigrateReply* reply) {
  if (auto s = CheckCallerMayControl(*ctx, req->pid()); !s.ok()) return ToGrpc(s);
  if (req->target() == "checkpoint") {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "use the Checkpoint call for checkpoints");
  }
  if (req->target() == "balance") {
    auto to = brain_->BalanceNow(req->pid());
    if (!to.ok()) return ToGrpc(to.status());
    reply->set_state(absl::StrCat("going to ", *to));
    return grpc::Status::OK;
  }
  auto r = mover_->Move(req->pid(), req->target());
  if (!r.ok()) return ToGrpc(r.status());
  reply->set_state(r->state);
  reply->set_image(r->image);
  reply->set_seconds(r->seconds);
  reply->set_bytes_sent(r->bytes_sent);
  reply->set_frozen_seconds(r->frozen_seconds);
  return grpc::Status::OK;
}

grpc::Status ClientService::ClusterStatus(grpc::ServerContext*, const ClusterStatusRequest*, ClusterStatusReply* reply) {
  for (NodeStatus& n : view_->Status()) *reply->add_nodes() = std::move(n);
  reply->set_gossip_step_s(std::chrono::duration<double>(view_->settings().step).count());
  return grpc::Status::OK;
}

grpc::Status ClientService::Admin(grpc::ServerContext* ctx, const AdminRequest* req, AdminReply* reply) {
  auto caller = CallerOf(*ctx);
  if (!caller.ok()) return ToGrpc(caller.status());
  if (caller->uid != 0) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat("permission denied: mosctl ", req->command().substr(0, 32), " is for root (uid ", caller->uid, " asked)"));
  }
  auto done = admin_->Do(req->command());
  if (!done.ok()) return ToGrpc(done.status());
  reply->set_done(*done);
  return grpc::Status::OK;
}

}  // namespace mosix::agent
