// Talking to the other agents of the cluster: one channel per node, with mutual TLS (this
// node's certificate shown, the other's checked to name the node called) unless the map marks
// the network trusted.
#pragma once

#include <chrono>
#include <memory>

#include <grpcpp/grpcpp.h>

#include "proto/agent.grpc.pb.h"
#include "proto/cluster.pb.h"
#include "security/certs.h"

namespace mosix::agent {

// Set once at start, before any PeerStub: TLS with these credentials, or (nullptr) plain TCP.
void ConfigurePeers(const security::NodeCredentials* tls);

// A stub on a channel kept per node: a new channel costs a TCP, HTTP/2 (and TLS) handshake.
std::unique_ptr<Peer::Stub> PeerStub(const cluster::Node& node);

// A call context that gives up after `seconds`.
inline void SetDeadline(grpc::ClientContext* ctx, int seconds) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

}  // namespace mosix::agent
