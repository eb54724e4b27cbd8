// Talking to the other agents of the cluster.
#pragma once

#include <chrono>
#include <memory>

#include <grpcpp/grpcpp.h>

#include "proto/agent.grpc.pb.h"
#include "proto/cluster.pb.h"

namespace mosix::agent {

inline std::unique_ptr<Agent::Stub> PeerStub(const cluster::Node& node) {
  return Agent::NewStub(grpc::CreateChannel(node.address(), grpc::InsecureChannelCredentials()));
}

// A call context that gives up after `seconds`.
inline void SetDeadline(grpc::ClientContext* ctx, int seconds) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

}  // namespace mosix::agent
