// Talking to the other agents of the cluster: one channel per node, with mutual TLS (this
// node's certificate shown, the other's checked to name the node called) unless the map marks
// the network trusted.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <grpcpp/grpcpp.h>

#include "proto/agent.grpc.pb.h"
#include "proto/cluster.pb.h"
#include "security/certs.h"

namespace mosix::agent {

// Set once at start, before any PeerStub: TLS with these credentials, or (nullptr) plain TCP.
void ConfigurePeers(const security::NodeCredentials* tls);

// A stub on a channel kept per node: a new channel costs a TCP, HTTP/2 (and TLS) handshake.
std::unique_ptr<Peer::Stub> PeerStub(const cluster::Node& node);

// What the nodes that run this node's processes say of them: each of `nodes` asked once
// (Guests), for up to `timeout`. By node: `home`'s guests there by their home pid, and the
// node's memory now. A node that does not answer is left out. `yield`: by node, the home pids
// of guests there to run niced from now on (agent/decide/aging.h).
struct NodeGuests {
  std::map<int32_t, GuestInfo> by_home_pid;
  uint64_t mem_free_mb = 0, mem_total_mb = 0;
};
std::map<std::string, NodeGuests> AskGuests(const cluster::ClusterMap& map, const std::string& home,
                                            const std::set<std::string>& nodes, std::chrono::milliseconds timeout,
                                            const std::map<std::string, std::vector<int32_t>>& yield = {});
// home_pid's entry in what `node` said, or null.
const GuestInfo* FindGuest(const std::map<std::string, NodeGuests>& asked, const std::string& node, int32_t home_pid);

// Whether a node's agent answers (a Ping within `timeout`); if not, whether its machine does:
// a connection to the agent's port refused means the machine is up and its agent is not (it
// may be restarting, and its guests still run: the agent of a node takes them back, see
// arrivals.h), while silence means the machine or the network is gone.
enum class NodeReach { kAnswers, kAgentDown, kSilent };
NodeReach ReachOf(const cluster::Node& node, std::chrono::milliseconds timeout);
// How long a home agent waits for the restarted agent of a node that refuses connections to take
// its guests back before it gives them up: within the time a guest waits for a new link
// (MOSIX_RELINK_WAIT_S).
constexpr std::chrono::seconds kAgentRestartGrace{25};

// Runs attempt() (true: done, whatever the answer), and again every `every` while it is not
// done and `node`'s machine refuses connections (its agent restarting: the next one takes its
// guests back), for up to kAgentRestartGrace.
void RetryWhileAgentRestarts(const cluster::Node& node, std::chrono::milliseconds every, const std::function<bool()>& attempt);

// A call context that gives up after `seconds`.
inline void SetDeadline(grpc::ClientContext* ctx, int seconds) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

}  // namespace mosix::agent
