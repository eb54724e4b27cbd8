// The home agent's side of a move to another node: preparing the arrival, linking the deputy,
// streaming the image while the target restores, and the calls around it. Internal to agent/.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "agent/transport/link_relay.h"
#include "agent/transport/move_connection.h"
#include "checkpoint/task.h"
#include "proto/agent.grpc.pb.h"
#include "proto/cluster.pb.h"
#include "security/tls.h"

namespace mosix::agent::internal {

// An agent's failure as a status naming its node.
absl::Status Unreachable(const cluster::Node& node, const grpc::Status& s);
absl::Status FromGrpc(const cluster::Node& node, const grpc::Status& s);
// After a Depart: the process runs elsewhere now (the node ends its copy), or not (it goes on).
void FinishDeparture(Peer::Stub* node, int32_t local_pid, bool arrived);

// How this node reaches others for moves: TLS with its credentials (null: a trusted network),
// and the relays that carry links through TLS.
struct MoveTransport {
  const security::TlsContext* tls = nullptr;
  LinkRelays* relays = nullptr;
};

// Gives the seized deputy its end of a link to `node`, on fd: a TCP connection that sends the
// secret first (trusted network), or a local socket that this agent relays through TLS.
absl::Status LinkDeputy(Task& deputy, int fd, const cluster::Node& node, const sockaddr_in& link, const std::string& secret,
                        const MoveTransport& transport);

// One arrival at a target node, seen from the home agent: prepared there (one-use listeners
// for the link and the image), then, in this order, Begin (the Arrive call, which waits for
// the link), Link (the deputy's end of the link), Stream (the image connection), End.
class Arrival {
 public:
  // mapped_files: the process's, so that the target says which it has (files_here()).
  // image_from: the node that will send the image, when not this one (ImageFrom() then says
  // where it goes, for that node's Depart).
  static absl::StatusOr<std::unique_ptr<Arrival>> Prepare(const cluster::Node& node, const std::string& home, pid_t pid,
                                                          const MoveTransport& transport,
                                                          const std::vector<MappedFile>& mapped_files = {},
                                                          const std::string& image_from = "");
  ~Arrival();

  // Starts the Arrive call; the target restores as the image arrives.
  absl::Status Begin(uint64_t shim_info, uint64_t text_start, uint64_t text_end);
  // Gives the seized deputy its end of the link on fd: a TCP connection to the target that
  // sends the move's secret first (trusted network), or a local socket that this agent relays
  // through TLS to the target.
  absl::Status Link(Task& deputy, int fd);
  // Connects the image stream (proven as this move's); the image goes into stream().
  absl::Status ConnectStream();
  ByteStream* stream() { return data_.stream(); }
  // Tells the node named in Prepare's image_from to send the image straight here.
  void ImageTo(DepartRequest* req) const;
  // The files the process maps that the target has the same: not to be sent.
  const google::protobuf::RepeatedPtrField<std::string>& files_here() const { return prepared_.files_here(); }
  std::string what() const;
  // Ends (or cuts) the stream and waits for the target: the process runs there, or why not.
  absl::StatusOr<ArrivalReply> End();

 private:
  Arrival(const cluster::Node& node, std::string home, pid_t pid, const MoveTransport& transport);

  cluster::Node node_;
  std::unique_ptr<Peer::Stub> stub_;
  std::string home_;
  pid_t pid_;
  MoveTransport transport_;
  PrepareArrivalReply prepared_;
  sockaddr_in link_{}, data_addr_{};
  MoveConnection data_;
  std::thread call_;
  ArrivalReply reply_;
  grpc::Status status_;
};

}  // namespace mosix::agent::internal
