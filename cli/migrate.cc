// migrate: moves a process under mosix; for now, checkpoints it.
//
//   migrate PID checkpoint    write a checkpoint; the process keeps running; prints the path
#include <cstdio>
#include <cstring>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/client.h"

int main(int argc, char** argv) {
  constexpr char kProg[] = "migrate";
  if (argc == 2 && strcmp(argv[1], "--help") == 0) {
    printf("usage: migrate PID checkpoint\n");
    return 0;
  }
  if (argc != 3) {
    fprintf(stderr, "usage: migrate PID checkpoint\n");
    return 2;
  }
  int pid;
  if (!absl::SimpleAtoi(argv[1], &pid) || pid <= 0) {
    fprintf(stderr, "migrate: '%s' is not a pid\n", argv[1]);
    return 2;
  }
  if (strcmp(argv[2], "checkpoint") != 0) {
    fprintf(stderr, "migrate: unknown target '%s' (this node supports: checkpoint)\n", argv[2]);
    return 2;
  }
  auto conn = mosix::cli::ConnectAgent();
  if (!conn.ok()) return mosix::cli::Fail(kProg, conn.status());
  mosix::agent::CheckpointRequest req;
  req.set_pid(pid);
  mosix::agent::CheckpointReply reply;
  grpc::ClientContext ctx;
  if (auto s = mosix::cli::FromGrpc(conn->stub->Checkpoint(&ctx, req, &reply)); !s.ok()) return mosix::cli::Fail(kProg, s);
  printf("%s\n", reply.path().c_str());
  return 0;
}
