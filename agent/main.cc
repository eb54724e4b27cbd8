// mosixd: the mosix agent of one node.
//
// With no arguments it runs a one-node cluster: gRPC for local clients on MOSIX_SOCKET
// (default /run/mosix/mosixd.sock), the channel for shims beside it, state in MOSIX_STATE_DIR
// (default /var/lib/mosix). With --config FILE it is one node of the cluster that FILE maps
// (proto/cluster.proto, text format) and also listens for other agents on its TCP address.
// SIGTERM or SIGINT stops it cleanly.
#include <signal.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "agent/arrivals.h"
#include "agent/channel_server.h"
#include "agent/checkpointer.h"
#include "agent/cluster/cluster_view.h"
#include "agent/cluster/gossiper.h"
#include "agent/cluster/node_meter.h"
#include "agent/cluster/node_watch.h"
#include "agent/decide/brain.h"
#include "agent/decide/node_admin.h"
#include "agent/decide/node_policy.h"
#include "agent/cluster_config.h"
#include "agent/process_table.h"
#include "agent/internal/arrival_client.h"
#include "agent/peers.h"
#include "agent/services/client_door.h"
#include "agent/services/client_service.h"
#include "agent/services/peer_service.h"
#include "agent/services/metrics.h"
#include "agent/transport/link_relay.h"
#include "base/fd.h"
#include "base/net.h"
#include "base/status.h"
#include "security/certs.h"
#include "security/tls.h"
#include "base/file_util.h"
#include "base/paths.h"

namespace {

bool SomeoneListens(const std::string& path) {
  auto addr = mosix::UnixAddress(path);
  if (!addr.ok()) return false;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) == 0;
  ::close(fd);
  return ok;
}

std::string Dirname(const std::string& p) {
  size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
}

int Die(const std::string& msg) {
  fprintf(stderr, "mosixd: %s\n", msg.c_str());
  return 1;
}

// Whether host:port can be bound by this agent alone (no SO_REUSEPORT: a second agent on the
// same address must not start and split the connections with the first).
absl::Status AddressFree(const std::string& address) {
  auto addr = mosix::ParseIpv4Address(address);
  if (!addr.ok()) return absl::InvalidArgumentError(absl::StrCat("TCP address ", address, " is not IPv4 host:port"));
  mosix::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) {
    if (errno == EADDRINUSE) return absl::UnavailableError(absl::StrCat("TCP address ", address, " is in use (another agent?)"));
    if (errno == EADDRNOTAVAIL) return absl::UnavailableError(absl::StrCat("TCP address ", address, " is not an address of this machine"));
    return mosix::ErrnoStatus("bind", address);
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "--stub") == 0) mosix::agent::RunStub();  // see arrivals.h
  if (argc == 3 && strcmp(argv[1], "--keeper") == 0) mosix::agent::RunKeeper(argv[2]);  // see lifeline_keeper.h
  // A daemon keeps none of what it inherited beyond stdio: a pipe of the script or job runner
  // that started it, held open here, would never end for its reader.
  syscall(SYS_close_range, 3, ~0u, 0);
  // The agent does the cluster's work (moves, gossip, decisions) for every process of its node,
  // and runs ahead of them, as MOSIX's kernel does that work: a node crowded with processes
  // must still move them off quickly. Set before any thread starts (each inherits it); its
  // stubs take their images' values as they are restored.
  if (geteuid() == 0) (void)setpriority(PRIO_PROCESS, 0, -10);
  mosix::cluster::ClusterMap map = mosix::agent::SingleNodeMap();
  bool clustered = false;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage: mosixd [--config FILE]\n"
             "  runs the mosix agent of this node; without --config, a one-node cluster.\n"
             "  --config FILE    the cluster map (text format of proto/cluster.proto)\n"
             "  MOSIX_SOCKET     client socket (default /run/mosix/mosixd.sock)\n"
             "  MOSIX_STATE_DIR  state directory (default /var/lib/mosix)\n");
      return 0;
    }
    if (strcmp(argv[i], "--config") == 0) {
      if (i + 1 >= argc) return Die("--config needs a FILE (the cluster map)");
      auto loaded = mosix::agent::LoadClusterMap(argv[++i]);
      if (!loaded.ok()) return Die(std::string(loaded.status().message()));
      map = *loaded;
      clustered = true;
      continue;
    }
    return Die(absl::StrCat("unknown argument '", argv[i], "' (see mosixd --help)"));
  }
  const mosix::cluster::Node* self = mosix::agent::FindNode(map, map.this_node());
  std::string address = clustered ? self->address() : "";
  std::string socket = mosix::AgentSocketPath();
  std::string channel = mosix::ChannelSocketPath(socket);
  std::string state = mosix::StateDir();
  // Peers: mutual TLS with this node's credentials, unless the map says the network is trusted.
  std::optional<mosix::security::NodeCredentials> creds;
  std::shared_ptr<mosix::security::TlsContext> tls;
  if (clustered && !map.insecure()) {
    std::string dir = map.tls_dir().empty() ? "/etc/mosix/tls" : map.tls_dir();
    auto loaded = mosix::security::LoadNodeCredentials(dir, map.this_node());
    if (!loaded.ok()) {
      return Die(absl::StrCat("node ", map.this_node(), " has no valid credentials: ", loaded.status().message(),
                              " (make them with `mosctl cluster init`, or mark a trusted network `insecure: true` in the map)"));
    }
    creds = *loaded;
    auto context = mosix::security::TlsContext::Create(*creds);
    if (!context.ok()) return Die(std::string(context.status().message()));
    tls = *context;
  }
  mosix::agent::ConfigurePeers(creds ? &*creds : nullptr);
  if (auto s = mosix::MakeDirs(Dirname(socket)); !s.ok()) return Die(std::string(s.message()));
  // The state dir may be passed through by everyone (each user's checkpoints are below it, in
  // a directory of her own), never listed.
  if (auto s = mosix::MakeDirs(state, 0711); !s.ok()) return Die(std::string(s.message()));
  ::chmod(state.c_str(), 0711);
  if (SomeoneListens(socket)) return Die(absl::StrCat("an agent is already running on ", socket));
  if (!address.empty()) {
    if (auto s = AddressFree(address); !s.ok()) return Die(std::string(s.message()));
  }

  // Signals are taken by a thread of our own, before gRPC starts threads that inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  mosix::agent::ProcessTable table;
  // The table is kept on disk: a restarted agent takes its processes back (mover_restart.cc).
  std::vector<std::string> table_notes;
  auto taken_back = table.PersistIn(state + "/processes", &table_notes);
  if (!taken_back.ok()) return Die(std::string(taken_back.status().message()));
  for (const std::string& note : table_notes) fprintf(stderr, "mosixd: %s\n", note.c_str());
  mosix::agent::Checkpointer checkpointer(&table, state);
  mosix::agent::Mover* mover_ptr = nullptr;
  mosix::agent::ChannelServer::Events events;
  events.start_on = [&mover_ptr](pid_t pid, std::string node) { mover_ptr->StartOn(pid, node); };
  events.signal = [&mover_ptr](pid_t pid, int signo, uint32_t seq) { mover_ptr->ForwardSignal(pid, signo, seq); };
  events.wait_end = [&mover_ptr](pid_t pid, int fd) { mover_ptr->DeputyWaits(pid, fd); };
  events.go_home = [&mover_ptr](pid_t pid, int fd, int64_t nr) { mover_ptr->ComeHomeFor(pid, fd, nr); };
  mosix::agent::AgentInfo info{map.this_node(), state, channel, address, {}};
  for (const auto& n : map.nodes()) info.nodes.push_back(n.name());
  mosix::agent::Brain* brain_ptr = nullptr;
  events.register_process = [&table, &info, &brain_ptr](pid_t pid, const mosix::agent::RegisterRequest& req) {
    if (!req.best()) return mosix::agent::RegisterProcess(&table, info, pid, req);
    mosix::agent::RegisterRequest placed = req;  // mosrun -b: the cluster chooses now
    placed.set_start_on(brain_ptr->BestNodeForNew(req.memory_mb()));
    return mosix::agent::RegisterProcess(&table, info, pid, placed);
  };
  mosix::agent::ChannelServer channels(&table, events);
  if (auto s = channels.Listen(channel); !s.ok()) return Die(std::string(s.message()));
  table.SetHelloFlush([&channels] { channels.Flush(); });
  mosix::agent::FileDigests digests;  // of mapped files, for moves in both directions
  mosix::agent::LinkRelays relays;
  mosix::agent::internal::MoveTransport transport{tls.get(), &relays};
  mosix::agent::Mover mover(&table, state, map, &digests, transport, channel);
  mover_ptr = &mover;
  checkpointer.SetMover(&mover);
  mosix::agent::Arrivals arrivals(state, address, map, &digests, tls.get(), &relays);
  // What this node knows of the cluster (gossip), and the decisions made with it.
  mosix::agent::NodePolicy policy(state + "/node_policy");
  if (!policy.load_error().empty()) fprintf(stderr, "mosixd: %s\n", policy.load_error().c_str());
  mosix::agent::ClusterView view(map, mosix::agent::GossipSettings::FromMap(map));
  double speed = self && self->speed() > 0 ? self->speed() : mosix::agent::NodeMeter::CalibrateSpeed();
  auto describe = [&table, &arrivals, &policy](mosix::agent::NodeLoad* e) {
    uint32_t here = 0, frozen = 0;
    for (const mosix::agent::ProcessEntry& p : table.Snapshot()) {
      if (p.state == mosix::agent::ProcState::kHome && p.HasChannel()) ++here;
      if (p.state == mosix::agent::ProcState::kFrozen) ++frozen;
    }
    uint32_t guests = static_cast<uint32_t>(arrivals.Guests().size());
    e->set_procs(here + guests);
    e->set_guests(guests);
    e->set_frozen(frozen);
    e->set_takes_guests(policy.TakesGuests());
    e->set_keeps_processes(!policy.GuestsMayLeave());
  };
  mosix::agent::Gossiper gossiper(&view, map, speed, describe, [&policy] { return policy.Isolated(); });
  mosix::agent::Brain brain(&table, &view, &gossiper, &mover, &policy, map);
  mosix::agent::NodeAdmin admin(&policy, &table, &mover, &arrivals);
  std::unique_ptr<mosix::agent::Metrics> metrics;
  if (self && !self->metrics_address().empty()) {
    auto served = mosix::agent::Metrics::Serve(self->metrics_address(), &view);
    if (!served.ok()) return Die(std::string(served.status().message()));
    metrics = std::move(*served);
    mover.SetObserver([m = metrics.get()](bool home, const mosix::agent::MoveResult& r) {
      if (home) {
        m->MoveIn(r.seconds);
      } else {
        m->MoveOut(r.seconds, r.bytes_sent);
      }
    });
  }
  brain_ptr = &brain;
  mosix::agent::ClientService client_service(info, map, &table, &checkpointer, &mover, &view, &brain, &admin);
  mosix::agent::PeerService peer_service(map.this_node(), map, tls != nullptr, &mover, &arrivals, &view, &gossiper, &policy, metrics.get());

  // Two doors: clients on the Unix socket only, peers on TCP only.
  grpc::ServerBuilder client_builder;
  client_builder.RegisterService(&client_service);
  std::unique_ptr<grpc::Server> client_server = client_builder.BuildAndStart();
  mosix::agent::ClientDoor door;
  if (!client_server) return Die("cannot start the client service");
  if (auto s = door.Listen(socket); !s.ok()) return Die(std::string(s.message()));
  std::unique_ptr<grpc::Server> peer_server;
  if (!address.empty()) {
    grpc::ServerBuilder peer_builder;
    peer_builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    std::shared_ptr<grpc::ServerCredentials> server_creds = grpc::InsecureServerCredentials();
    if (creds) {
      grpc::SslServerCredentialsOptions o(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
      o.pem_root_certs = creds->ca_pem;
      o.pem_key_cert_pairs.push_back({creds->key_pem, creds->cert_pem});
      server_creds = grpc::SslServerCredentials(o);
    }
    int tcp_port = 0;
    peer_builder.AddListeningPort(address, server_creds, &tcp_port);
    peer_builder.RegisterService(&peer_service);
    peer_server = peer_builder.BuildAndStart();
    if (!peer_server || tcp_port == 0) return Die(absl::StrCat("cannot listen on ", address, " (address in use?)"));
  }
  arrivals.TakeBackGuests();  // (now that peers can relink them)
  mosix::agent::NodeWatch watch(&table, map, [&mover](pid_t pid, const std::string& node) { mover.NodeDown(pid, node); });
  channels.Start();
  checkpointer.Start();
  watch.Start();
  gossiper.Start();
  brain.Start();
  if (!taken_back->empty()) {
    fprintf(stderr, "mosixd: taking back %zu processes from before the restart\n", taken_back->size());
    mover.TakeBackAfterRestart(*taken_back, channel);
  }
  door.Start(client_server.get());
  if (clustered && !creds) {
    fprintf(stderr, "mosixd: the cluster map marks the network trusted (insecure: true): peers are not authenticated "
                    "and moves are not encrypted\n");
  }
  fprintf(stderr, "mosixd: node %s ready on %s%s (state in %s; speed %.1f)\n", map.this_node().c_str(), socket.c_str(),
          address.empty() ? "" : absl::StrCat(" and ", address, creds ? " (TLS)" : " (trusted network)").c_str(), state.c_str(),
          speed);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  fprintf(stderr, "mosixd: %s, stopping\n", strsignal(sig));
  arrivals.CloseArrivals(30);    // (a guest arriving now would be left here with no agent)
  arrivals.SendGuestsHome(60);  // (while this agent still serves their departures)
  brain.Stop();
  door.Stop();
  if (peer_server) peer_server->Shutdown();
  gossiper.Stop();
  client_server->Shutdown();
  channels.Stop();
  watch.Stop();
  mover.Shutdown();
  return 0;
}
