// Talking to the other agents of the cluster.
#pragma once

#include <chrono>
#include <memory>

#include <grpcpp/grpcpp.h>

#include "proto/agent.grpc.pb.h"
#include "proto/cluster.pb.h"

namespace mosix::agent {

// A stub on a channel kept per address: a new channel costs a TCP and HTTP/2 handshake.
std::unique_ptr<Agent::Stub> PeerStub(const cluster::Node& node);

// A call context that gives up after `seconds`.
inline void SetDeadline(grpc::ClientContext* ctx, int seconds) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

}  // namespace mosix::agent
