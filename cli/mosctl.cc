// mosctl: administration of the local mosix node.
//
//   mosctl status                   the agent this shell reaches (MOSIX_SOCKET)
//   mosctl image show FILE [--json] what a checkpoint image holds
#include <cstdio>
#include <cstring>
#include <string>

#include "checkpoint/image_format.h"
#include "checkpoint/image_show.h"
#include "cli/client.h"
#include "cli/cluster_init.h"
#include "cli/localcluster.h"

namespace {

constexpr char kProg[] = "mosctl";

int Usage(FILE* out) {
  fprintf(out,
          "usage: mosctl status\n"
          "       mosctl image show FILE [--json]\n"
          "       mosctl cluster init MAP [--out DIR]\n"
          "       mosctl localcluster up --nodes N [--cpu-quota F,...] [--port P] [--insecure]\n"
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

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage(stderr);
  std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "help") return Usage(stdout);
  if (cmd == "status") {
    if (argc != 2) {
      fprintf(stderr, "mosctl: status takes no arguments (got '%s')\n", argv[2]);
      return 2;
    }
    auto conn = mosix::cli::ConnectAgent();
    if (!conn.ok()) return mosix::cli::Fail(kProg, conn.status());
    printf("node %s: %s, agent pid %d, socket %s, state %s\n", conn->info.node().c_str(), conn->info.version().c_str(),
           conn->info.agent_pid(), conn->socket.c_str(), conn->info.state_dir().c_str());
    if (!conn->info.address().empty()) {
      std::string nodes;
      for (const auto& n : conn->info.nodes()) nodes += (nodes.empty() ? "" : " ") + n;
      printf("cluster: %s; this agent listens on %s\n", nodes.c_str(), conn->info.address().c_str());
    }
    return 0;
  }
  if (cmd == "localcluster") return mosix::cli::LocalCluster(argc - 2, argv + 2);
  if (cmd == "cluster") return mosix::cli::ClusterCommand(argc - 2, argv + 2);
  if (cmd == "image" && argc >= 3 && strcmp(argv[2], "show") == 0) return ImageShow(argc - 3, argv + 3);
  fprintf(stderr, "mosctl: unknown command '%s'\n", cmd.c_str());
  return Usage(stderr);
}
