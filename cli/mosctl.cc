// mosctl: administration of the local mosix node.
//
//   mosctl status [--json]          the agent this shell reaches (MOSIX_SOCKET), and what it
//                                   knows of every node of the cluster
//   mosctl stay|nostay|lstay|nolstay|block|noblock|expel|bring|isolate|rejoin   (root)
//   mosctl image show FILE [--json] what a checkpoint image holds
#include <cstdio>
#include <cstring>
#include <string>

#include <grpcpp/grpcpp.h>

#include "checkpoint/image_format.h"
#include "checkpoint/image_show.h"
#include "cli/client.h"
#include "cli/cluster_init.h"
#include "cli/localcluster.h"

namespace {

constexpr char kProg[] = "mosctl";

int Usage(FILE* out) {
  fprintf(out,
          "usage: mosctl status [--json]\n"
          "       mosctl stay | nostay      no automatic moves out of this node (guests too) | again\n"
          "       mosctl lstay | nolstay    this node's own processes stay; guests may leave | again\n"
          "       mosctl block | noblock    take no new guests | again\n"
          "       mosctl expel              send the guests home (and block); returns when they are gone\n"
          "       mosctl bring              bring this node's processes home; returns when they are\n"
          "       mosctl isolate | rejoin   leave the cluster (expel, bring, no gossip) | come back\n"
          "       mosctl image show FILE [--json]\n"
          "       mosctl cluster init MAP [--out DIR]\n"
          "       mosctl localcluster up --nodes N [--cpu-quota F,...] [--mem-limit MB,...] [--port P]\n"
          "                              [--metrics-port P] [--insecure]\n"
          "       mosctl localcluster exec NODE -- CMD [ARGS...]\n"
          "       mosctl localcluster down | status\n"
          "       mosctl localcluster stop|restart NODE [--kill]   (--kill: SIGKILL, as a crash)\n"
          "       mosctl localcluster start NODE\n");
  return out == stdout ? 0 : 2;
}

int ImageShow(int argc, char** argv) {
  std::string file;
  bool json = false;
  for (int i = 0; i < argc; ++i) {
    if (strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (file.empty()) {
      file = argv[i];
    } else {
      return Usage(stderr);
    }
  }
  if (file.empty()) return Usage(stderr);
  auto image = mosix::LoadImage(file);
  if (!image.ok()) return mosix::cli::Fail(kProg, image.status());
  fputs((json ? mosix::ImageToJson(**image) : mosix::ImageToText(**image)).c_str(), stdout);
  return 0;
}

// This agent, and every node as it knows them (gossip): a table, or a JSON list of NodeStatus
// (proto/agent.proto).
int Status(int argc, char** argv) {
  bool json = argc == 1 && strcmp(argv[0], "--json") == 0;
  if (argc > 1 || (argc == 1 && !json)) {
    fprintf(stderr, "mosctl: status takes only --json (got '%s')\n", argv[argc - 1]);
    return 2;
  }
  auto conn = mosix::cli::ConnectAgent();
  if (!conn.ok()) return mosix::cli::Fail(kProg, conn.status());
  auto status = mosix::cli::FetchClusterStatus(conn->stub.get());
  if (!status.ok()) return mosix::cli::Fail(kProg, status.status());
  const mosix::agent::ClusterStatusReply& reply = *status;
  if (json) {
    auto text = mosix::cli::JsonList(reply.nodes());
    if (!text.ok()) return mosix::cli::Fail(kProg, text.status());
    fputs(text->c_str(), stdout);
    return 0;
  }
  printf("node %s: %s, agent pid %d, socket %s, state %s\n", conn->info.node().c_str(), conn->info.version().c_str(),
         conn->info.agent_pid(), conn->socket.c_str(), conn->info.state_dir().c_str());
  if (!conn->info.address().empty()) printf("this agent listens on %s; gossip every %.1f s\n", conn->info.address().c_str(), reply.gossip_step_s());
  printf("%-10s %-7s %5s %5s %6s %13s %5s %6s %6s  %s\n", "NODE", "STATE", "CPUS", "SPEED", "LOAD", "MEM FREE/TOTAL", "PROCS", "GUESTS",
         "AGE", "");
  for (const auto& n : reply.nodes()) {
    if (n.state() == "unknown") {
      printf("%-10s %-7s %s\n", n.node().c_str(), "unknown", "(never heard of)");
      continue;
    }
    printf("%-10s %-7s %5.2f %5.1f %6.0f %6llu/%-6llu %5u %6u %5.1fs  %s%s\n", n.node().c_str(), n.state().c_str(), n.cpus(), n.speed(),
           n.load(), static_cast<unsigned long long>(n.mem_free_mb()), static_cast<unsigned long long>(n.mem_total_mb()), n.procs(),
           n.guests(), n.age_s(), n.self() ? "(this node)" : "", n.takes_guests() ? "" : " takes no guests");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage(stderr);
  std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "help") return Usage(stdout);
  if (cmd == "status") return Status(argc - 2, argv + 2);
  for (const char* admin : {"stay", "nostay", "lstay", "nolstay", "block", "noblock", "expel", "bring", "isolate", "rejoin"}) {
    if (cmd != admin) continue;
    if (argc != 2) {
      fprintf(stderr, "mosctl: %s takes no arguments\n", admin);
      return 2;
    }
    auto conn = mosix::cli::ConnectAgent();
    if (!conn.ok()) return mosix::cli::Fail(kProg, conn.status());
    grpc::ClientContext ctx;
    mosix::agent::AdminRequest req;
    req.set_command(cmd);
    mosix::agent::AdminReply reply;
    if (auto s = mosix::cli::FromGrpc(conn->stub->Admin(&ctx, req, &reply)); !s.ok()) return mosix::cli::Fail(kProg, s);
    printf("%s: %s\n", conn->info.node().c_str(), reply.done().c_str());
    return 0;
  }
  if (cmd == "localcluster") return mosix::cli::LocalCluster(argc - 2, argv + 2);
  if (cmd == "cluster") return mosix::cli::ClusterCommand(argc - 2, argv + 2);
  if (cmd == "image" && argc >= 3 && strcmp(argv[2], "show") == 0) return ImageShow(argc - 3, argv + 3);
  fprintf(stderr, "mosctl: unknown command '%s'\n", cmd.c_str());
  return Usage(stderr);
}
