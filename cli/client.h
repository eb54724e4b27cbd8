// How the commands reach their agent: gRPC over the Unix socket MOSIX_SOCKET.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "proto/agent.grpc.pb.h"

namespace mosix::cli {

struct AgentConnection {
  std::unique_ptr<mosix::agent::Agent::Stub> stub;
  mosix::agent::PingReply info;
  std::string socket;
};

// Connects and pings; with no agent there, the error is one line naming the socket and how to
// start mosixd.
absl::StatusOr<AgentConnection> ConnectAgent();

// A gRPC status as an absl one (its message is what the agent said).
absl::Status FromGrpc(const grpc::Status& s);

// Prints "PROG: message" to stderr and returns 1.
int Fail(const char* prog, const absl::Status& s);

}  // namespace mosix::cli
