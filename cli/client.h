// How the commands reach their agent: gRPC over the Unix socket MOSIX_SOCKET.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/agent.grpc.pb.h"

namespace mosix::cli {

struct AgentConnection {
  std::unique_ptr<mosix::agent::Client::Stub> stub;
  mosix::agent::PingReply info;
  std::string socket;
};

// Connects and pings; the error is one line that names the socket and the real cause: no agent
// (and how to start one), permission denied, or an agent that does not answer.
absl::StatusOr<AgentConnection> ConnectAgent();

// A gRPC status as an absl one (its message is what the agent said).
absl::Status FromGrpc(const grpc::Status& s);

// Prints "PROG: message" to stderr and returns 1.
int Fail(const char* prog, const absl::Status& s);

// What the agent knows of every node (ClusterStatus), within 5 s.
absl::StatusOr<mosix::agent::ClusterStatusReply> FetchClusterStatus(mosix::agent::Client::Stub* stub);

// A JSON list of messages, each printed by protobuf's JSON printer (field names as in the
// .proto, every field shown).
absl::StatusOr<std::string> JsonList(const std::vector<const google::protobuf::Message*>& items);
template <typename M>
absl::StatusOr<std::string> JsonList(const google::protobuf::RepeatedPtrField<M>& items) {
  std::vector<const google::protobuf::Message*> all;
  for (const M& m : items) all.push_back(&m);
  return JsonList(all);
}

}  // namespace mosix::cli
