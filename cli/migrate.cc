// migrate: moves a process under mosix, or checkpoints it.
//
//   migrate PID checkpoint   write a checkpoint; the process keeps running; prints the path
//   migrate PID freeze       its user context goes to an image on the home node's disk; the
//                            process stays (same pid), using no CPU and almost no memory
//   migrate PID continue     a frozen process comes back to life, at home
//   migrate PID home         the same, for a process that is away
//   migrate PID NODE         move it to NODE
//   migrate PID balance      let the cluster choose now (it may stay: then it says why)
#include <cstdio>
#include <cstring>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/client.h"

namespace {

constexpr char kProg[] = "migrate";
constexpr char kUsage[] = "usage: migrate PID checkpoint|freeze|continue|home|balance|NODE\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "--help") == 0) {
    printf("%s", kUsage);
    return 0;
  }
  if (argc != 3) {
    fprintf(stderr, "%s", kUsage);
    return 2;
  }
  int pid;
  if (!absl::SimpleAtoi(argv[1], &pid) || pid <= 0) {
    fprintf(stderr, "migrate: '%s' is not a pid\n", argv[1]);
    return 2;
  }
  std::string target = argv[2];
  auto conn = mosix::cli::ConnectAgent();
  if (!conn.ok()) return mosix::cli::Fail(kProg, conn.status());
  grpc::ClientContext ctx;
  if (target == "checkpoint") {
    mosix::agent::CheckpointRequest req;
    req.set_pid(pid);
    mosix::agent::CheckpointReply reply;
    if (auto s = mosix::cli::FromGrpc(conn->stub->Checkpoint(&ctx, req, &reply)); !s.ok()) return mosix::cli::Fail(kProg, s);
    printf("%s\n", reply.path().c_str());
    for (const std::string& n : reply.notes()) fprintf(stderr, "%s: note: %s\n", kProg, n.c_str());
    return 0;
  }
  mosix::agent::MigrateRequest req;
  req.set_pid(pid);
  req.set_target(target);
  mosix::agent::MigrateReply reply;
  if (auto s = mosix::cli::FromGrpc(conn->stub->Migrate(&ctx, req, &reply)); !s.ok()) return mosix::cli::Fail(kProg, s);
  if (target == "balance") {
    printf("pid %d: %s\n", pid, reply.state().c_str());
  } else if (reply.state() == "frozen") {
    printf("pid %d frozen: image %s (%.3f s)\n", pid, reply.image().c_str(), reply.seconds());
  } else if (reply.state() == "remote") {
    if (reply.bytes_sent() > 0) {
      printf("pid %d runs on %s (%.3f s, frozen %.3f s, %.1f MiB sent)\n", pid, target.c_str(), reply.seconds(),
             reply.frozen_seconds(), reply.bytes_sent() / 1048576.0);
    } else {
      printf("pid %d runs on %s (%.3f s)\n", pid, target.c_str(), reply.seconds());
    }
  } else {
    printf("pid %d is %s (%.3f s)\n", pid, reply.state().c_str(), reply.seconds());
  }
  return 0;
}
