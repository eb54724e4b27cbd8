// What this node knows of every node of the cluster: one entry per node of the map, each with
// its age, kept fresh by gossip (gossip.h holds the algorithm; this class, the entries and what
// goes on the wire). Entries that arrive are checked as hostile: only nodes of the map, sane
// numbers, a bounded count. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "agent/cluster/gossip.h"
#include "proto/agent.pb.h"
#include "proto/cluster.pb.h"

namespace mosix::agent {

struct GossipSettings {
  std::chrono::milliseconds step{1000};
  int window = 20;
  std::chrono::milliseconds down_after{10000};
  // From the map (its defaults: 10 steps, or more in a big cluster, whose entries are older).
  static GossipSettings FromMap(const cluster::ClusterMap& map);
};

class ClusterView {
 public:
  using Clock = std::chrono::steady_clock;
  ClusterView(const cluster::ClusterMap& map, GossipSettings settings, uint64_t seed = std::random_device{}());

  const GossipSettings& settings() const { return settings_; }
  const std::string& self() const { return names_[self_]; }

  // This node's own entry, made afresh now.
  void SetOwn(NodeLoad entry);
  // A gossip message from peer `from` (its certificate's name, "" on a trusted network).
  absl::Status Merge(const GossipRequest& message, const std::string& from);
  // This step's message and the node to send it to; false when there is no other node.
  bool NextMessage(std::string* to, GossipRequest* message);

  struct Known {
    NodeLoad load;       // as last heard, with the work this node sent there and it does not show yet
    bool up = false;     // heard of within down_after
    double age_s = -1;   // -1: never heard of
  };
  std::optional<Known> Get(const std::string& node);
  std::vector<Known> All();
  std::vector<NodeStatus> Status();
  // `node` said it takes no guests (it sent them home): so it is, until a newer entry of it.
  void TakesNoGuests(const std::string& node);
  // The map's node of that name.
  const cluster::Node* NodeOf(const std::string& node) const;
  // Work sent to `node` just now (a load; negative: work taken from it). Its load as seen here
  // counts it at once, before the node's own entries can, and keeps counting it until an entry
  // of `node` made after the work got there arrives (an entry made while a move is on its way
  // does not show it: the move's bump outlives it). Returns a ticket for Arrived or Failed.
  // `arrives_within`: when no one will say Arrived (a new process placed there), the time after
  // which its entries show it. A ticket nobody settles lapses after kExpectedAtMost.
  uint64_t Expect(const std::string& node, double load, std::chrono::milliseconds arrives_within = std::chrono::milliseconds(0));
  // The work of `ticket` got there just now: the node's next entries show it.
  void Arrived(uint64_t ticket);
  // It will not get there (the move failed).
  void Failed(uint64_t ticket);
  static constexpr std::chrono::seconds kExpectedAtMost{60};

 private:
  int IndexOf(const std::string& node) const;
  GossipCore::Stamp Now() const;
  Known KnownAt(int k, GossipCore::Stamp now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops expected work that node k's entry now shows, or that lapsed.
  void SettleExpected(int k, GossipCore::Stamp now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  struct Expected {
    uint64_t ticket;
    int node;
    double load;
    GossipCore::Stamp made;
    GossipCore::Stamp arrived;  // kNever until it got there
  };

  GossipSettings settings_;
  std::vector<std::string> names_;
  cluster::ClusterMap map_;
  int self_ = 0;
  absl::Mutex mu_;
  GossipCore core_ ABSL_GUARDED_BY(mu_);
  std::vector<NodeLoad> entries_ ABSL_GUARDED_BY(mu_);
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  std::vector<Expected> expected_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace mosix::agent
