#include "cli/client.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/net.h"
#include "base/paths.h"
#include "base/status.h"

namespace mosix::cli {

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

absl::StatusOr<AgentConnection> ConnectAgent() {
  AgentConnection c;
  c.socket = AgentSocketPath();
  RETURN_IF_ERROR(CheckAgentSocket(c.socket));
  auto channel = grpc::CreateChannel("unix:" + c.socket, grpc::InsecureChannelCredentials());
  c.stub = mosix::agent::Client::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Status s = c.stub->Ping(&ctx, mosix::agent::PingRequest(), &c.info);
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("the mosix agent at ", c.socket, " does not answer: ", s.error_message()));
  return c;
}

int Fail(const char* prog, const absl::Status& s) {
  fprintf(stderr, "%s: %s\n", prog, std::string(s.message()).c_str());
  return 1;
}

absl::StatusOr<mosix::agent::ClusterStatusReply> FetchClusterStatus(mosix::agent::Client::Stub* stub) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  mosix::agent::ClusterStatusReply reply;
  if (auto s = FromGrpc(stub->ClusterStatus(&ctx, mosix::agent::ClusterStatusRequest(), &reply)); !s.ok()) return s;
  return reply;
}

absl::StatusOr<std::string> JsonList(const std::vector<const google::protobuf::Message*>& items) {
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  std::vector<std::string> out;
  for (const google::protobuf::Message* m : items) {
    std::string one;
    if (auto s = google::protobuf::util::MessageToJsonString(*m, &one, o); !s.ok()) {
      return absl::InternalError(absl::StrCat("cannot print a ", m->GetTypeName(), " as JSON: ", s.ToString()));
    }
    out.push_back(std::move(one));
  }
  return absl::StrCat("[", absl::StrJoin(out, ","), "]\n");
}

}  // namespace mosix::cli
