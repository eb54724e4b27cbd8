// mosps: this node's processes under mosrun, everyone's (as ps): whose each is, where its user
// context is, its state, its CPU time and memory, and for one that cannot move, why.
//
//   mosps [--json]
#include <cstdio>
#include <cstring>
#include <string>

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_join.h"
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
    // A list of ProcessInfo messages (proto/agent.proto), printed by protobuf's JSON printer.
    google::protobuf::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    o.always_print_primitive_fields = true;
    std::vector<std::string> items;
    for (const auto& p : reply.processes()) {
      std::string one;
      if (!google::protobuf::util::MessageToJsonString(p, &one, o).ok()) {
        fprintf(stderr, "mosps: cannot print process %d as JSON\n", p.pid());
        return 1;
      }
      items.push_back(one);
    }
    printf("[%s]\n", absl::StrJoin(items, ",").c_str());
    return 0;
  }
  printf("%7s %-10s %-8s %-8s %-8s %8s %9s  %s\n", "PID", "USER", "WHERE", "FROM", "STATE", "CPU", "MEM", "COMMAND");
  for (const auto& p : reply.processes()) {
    printf("%7d %-10s %-8s %-8s %-8s %7.1fs %7lluK  %s\n", p.pid(), p.user().c_str(), p.where().c_str(), p.from().c_str(),
           p.state().c_str(), p.cpu_seconds(), static_cast<unsigned long long>(p.rss_kb()), p.command().c_str());
    if (!p.cannot_migrate().empty()) printf("%7s cannot move: %s\n", "", p.cannot_migrate().c_str());
  }
  return 0;
}
