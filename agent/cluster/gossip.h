// The gossip that spreads what each node knows of itself, as MOSIX's information dissemination
// (infod; Amar, Barak, Drezner, Okun, "Randomized gossip algorithms for maintaining a distributed
// bulletin board with guaranteed age properties", CPE 2009).
//
// Each node keeps a vector with one entry per node of the cluster, each stamped with the time it
// was made at its own node. Every step a node makes its own entry afresh and sends it, with the
// `window`-1 newest other entries it holds, to one node chosen at random; the receiver keeps of
// each entry whichever copy is newer. A node whose entry has grown older than a limit is taken
// for down; it is up again as soon as a newer entry of it arrives.
//
// This class is the algorithm alone: node indices and stamps, no payload, no clock, no network.
// The agent (cluster_view.h) keeps each entry's payload beside it and does the sending; the
// simulator (bench/gossip_sim.cc) runs thousands of these in virtual time. Stamps and ages are
// in the caller's ticks (the agent: microseconds of its steady clock; the simulator: its own).
// Not thread-safe: one owner.
#pragma once

#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

namespace mosix::agent {

class GossipCore {
 public:
  using Stamp = int64_t;
  static constexpr Stamp kNever = std::numeric_limits<Stamp>::min();

  // How the target of each step is chosen.
  enum class Targeting {
    kUniform,       // any other node that is up, at random (MOSIX)
    kOldestOfTwo,   // two such nodes at random: the one whose entry here is older
  };

  // `nodes` nodes, this one being `self`; messages carry up to `window` entries (this node's own
  // included). Now and then (`any_node_chance`) a target is picked among all nodes, down ones
  // included, so that a node that comes back is found.
  GossipCore(int nodes, int self, int window, Targeting targeting = Targeting::kUniform, double any_node_chance = 0.1);

  int nodes() const { return static_cast<int>(stamps_.size()); }
  int self() const { return self_; }

  // This node's own entry is made afresh at `now`.
  void Refresh(Stamp now) { Merge(self_, now); }
  // An entry of `node` made at `stamp` arrived: kept if it is newer than the copy held (returns
  // whether it was). Out-of-range nodes are ignored. (Others' word of this node itself is the
  // caller's to leave out: cluster_view.h does.)
  bool Merge(int node, Stamp stamp);
  // What to send this step: node indices, newest first (this node's own entry first, once
  // refreshed), at most `window`.
  std::vector<int> Window() const;
  // The stamp of `node`'s entry here (kNever if never heard of).
  Stamp StampOf(int node) const { return stamps_[node]; }
  // Whether `node` counts as up at `now`: its entry is no older than `down_after`.
  bool Up(int node, Stamp now, Stamp down_after) const;
  // The node to send to this step, or -1 when there is no other node.
  int ChooseTarget(std::mt19937_64& rng, Stamp now, Stamp down_after) const;

 private:
  int RandomOther(std::mt19937_64& rng) const;

  int self_;
  int window_;
  Targeting targeting_;
  double any_node_chance_;
  std::vector<Stamp> stamps_;
  // The `window` newest entries, by stamp, newest last (kept as entries are merged).
  std::vector<std::pair<Stamp, int>> newest_;
};

}  // namespace mosix::agent
