// peer_attack: calls an agent the way an attacker would, and exits 0 only if the agent refused.
//
//   peer_attack plain ADDR                       Peer.Ping in plaintext on the TCP port
//   peer_attack nocert ADDR CA_CRT NODE          TLS, trusting the CA, showing no certificate
//   peer_attack arrive ADDR DIR TARGET HOME      with DIR's node certificate, prepares an
//                                                arrival claiming to be HOME
//   peer_attack signal ADDR DIR TARGET PID       with DIR's certificate, SIGKILLs guest PID
//   peer_attack unix SOCKET                      Peer.Ping through the client's Unix socket
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include <grpcpp/grpcpp.h>

#include "proto/agent.grpc.pb.h"

namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<mosix::agent::Peer::Stub> Stub(const std::string& target, std::shared_ptr<grpc::ChannelCredentials> creds,
                                               const std::string& name = "") {
  grpc::ChannelArguments args;
  if (!name.empty()) args.SetSslTargetNameOverride(name);
  return mosix::agent::Peer::NewStub(grpc::CreateCustomChannel(target, creds, args));
}

int Verdict(const char* what, const grpc::Status& s) {
  printf("%s: %s (%d: %s)\n", what, s.ok() ? "ACCEPTED" : "refused", s.error_code(), s.error_message().c_str());
  return s.ok() ? 1 : 0;
}

template <typename Req, typename Rep, typename Call>
grpc::Status Do(Call call, const Req& req, Rep* rep) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return call(&ctx, req, rep);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  std::string mode = argv[1], addr = argv[2];
  mosix::agent::PingRequest ping;
  mosix::agent::PingReply pong;
  if (mode == "plain") {
    auto stub = Stub(addr, grpc::InsecureChannelCredentials());
    return Verdict("plaintext Ping", Do([&](auto* c, auto& r, auto* p) { return stub->Ping(c, r, p); }, ping, &pong));
  }
  if (mode == "unix") {
    auto stub = Stub("unix:" + addr, grpc::InsecureChannelCredentials());
    return Verdict("peer Ping on the client socket", Do([&](auto* c, auto& r, auto* p) { return stub->Ping(c, r, p); }, ping, &pong));
  }
  if (mode == "nocert" && argc == 5) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = Read(argv[3]);
    auto stub = Stub(addr, grpc::SslCredentials(o), argv[4]);
    return Verdict("TLS Ping without a certificate", Do([&](auto* c, auto& r, auto* p) { return stub->Ping(c, r, p); }, ping, &pong));
  }
  if ((mode == "arrive" || mode == "signal") && argc == 6) {
    std::string dir = argv[3];
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = Read(dir + "/ca.crt");
    o.pem_cert_chain = Read(dir + "/node.crt");
    o.pem_private_key = Read(dir + "/node.key");
    auto stub = Stub(addr, grpc::SslCredentials(o), argv[4]);
    if (mode == "arrive") {
      mosix::agent::PrepareArrivalRequest req;
      req.set_home_node(argv[5]);
      req.set_home_pid(1);
      mosix::agent::PrepareArrivalReply rep;
      return Verdict("arrival for another node",
                     Do([&](auto* c, auto& r, auto* p) { return stub->PrepareArrival(c, r, p); }, req, &rep));
    }
    mosix::agent::SignalRequest req;
    req.set_local_pid(atoi(argv[5]));
    req.set_signo(9);
    mosix::agent::SignalReply rep;
    return Verdict("SIGKILL to another node's guest", Do([&](auto* c, auto& r, auto* p) { return stub->Signal(c, r, p); }, req, &rep));
  }
  fprintf(stderr, "peer_attack: bad arguments\n");
  return 2;
}
