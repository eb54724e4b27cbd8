#include "agent/service.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "checkpoint/dump.h"
#include "checkpoint/procfs.h"
#include "interceptor/channel_protocol.h"

namespace mosix::agent {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

grpc::Status AgentService::Ping(grpc::ServerContext*, const PingRequest*, PingReply* reply) {
  reply->set_node(info_.node);
  reply->set_version("mosix 0.1");
  reply->set_agent_pid(getpid());
  reply->set_state_dir(info_.state_dir);
  reply->set_channel_socket(info_.channel_socket);
  reply->set_address(info_.address);
  for (const auto& n : info_.nodes) reply->add_nodes(n);
  return grpc::Status::OK;
}

grpc::Status AgentService::Register(grpc::ServerContext*, const RegisterRequest* req, RegisterReply*) {
  if (req->pid() <= 0) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "register: invalid pid");
  if (req->checkpoint_interval_s() < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "register: negative checkpoint interval");
  }
  ProcessEntry e;
  e.pid = req->pid();
  e.argv.assign(req->argv().begin(), req->argv().end());
  e.options.set_checkpoint_file(req->checkpoint_file());
  e.options.set_checkpoint_interval_s(req->checkpoint_interval_s());
  if (!req->start_on().empty()) {
    bool known = false;
    for (const auto& n : info_.nodes) known = known || n == req->start_on();
    if (!known) return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no node '", req->start_on(), "' in the cluster"));
    if (req->start_on() != info_.node) e.start_on = req->start_on();
  }
  return ToGrpc(table_->Register(std::move(e)));
}

grpc::Status AgentService::Checkpoint(grpc::ServerContext*, const CheckpointRequest* req, CheckpointReply* reply) {
  auto r = checkpointer_->Checkpoint(req->pid(), req->path());
  if (!r.ok()) return ToGrpc(r.status());
  reply->set_path(r->path);
  reply->set_bytes(r->bytes);
  reply->set_pages(r->pages);
  reply->set_seconds(r->seconds);
  return grpc::Status::OK;
}

grpc::Status AgentService::ListProcesses(grpc::ServerContext*, const ListRequest*, ListReply* reply) {
  for (const ProcessEntry& e : table_->Snapshot()) {
    ProcessInfo* p = reply->add_processes();
    p->set_pid(e.pid);
    p->set_state(e.busy ? "migrating" : e.state);  // busy: being moved or checkpointed
    p->set_where(e.state == "remote" ? e.where : info_.node);
    p->set_from(info_.node);
    if (auto st = ReadStat(e.pid); st.ok()) {
      p->set_cpu_seconds(static_cast<double>(st->utime + st->stime) / sysconf(_SC_CLK_TCK));
      p->set_rss_kb(st->rss_pages * 4);
    }
    p->set_command(absl::StrJoin(e.argv, " "));
    p->set_checkpoint_file(e.options.checkpoint_file());
    p->set_checkpoint_interval_s(e.options.checkpoint_interval_s());
    p->set_checkpoints(e.options.checkpoint_count());
    p->set_last_checkpoint(e.last_checkpoint);
    if (e.state != "home") continue;
    absl::Status why = CheckCheckpointable(e.pid, e.channel_fd >= 0 ? MOSIX_CHANNEL_FD : -1);
    if (!why.ok()) p->set_cannot_migrate(std::string(why.message()));
  }
  return grpc::Status::OK;
}

grpc::Status AgentService::Migrate(grpc::ServerContext*, const MigrateRequest* req, MigrateReply* reply) {
  if (req->target() == "checkpoint") {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "use the Checkpoint call for checkpoints");
  }
  auto r = mover_->Move(req->pid(), req->target());
  if (!r.ok()) return ToGrpc(r.status());
  reply->set_state(r->state);
  reply->set_image(r->image);
  reply->set_seconds(r->seconds);
  return grpc::Status::OK;
}

grpc::Status AgentService::PrepareArrival(grpc::ServerContext*, const PrepareArrivalRequest* req, PrepareArrivalReply* reply) {
  auto r = arrivals_->Prepare(*req);
  if (!r.ok()) return ToGrpc(r.status());
  *reply = *r;
  return grpc::Status::OK;
}

grpc::Status AgentService::Arrive(grpc::ServerContext*, grpc::ServerReader<ArrivalChunk>* reader, ArrivalReply* reply) {
  auto r = arrivals_->Arrive(reader);
  if (!r.ok()) return ToGrpc(r.status());
  *reply = *r;
  return grpc::Status::OK;
}

grpc::Status AgentService::Signal(grpc::ServerContext*, const SignalRequest* req, SignalReply*) {
  if (req->signo() <= 0 || req->signo() > 64) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad signal number");
  return ToGrpc(arrivals_->Signal(req->local_pid(), req->signo()));
}

grpc::Status AgentService::Ended(grpc::ServerContext*, const EndedRequest* req, EndedReply*) {
  mover_->RemoteEnded(req->home_pid(), req->wait_status());
  return grpc::Status::OK;
}

grpc::Status AgentService::Depart(grpc::ServerContext*, const DepartRequest* req, grpc::ServerWriter<DepartChunk>* writer) {
  return ToGrpc(arrivals_->Depart(req->local_pid(), writer, /*leaving=*/true, req->in_flight_ok()));
}

grpc::Status AgentService::CheckpointGuest(grpc::ServerContext*, const DepartRequest* req, grpc::ServerWriter<DepartChunk>* writer) {
  return ToGrpc(arrivals_->Depart(req->local_pid(), writer, /*leaving=*/false));
}

grpc::Status AgentService::FinishDeparture(grpc::ServerContext*, const FinishDepartureRequest* req, FinishDepartureReply*) {
  return ToGrpc(arrivals_->FinishDeparture(req->local_pid(), req->arrived()));
}

}  // namespace mosix::agent
