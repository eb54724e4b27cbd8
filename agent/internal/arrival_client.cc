#include "agent/internal/arrival_client.h"

#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "agent/peers.h"
#include "base/net.h"
#include "base/status.h"
#include "checkpoint/deputy.h"

namespace mosix::agent::internal {

absl::Status Unreachable(const cluster::Node& node, const grpc::Status& s) {
  return absl::UnavailableError(absl::StrCat("node ", node.name(), " (", node.address(), "): ", s.error_message()));
}

absl::Status FromGrpc(const cluster::Node& node, const grpc::Status& s) {
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) return Unreachable(node, s);
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

// After a Depart: the process runs elsewhere now (the node ends its copy), or not (it goes on).
void FinishDeparture(Peer::Stub* node, int32_t local_pid, bool arrived) {
  FinishDepartureRequest req;
  req.set_local_pid(local_pid);
  req.set_arrived(arrived);
  FinishDepartureReply reply;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 10);
  (void)node->FinishDeparture(&ctx, req, &reply);
}

absl::StatusOr<std::unique_ptr<Arrival>> Arrival::Prepare(const cluster::Node& node, const std::string& home, pid_t pid,
                                                         const MoveTransport& transport,
                                                         const std::vector<MappedFile>& mapped_files,
                                                         const std::string& image_from) {
  auto a = std::unique_ptr<Arrival>(new Arrival(node, home, pid, transport));
  PrepareArrivalRequest req;
  req.set_home_node(home);
  req.set_image_from(image_from);
  req.set_home_pid(pid);
  for (const MappedFile& f : mapped_files) *req.add_mapped_files() = f;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 10);
  grpc::Status s = a->stub_->PrepareArrival(&ctx, req, &a->prepared_);
  if (!s.ok()) return Unreachable(node, s);
  if (a->prepared_.tls() != (transport.tls != nullptr)) {
    return absl::FailedPreconditionError(absl::StrCat("node ", node.name(), a->prepared_.tls() ? " uses" : " does not use",
                                                      " TLS for moves and this node", transport.tls ? " does" : " does not",
                                                      ": their cluster maps differ"));
  }
  if (a->prepared_.link_secret().size() != kSecretSize || a->prepared_.data_secret().size() != kSecretSize) {
    return absl::DataLossError(absl::StrCat("node ", node.name(), " prepared the arrival without its secrets"));
  }
  ASSIGN_OR_RETURN(a->link_, ParseIpv4Address(a->prepared_.link_address()));
  ASSIGN_OR_RETURN(a->data_addr_, ParseIpv4Address(a->prepared_.data_address()));
  return a;
}

Arrival::Arrival(const cluster::Node& node, std::string home, pid_t pid, const MoveTransport& transport)
    : node_(node), stub_(PeerStub(node)), home_(std::move(home)), pid_(pid), transport_(transport) {}

Arrival::~Arrival() {
  data_ = MoveConnection();
  if (call_.joinable()) call_.join();
}

absl::Status Arrival::Begin(uint64_t shim_info, uint64_t text_start, uint64_t text_end) {
  ArrivalChunk first;
  ArrivalHeader* h = first.mutable_header();
  h->set_token(prepared_.token());
  h->set_home_node(home_);
  h->set_home_pid(pid_);
  h->set_shim_info(shim_info);
  h->set_text_start(text_start);
  h->set_text_end(text_end);
  call_ = std::thread([this, first] {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, 300);
    auto writer = stub_->Arrive(&ctx, &reply_);
    writer->Write(first);
    writer->WritesDone();
    status_ = writer->Finish();
  });
  return absl::OkStatus();
}

absl::Status LinkDeputy(Task& deputy, int fd, const cluster::Node& node, const sockaddr_in& link, const std::string& secret,
                        const MoveTransport& transport) {
  std::string what = absl::StrCat("link of pid ", deputy.pid(), " to ", node.name());
  if (!transport.tls) return InjectConnection(deputy, reinterpret_cast<const sockaddr*>(&link), sizeof link, fd, secret);
  ASSIGN_OR_RETURN(LocalRendezvous local, LocalRendezvous::Open());
  ASSIGN_OR_RETURN(MoveConnection remote, ConnectProven(link, transport.tls, node.name(), secret, what));
  RETURN_IF_ERROR(InjectConnection(deputy, local.addr(), local.addr_len(), fd));
  ASSIGN_OR_RETURN(UniqueFd mine, local.AcceptFrom(deputy.pid(), 10000));
  transport.relays->Start(std::move(mine), std::move(remote.tls));
  return absl::OkStatus();
}

absl::Status Arrival::Link(Task& deputy, int fd) {
  return LinkDeputy(deputy, fd, node_, link_, prepared_.link_secret(), transport_);
}

absl::Status Arrival::ConnectStream() {
  ASSIGN_OR_RETURN(data_, ConnectProven(data_addr_, transport_.tls, node_.name(), prepared_.data_secret(), what(),
                                        security::TlsTraffic::kBulk));
  return absl::OkStatus();
}

void Arrival::ImageTo(DepartRequest* req) const {
  req->set_data_node(node_.name());
  req->set_data_address(prepared_.data_address());
  req->set_data_secret(prepared_.data_secret());
}

std::string Arrival::what() const { return absl::StrCat("image stream to ", node_.name()); }

absl::StatusOr<ArrivalReply> Arrival::End() {
  if (data_.tls) data_.tls->Close();
  data_ = MoveConnection();
  if (call_.joinable()) call_.join();
  if (!status_.ok()) return FromGrpc(node_, status_);
  return reply_;
}

}  // namespace mosix::agent::internal
