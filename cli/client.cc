#include "cli/client.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>

#include <grpcpp/grpcpp.h>

#include "base/paths.h"

namespace mosix::cli {

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

absl::StatusOr<AgentConnection> ConnectAgent() {
  AgentConnection c;
  c.socket = AgentSocketPath();
  struct stat st;
  if (::stat(c.socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return absl::UnavailableError(NoAgentMessage(c.socket));
  }
  auto channel = grpc::CreateChannel("unix:" + c.socket, grpc::InsecureChannelCredentials());
  c.stub = mosix::agent::Agent::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Status s = c.stub->Ping(&ctx, mosix::agent::PingRequest(), &c.info);
  if (!s.ok()) return absl::UnavailableError(NoAgentMessage(c.socket));
  return c;
}

int Fail(const char* prog, const absl::Status& s) {
  fprintf(stderr, "%s: %s\n", prog, std::string(s.message()).c_str());
  return 1;
}

}  // namespace mosix::cli
