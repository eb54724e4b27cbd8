// The client service: what the commands (mosrun, migrate, mosps, mosctl) ask of this node's
// agent, through the client door only. Every call that acts on a process is checked against
// who asks (caller.h). Converts absl::Status to grpc::Status here only.
#pragma once

#include <string>
#include <vector>

#include "agent/checkpointer.h"
#include "agent/cluster/cluster_view.h"
#include "agent/decide/brain.h"
#include "agent/decide/node_admin.h"
#include "agent/mover.h"
#include "agent/process_table.h"
#include "proto/agent.grpc.pb.h"

namespace mosix::agent {

struct AgentInfo {
  std::string node;
  std::string state_dir;
  std::string channel_socket;
  std::string address;  // TCP listener, "" in a one-node cluster
  std::vector<std::string> nodes;
};

// Registers `caller` (as the kernel names it) as the request says: what mosrun asks, on the
// channel (MOSIX_MSG_REGISTER) or through the Register RPC.
absl::Status RegisterProcess(ProcessTable* table, const AgentInfo& info, pid_t caller, const RegisterRequest& req);

class ClientService final : public mosix::agent::Client::Service {
 public:
  ClientService(AgentInfo info, cluster::ClusterMap map, ProcessTable* table, Checkpointer* checkpointer, Mover* mover,
                ClusterView* view, Brain* brain, NodeAdmin* admin)
      : info_(std::move(info)),
        map_(std::move(map)),
        table_(table),
        checkpointer_(checkpointer),
        mover_(mover),
        view_(view),
        brain_(brain),
        admin_(admin) {}

  grpc::Status Ping(grpc::ServerContext*, const PingRequest*, PingReply*) override;
  grpc::Status Register(grpc::ServerContext*, const RegisterRequest*, RegisterReply*) override;
  grpc::Status Checkpoint(grpc::ServerContext*, const CheckpointRequest*, CheckpointReply*) override;
  grpc::Status ListProcesses(grpc::ServerContext*, const ListRequest*, ListReply*) override;
  grpc::Status Migrate(grpc::ServerContext*, const MigrateRequest*, MigrateReply*) override;
  grpc::Status ClusterStatus(grpc::ServerContext*, const ClusterStatusRequest*, ClusterStatusReply*) override;
  grpc::Status Admin(grpc::ServerContext*, const AdminRequest*, AdminReply*) override;

 private:
  AgentInfo info_;
  cluster::ClusterMap map_;
  ProcessTable* table_;
  Checkpointer* checkpointer_;
  Mover* mover_;
  ClusterView* view_;
  Brain* brain_;
  NodeAdmin* admin_;
};

grpc::Status ToGrpc(const absl::Status& s);

}  // namespace mosix::agent
