#include "agent/peers.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <map>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "base/fd.h"
#include "base/net.h"

namespace mosix::agent {
namespace {

absl::Mutex mu;
std::shared_ptr<grpc::ChannelCredentials>* credentials ABSL_GUARDED_BY(mu) = nullptr;
bool tls ABSL_GUARDED_BY(mu) = false;

}  // namespace

void ConfigurePeers(const security::NodeCredentials* creds) {
  absl::MutexLock lock(&mu);
  if (creds) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = creds->ca_pem;
    o.pem_private_key = creds->key_pem;
    o.pem_cert_chain = creds->cert_pem;
    credentials = new std::shared_ptr<grpc::ChannelCredentials>(grpc::SslCredentials(o));
    tls = true;
  } else {
    credentials = new std::shared_ptr<grpc::ChannelCredentials>(grpc::InsecureChannelCredentials());
    tls = false;
  }
}

std::unique_ptr<Peer::Stub> PeerStub(const cluster::Node& node) {
  static auto* channels = new std::map<std::string, std::shared_ptr<grpc::Channel>>;
  absl::MutexLock lock(&mu);
  if (!credentials) credentials = new std::shared_ptr<grpc::ChannelCredentials>(grpc::InsecureChannelCredentials());
  auto& channel = (*channels)[node.name()];
  if (!channel) {
    grpc::ChannelArguments args;
    // The peer's certificate must name the node, whatever its address.
    if (tls) args.SetSslTargetNameOverride(node.name());
    // A restarted peer is tried again soon, not after gRPC's growing backoff.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    channel = grpc::CreateCustomChannel(node.address(), *credentials, args);
  }
  return Peer::NewStub(channel);
}

std::map<std::string, NodeGuests> AskGuests(const cluster::ClusterMap& map, const std::string& home,
                                            const std::set<std::string>& nodes, std::chrono::milliseconds timeout,
                                            const std::map<std::string, std::vector<int32_t>>& yield) {
  std::map<std::string, NodeGuests> out;
  for (const auto& n : map.nodes()) {
    if (!nodes.count(n.name())) continue;
    GuestsRequest req;
    req.set_home_node(home);
    if (auto y = yield.find(n.name()); y != yield.end()) req.mutable_yield_home_pids()->Assign(y->second.begin(), y->second.end());
    GuestsReply r;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    if (!PeerStub(n)->Guests(&ctx, req, &r).ok()) continue;
    NodeGuests& g = out[n.name()];
    g.mem_free_mb = r.mem_free_mb();
    g.mem_total_mb = r.mem_total_mb();
    // (Authenticated, a node answers with the asking node's guests only; on a trusted network
    // it cannot tell who asks.)
    for (const GuestInfo& guest : r.guests()) {
      if (guest.home_node() == home) g.by_home_pid[guest.home_pid()] = guest;
    }
  }
  return out;
}

const GuestInfo* FindGuest(const std::map<std::string, NodeGuests>& asked, const std::string& node, int32_t home_pid) {
  auto n = asked.find(node);
  if (n == asked.end()) return nullptr;
  auto g = n->second.by_home_pid.find(home_pid);
  return g == n->second.by_home_pid.end() ? nullptr : &g->second;
}

NodeReach ReachOf(const cluster::Node& node, std::chrono::milliseconds timeout) {
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    PingReply pong;
    if (PeerStub(node)->Ping(&ctx, PingRequest(), &pong).ok()) return NodeReach::kAnswers;
  }
  auto addr = ParseIpv4Address(node.address());
  if (!addr.ok()) return NodeReach::kSilent;
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s.valid()) return NodeReach::kSilent;
  int r = ::connect(s.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);
  if (r != 0 && errno == EINPROGRESS) {
    pollfd p{s.get(), POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return NodeReach::kSilent;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return NodeReach::kSilent;
    errno = err;
    r = err == 0 ? 0 : -1;
  }
  // (Connected, yet no answer to a ping: an agent too busy or half started; not gone.)
  if (r == 0 || errno == ECONNREFUSED) return NodeReach::kAgentDown;
  return NodeReach::kSilent;
}

void RetryWhileAgentRestarts(const cluster::Node& node, std::chrono::milliseconds every, const std::function<bool()>& attempt) {
  auto deadline = std::chrono::steady_clock::now() + kAgentRestartGrace;
  while (!attempt() && std::chrono::steady_clock::now() < deadline &&
         ReachOf(node, std::chrono::seconds(1)) == NodeReach::kAgentDown) {
    std::this_thread::sleep_for(every);
  }
}

}  // namespace mosix::agent
