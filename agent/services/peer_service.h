// The peer service: what the other agents of the cluster ask of this one, on its TCP address
// only. With TLS (the default in a cluster) a peer is the node its certificate names, and may
// act only on its own business: a guest is signalled, moved on, checkpointed or ended only by
// its home node; a process's end is reported only by the node it ran on; only a node of the
// map may send arrivals. On a network the map marks trusted, peers are not authenticated.
#pragma once

#include <string>

#include "agent/arrivals.h"
#include "agent/cluster/cluster_view.h"
#include "agent/cluster/gossiper.h"
#include "agent/decide/node_policy.h"
#include "agent/services/metrics.h"
#include "agent/mover.h"
#include "proto/agent.grpc.pb.h"
#include "proto/cluster.pb.h"

namespace mosix::agent {

class PeerService final : public mosix::agent::Peer::Service {
 public:
  PeerService(std::string node, cluster::ClusterMap map, bool tls, Mover* mover, Arrivals* arrivals, ClusterView* view,
              Gossiper* gossiper, NodePolicy* policy, Metrics* metrics)
      : node_(std::move(node)),
        map_(std::move(map)),
        tls_(tls),
        mover_(mover),
        arrivals_(arrivals),
        view_(view),
        gossiper_(gossiper),
        policy_(policy),
        metrics_(metrics) {}

  grpc::Status Ping(grpc::ServerContext*, const PingRequest*, PingReply*) override;
  grpc::Status PrepareArrival(grpc::ServerContext*, const PrepareArrivalRequest*, PrepareArrivalReply*) override;
  grpc::Status Arrive(grpc::ServerContext*, grpc::ServerReader<ArrivalChunk>*, ArrivalReply*) override;
  grpc::Status Signal(grpc::ServerContext*, const SignalRequest*, SignalReply*) override;
  grpc::Status Ended(grpc::ServerContext*, const EndedRequest*, EndedReply*) override;
  grpc::Status Depart(grpc::ServerContext*, const DepartRequest*, grpc::ServerWriter<DepartChunk>*) override;
  grpc::Status FinishDeparture(grpc::ServerContext*, const FinishDepartureRequest*, FinishDepartureReply*) override;
  grpc::Status CheckpointGuest(grpc::ServerContext*, const DepartRequest*, grpc::ServerWriter<DepartChunk>*) override;
  grpc::Status TakeBack(grpc::ServerContext* ctx, const TakeBackRequest* req, TakeBackReply* reply) override;
  grpc::Status PrepareRelink(grpc::ServerContext* ctx, const PrepareRelinkRequest* req, PrepareRelinkReply* reply) override;
  grpc::Status Relink(grpc::ServerContext* ctx, const RelinkRequest* req, RelinkReply* reply) override;
  grpc::Status StillHere(grpc::ServerContext* ctx, const StillHereRequest* req, StillHereReply* reply) override;
  grpc::Status Guests(grpc::ServerContext*, const GuestsRequest*, GuestsReply*) override;
  grpc::Status Gossip(grpc::ServerContext*, const GossipRequest*, GossipReply*) override;

 private:
  // The node a call comes from: its certificate's name, a node of the map. "" (anyone) on a
  // trusted network.
  absl::StatusOr<std::string> From(const grpc::ServerContext& ctx) const;

  std::string node_;
  cluster::ClusterMap map_;
  bool tls_;
  Mover* mover_;
  Arrivals* arrivals_;
  ClusterView* view_;
  Gossiper* gossiper_;
  NodePolicy* policy_;
  Metrics* metrics_;  // (null: none served)
};

// The node name in the certificate of a TLS peer (its common name), or PermissionDenied.
absl::StatusOr<std::string> CertifiedNode(const grpc::ServerContext& ctx);

}  // namespace mosix::agent
