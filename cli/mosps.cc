// mosps: this node's processes under mosrun, everyone's (as ps): whose each is, where its user
// context is, its state, its CPU time and memory, how many times it moved, whether it is locked
// (mosrun -L or -h), and for one that cannot move, or stays though other nodes are less
// loaded, why.
//
//   mosps [--json]
#include <cstdio>
#include <cstring>
#include <string>

#include <grpcpp/grpcpp.h>

#include "cli/client.h"

int main(int argc, char** argv) {
  bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
  if (argc > 2 || (argc == 2 && !json)) {
    fprintf(stderr, "usage: mosps [--json]\n");
    return 2;
  }
  auto conn = mosix::cli::ConnectAgent();
  if (!conn.ok()) return mosix::cli::Fail("mosps", conn.status());
  grpc::ClientContext ctx;
  mosix::agent::ListReply reply;
  if (auto s = mosix::cli::FromGrpc(conn->stub->ListProcesses(&ctx, mosix::agent::ListRequest(), &reply)); !s.ok()) {
    return mosix::cli::Fail("mosps", s);
  }
  if (json) {
    // A list of ProcessInfo messages (proto/agent.proto).
    auto text = mosix::cli::JsonList(reply.processes());
    if (!text.ok()) return mosix::cli::Fail("mosps", text.status());
    fputs(text->c_str(), stdout);
    return 0;
  }
  printf("%7s %-10s %-8s %-8s %-8s %8s %9s %5s %4s %3s  %s\n", "PID", "USER", "WHERE", "FROM", "STATE", "CPU", "MEM", "MOVES",
         "LOCK", "NI", "COMMAND");
  for (const auto& p : reply.processes()) {
    printf("%7d %-10s %-8s %-8s %-8s %7.1fs %7lluK %5u %4s %3d  %s\n", p.pid(), p.user().c_str(), p.where().c_str(),
           p.from().c_str(), p.state().c_str(), p.cpu_seconds(), static_cast<unsigned long long>(p.rss_kb()), p.moves(),
           p.locked() ? "yes" : "-", p.nice(), p.command().c_str());
    if (!p.cannot_migrate().empty()) printf("%7s cannot move: %s\n", "", p.cannot_migrate().c_str());
    if (!p.stays().empty()) printf("%7s stays: %s\n", "", p.stays().c_str());
  }
  return 0;
}
