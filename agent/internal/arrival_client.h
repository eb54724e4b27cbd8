// The home agent's side of a move to another node: preparing the arrival, streaming the image
// while the target restores, and the calls around it. Internal to agent/.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "base/fd.h"
#include "proto/agent.grpc.pb.h"
#include "proto/cluster.pb.h"

namespace mosix::agent::internal {

// host:port (IPv4) as a socket address.
absl::StatusOr<sockaddr_in> ParseAddress(const std::string& address);
// An agent's failure as a status naming its node.
absl::Status Unreachable(const cluster::Node& node, const grpc::Status& s);
absl::Status FromGrpc(const cluster::Node& node, const grpc::Status& s);
// After a Depart: the process runs elsewhere now (the node ends its copy), or not (it goes on).
void FinishDeparture(Agent::Stub* node, int32_t local_pid, bool arrived);

// One arrival at a target node, seen from the home agent: prepared there (listeners for the
// link and the image), then an image streamed into it while the Arrive call waits for the
// process to run there.
class Arrival {
 public:
  // mapped_files: the process's, so that the target says which it has (files_here()).
  static absl::StatusOr<std::unique_ptr<Arrival>> Prepare(const cluster::Node& node, const std::string& home, pid_t pid,
                                                          const std::vector<MappedFile>& mapped_files = {});
  ~Arrival();

  const sockaddr* link() const { return reinterpret_cast<const sockaddr*>(&link_); }
  socklen_t link_len() const { return sizeof link_; }
  // Connects the image stream and starts the Arrive call; the image goes into data_fd().
  absl::Status Begin(uint64_t shim_info, uint64_t text_start, uint64_t text_end);
  int data_fd() const { return data_.get(); }
  // The files the process maps that the target has the same: not to be sent.
  const google::protobuf::RepeatedPtrField<std::string>& files_here() const { return prepared_.files_here(); }
  std::string what() const;
  // Ends (or cuts) the stream and waits for the target: the process runs there, or why not.
  absl::StatusOr<ArrivalReply> End();

 private:
  Arrival(const cluster::Node& node, std::string home, pid_t pid);

  cluster::Node node_;
  std::unique_ptr<Agent::Stub> stub_;
  std::string home_;
  pid_t pid_;
  PrepareArrivalReply prepared_;
  sockaddr_in link_{}, data_addr_{};
  UniqueFd data_;
  std::thread call_;
  ArrivalReply reply_;
  grpc::Status status_;
};

}  // namespace mosix::agent::internal
