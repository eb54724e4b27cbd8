#include "agent/internal/arrival_client.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/peers.h"
#include "base/status.h"

namespace mosix::agent::internal {

absl::StatusOr<sockaddr_in> ParseAddress(const std::string& address) {
  size_t colon = address.rfind(':');
  int port = 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      inet_pton(AF_INET, address.substr(0, colon).c_str(), &a.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("bad link address '", address, "'"));
  }
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

absl::Status Unreachable(const cluster::Node& node, const grpc::Status& s) {
  return absl::UnavailableError(absl::StrCat("node ", node.name(), " (", node.address(), "): ", s.error_message()));
}

absl::Status FromGrpc(const cluster::Node& node, const grpc::Status& s) {
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) return Unreachable(node, s);
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

// After a Depart: the process runs elsewhere now (the node ends its copy), or not (it goes on).
void FinishDeparture(Agent::Stub* node, int32_t local_pid, bool arrived) {
  FinishDepartureRequest req;
  req.set_local_pid(local_pid);
  req.set_arrived(arrived);
  FinishDepartureReply reply;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 10);
  (void)node->FinishDeparture(&ctx, req, &reply);
}

absl::StatusOr<std::unique_ptr<Arrival>> Arrival::Prepare(const cluster::Node& node, const std::string& home, pid_t pid,
                                                         const std::vector<MappedFile>& mapped_files) {
  auto a = std::unique_ptr<Arrival>(new Arrival(node, home, pid));
  PrepareArrivalRequest req;
  req.set_home_node(home);
  req.set_home_pid(pid);
  for (const MappedFile& f : mapped_files) *req.add_mapped_files() = f;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 10);
  grpc::Status s = a->stub_->PrepareArrival(&ctx, req, &a->prepared_);
  if (!s.ok()) return Unreachable(node, s);
  ASSIGN_OR_RETURN(a->link_, ParseAddress(a->prepared_.link_address()));
  ASSIGN_OR_RETURN(a->data_addr_, ParseAddress(a->prepared_.data_address()));
  return a;
}

Arrival::Arrival(const cluster::Node& node, std::string home, pid_t pid)
    : node_(node), stub_(PeerStub(node)), home_(std::move(home)), pid_(pid) {}

Arrival::~Arrival() {
  data_.reset();
  if (call_.joinable()) call_.join();
}

absl::Status Arrival::Begin(uint64_t shim_info, uint64_t text_start, uint64_t text_end) {
  data_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!data_.valid() || ::connect(data_.get(), reinterpret_cast<sockaddr*>(&data_addr_), sizeof data_addr_) != 0) {
    return ErrnoStatus("connect", what());
  }
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

std::string Arrival::what() const { return absl::StrCat("image stream to ", node_.name()); }

absl::StatusOr<ArrivalReply> Arrival::End() {
  data_.reset();
  if (call_.joinable()) call_.join();
  if (!status_.ok()) return FromGrpc(node_, status_);
  return reply_;
}

}  // namespace mosix::agent::internal
