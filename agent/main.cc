// mosixd: the mosix agent of one node.
//
// With no arguments it runs a one-node cluster: gRPC for local clients on MOSIX_SOCKET
// (default /run/mosix/mosixd.sock), the channel for shims beside it, state in MOSIX_STATE_DIR
// (default /var/lib/mosix). With --config FILE it is one node of the cluster that FILE maps
// (proto/cluster.proto, text format) and also listens for other agents on its TCP address.
// SIGTERM or SIGINT stops it cleanly.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "agent/arrivals.h"
#include "agent/channel_server.h"
#include "agent/checkpointer.h"
#include "agent/cluster_config.h"
#include "agent/process_table.h"
#include "agent/service.h"
#include "base/file_util.h"
#include "base/paths.h"

namespace {

bool SomeoneListens(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
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

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "--stub") == 0) mosix::agent::RunStub();  // see arrivals.h
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
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
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
  if (auto s = mosix::MakeDirs(Dirname(socket)); !s.ok()) return Die(std::string(s.message()));
  if (auto s = mosix::MakeDirs(state, 0700); !s.ok()) return Die(std::string(s.message()));
  if (SomeoneListens(socket)) return Die(absl::StrCat("an agent is already running on ", socket));
  ::unlink(socket.c_str());

  // Signals are taken by a thread of our own, before gRPC starts threads that inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  mosix::agent::ProcessTable table;
  mosix::agent::Checkpointer checkpointer(&table, state);
  mosix::agent::Mover* mover_ptr = nullptr;
  mosix::agent::ChannelServer::Events events;
  events.start_on = [&mover_ptr](pid_t pid, std::string node) { mover_ptr->StartOn(pid, node); };
  events.signal = [&mover_ptr](pid_t pid, int signo) { mover_ptr->ForwardSignal(pid, signo); };
  events.wait_end = [&mover_ptr](pid_t pid, int fd) { mover_ptr->DeputyWaits(pid, fd); };
  events.go_home = [&mover_ptr](pid_t pid, int fd, int64_t nr) { mover_ptr->ComeHomeFor(pid, fd, nr); };
  mosix::agent::ChannelServer channels(&table, events);
  if (auto s = channels.Listen(channel); !s.ok()) return Die(std::string(s.message()));
  mosix::agent::AgentInfo info{map.this_node(), state, channel, address, {}};
  for (const auto& n : map.nodes()) info.nodes.push_back(n.name());
  mosix::agent::FileDigests digests;  // of mapped files, for moves in both directions
  mosix::agent::Mover mover(&table, state, map, &digests);
  mover_ptr = &mover;
  checkpointer.SetMover(&mover);
  mosix::agent::Arrivals arrivals(state, address, map, &digests);
  mosix::agent::AgentService service(info, map, &table, &checkpointer, &mover, &arrivals);

  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket, grpc::InsecureServerCredentials());
  int tcp_port = 0;
  if (!address.empty()) builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &tcp_port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return Die(absl::StrCat("cannot listen on ", socket));
  if (!address.empty() && tcp_port == 0) return Die(absl::StrCat("cannot listen on ", address, " (address in use?)"));
  channels.Start();
  checkpointer.Start();
  fprintf(stderr, "mosixd: node %s ready on %s%s (state in %s)\n", map.this_node().c_str(), socket.c_str(),
          address.empty() ? "" : absl::StrCat(" and ", address).c_str(), state.c_str());

  int sig = 0;
  sigwait(&stop_signals, &sig);
  fprintf(stderr, "mosixd: %s, stopping\n", strsignal(sig));
  server->Shutdown();
  channels.Stop();
  ::unlink(socket.c_str());
  return 0;
}
