// The gRPC service local clients talk to. Converts absl::Status to grpc::Status here only.
#pragma once

#include <string>
#include <vector>

#include "agent/arrivals.h"
#include "agent/checkpointer.h"
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

class AgentService final : public mosix::agent::Agent::Service {
 public:
  AgentService(AgentInfo info, cluster::ClusterMap map, ProcessTable* table, Checkpointer* checkpointer, Mover* mover,
               Arrivals* arrivals)
      : info_(std::move(info)), map_(std::move(map)), table_(table), checkpointer_(checkpointer), mover_(mover),
        arrivals_(arrivals) {}

  grpc::Status Ping(grpc::ServerContext*, const PingRequest*, PingReply*) override;
  grpc::Status Register(grpc::ServerContext*, const RegisterRequest*, RegisterReply*) override;
  grpc::Status Checkpoint(grpc::ServerContext*, const CheckpointRequest*, CheckpointReply*) override;
  grpc::Status ListProcesses(grpc::ServerContext*, const ListRequest*, ListReply*) override;
  grpc::Status Migrate(grpc::ServerContext*, const MigrateRequest*, MigrateReply*) override;
  grpc::Status PrepareArrival(grpc::ServerContext*, const PrepareArrivalRequest*, PrepareArrivalReply*) override;
  grpc::Status Arrive(grpc::ServerContext*, grpc::ServerReader<ArrivalChunk>*, ArrivalReply*) override;
  grpc::Status Signal(grpc::ServerContext*, const SignalRequest*, SignalReply*) override;
  grpc::Status Ended(grpc::ServerContext*, const EndedRequest*, EndedReply*) override;
  grpc::Status Depart(grpc::ServerContext*, const DepartRequest*, grpc::ServerWriter<DepartChunk>*) override;
  grpc::Status FinishDeparture(grpc::ServerContext*, const FinishDepartureRequest*, FinishDepartureReply*) override;
  grpc::Status CheckpointGuest(grpc::ServerContext*, const DepartRequest*, grpc::ServerWriter<DepartChunk>*) override;
  grpc::Status Guests(grpc::ServerContext*, const GuestsRequest*, GuestsReply*) override;

 private:
  AgentInfo info_;
  cluster::ClusterMap map_;
  ProcessTable* table_;
  Checkpointer* checkpointer_;
  Mover* mover_;
  Arrivals* arrivals_;
};

grpc::Status ToGrpc(const absl::Status& s);

}  // namespace mosix::agent
