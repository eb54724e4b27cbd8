// The target side of a move: processes arriving from their home nodes. For each arrival a
// one-use TCP listener receives the link from the deputy; the image is received into this
// node's state dir and restored, in remote mode, into a stub process the agent starts.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/fd.h"
#include "proto/agent.grpc.pb.h"

namespace mosix::agent {

class Arrivals {
 public:
  Arrivals(std::string state_dir, std::string node_address)
      : state_dir_(std::move(state_dir)), node_address_(std::move(node_address)) {}

  absl::StatusOr<PrepareArrivalReply> Prepare(const PrepareArrivalRequest& req);
  absl::StatusOr<ArrivalReply> Arrive(grpc::ServerReaderInterface<ArrivalChunk>* reader);

  // Guests running here: local pid -> "home_node:home_pid".
  std::map<pid_t, std::string> Guests();

 private:
  struct Pending {
    UniqueFd listener;
    std::string home;
  };
  absl::StatusOr<pid_t> StartStub(int link);
  void Reap(pid_t pid);

  std::string state_dir_;
  std::string node_address_;
  absl::Mutex mu_;
  std::map<std::string, Pending> pending_ ABSL_GUARDED_BY(mu_);
  std::map<pid_t, std::string> guests_ ABSL_GUARDED_BY(mu_);
  uint64_t next_token_ ABSL_GUARDED_BY(mu_) = 1;
};

// The first thing mosixd does when started as `mosixd --stub`: wait, single-threaded, to be
// turned into an arriving process.
[[noreturn]] void RunStub();

}  // namespace mosix::agent
