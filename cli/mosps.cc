// mosps: this node's processes under mosrun: where each one's user context is, its state, its
// CPU time and memory, and for one that cannot move, why.
//
//   mosps [--json]
#include <cstdio>
#include <cstring>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/client.h"

namespace {

std::string Json(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

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
    std::string out = "[";
    for (int i = 0; i < reply.processes_size(); ++i) {
      const auto& p = reply.processes(i);
      absl::StrAppend(&out, i ? "," : "", "{\"pid\":", p.pid(), ",\"where\":", Json(p.where()), ",\"from\":", Json(p.from()),
                      ",\"state\":", Json(p.state()), ",\"cpu_seconds\":", p.cpu_seconds(), ",\"rss_kb\":", p.rss_kb(),
                      ",\"command\":", Json(p.command()), ",\"cannot_migrate\":", Json(p.cannot_migrate()), "}");
    }
    printf("%s]\n", out.c_str());
    return 0;
  }
  printf("%7s %-8s %-8s %-8s %8s %9s  %s\n", "PID", "WHERE", "FROM", "STATE", "CPU", "MEM", "COMMAND");
  for (const auto& p : reply.processes()) {
    printf("%7d %-8s %-8s %-8s %7.1fs %7lluK  %s\n", p.pid(), p.where().c_str(), p.from().c_str(), p.state().c_str(),
           p.cpu_seconds(), static_cast<unsigned long long>(p.rss_kb()), p.command().c_str());
    if (!p.cannot_migrate().empty()) printf("%7s cannot move: %s\n", "", p.cannot_migrate().c_str());
  }
  return 0;
}
