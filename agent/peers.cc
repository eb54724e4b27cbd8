#include "agent/peers.h"

#include <map>
#include <string>

#include "absl/synchronization/mutex.h"

namespace mosix::agent {

std::unique_ptr<Agent::Stub> PeerStub(const cluster::Node& node) {
  static absl::Mutex mu;
  static auto* channels = new std::map<std::string, std::shared_ptr<grpc::Channel>>;
  absl::MutexLock lock(&mu);
  auto& channel = (*channels)[node.address()];
  if (!channel) channel = grpc::CreateChannel(node.address(), grpc::InsecureChannelCredentials());
  return Agent::NewStub(channel);
}

}  // namespace mosix::agent
