#include "agent/cluster/gossip.h"

#include <catch2/catch.hpp>

#include <map>

namespace mosix::agent {
namespace {

TEST_CASE("the window is the newest entries, own first, and a newer copy replaces an older") {
  GossipCore g(10, 0, 3);
  REQUIRE(g.Window().empty());
  REQUIRE(g.Merge(4, 100));
  REQUIRE(g.Merge(5, 300));
  REQUIRE(g.Merge(6, 200));
  REQUIRE(g.Merge(7, 50));
  REQUIRE(g.Window() == std::vector<int>{5, 6, 4});
  REQUIRE_FALSE(g.Merge(5, 250));  // older than the copy held
  REQUIRE(g.StampOf(5) == 300);
  REQUIRE(g.Merge(7, 400));  // node 7 climbs into the window
  REQUIRE(g.Window() == std::vector<int>{7, 5, 6});
  g.Refresh(500);
  REQUIRE(g.Window() == std::vector<int>{0, 7, 5});
  REQUIRE(g.Merge(5, 450));  // an entry already in the window moves up, nothing is doubled
  REQUIRE(g.Window() == std::vector<int>{0, 5, 7});
  REQUIRE_FALSE(g.Merge(42, 1000));  // no such node
  REQUIRE_FALSE(g.Merge(-1, 1000));
  REQUIRE_FALSE(g.Merge(3, GossipCore::kNever));
}

TEST_CASE("the window stays the newest entries through many random merges") {
  std::mt19937_64 rng(7);
  GossipCore g(50, 3, 8);
  std::vector<GossipCore::Stamp> truth(50, GossipCore::kNever);
  for (int i = 0; i < 20000; ++i) {
    int node = static_cast<int>(rng() % 50);
    GossipCore::Stamp s = static_cast<GossipCore::Stamp>(rng() % 100000);
    bool newer = s > truth[node];
    REQUIRE(g.Merge(node, s) == newer);
    if (newer) truth[node] = s;
  }
  std::vector<std::pair<GossipCore::Stamp, int>> sorted;
  for (int k = 0; k < 50; ++k) sorted.push_back({truth[k], k});
  std::sort(sorted.rbegin(), sorted.rend());
  std::vector<int> want;
  for (int i = 0; i < 8; ++i) want.push_back(sorted[i].second);
  REQUIRE(g.Window() == want);
}

TEST_CASE("targets are other nodes, up ones unless by the any-node chance") {
  std::mt19937_64 rng(1);
  GossipCore g(6, 2, 4, GossipCore::Targeting::kUniform, /*any_node_chance=*/0);
  // Only nodes 1 and 4 are up at time 1000 with a limit of 100.
  g.Merge(1, 950);
  g.Merge(4, 990);
  g.Merge(5, 100);  // heard of long ago: down
  std::map<int, int> seen;
  for (int i = 0; i < 2000; ++i) seen[g.ChooseTarget(rng, 1000, 100)]++;
  REQUIRE(seen.size() == 2);
  REQUIRE(seen[1] > 800);
  REQUIRE(seen[4] > 800);

  GossipCore any(6, 2, 4, GossipCore::Targeting::kUniform, /*any_node_chance=*/1);
  seen.clear();
  for (int i = 0; i < 6000; ++i) seen[any.ChooseTarget(rng, 1000, 100)]++;
  REQUIRE(seen.size() == 5);
  REQUIRE(seen.count(2) == 0);

  GossipCore alone(1, 0, 4);
  REQUIRE(alone.ChooseTarget(rng, 0, 100) == -1);
}

TEST_CASE("oldest-of-two targeting prefers the node heard of least recently") {
  std::mt19937_64 rng(3);
  GossipCore g(3, 0, 4, GossipCore::Targeting::kOldestOfTwo, 0);
  g.Merge(1, 900);
  g.Merge(2, 500);
  int to2 = 0;
  for (int i = 0; i < 4000; ++i) to2 += g.ChooseTarget(rng, 1000, 1000) == 2;
  REQUIRE(to2 > 2800);  // 3/4 expected: two picks, 2 wins unless both are 1
}

TEST_CASE("gossip spreads every entry to every node") {
  const int n = 64;
  std::mt19937_64 rng(11);
  std::vector<GossipCore> nodes;
  for (int k = 0; k < n; ++k) nodes.emplace_back(n, k, 8);
  GossipCore::Stamp now = 0;
  for (int step = 1; step <= 300; ++step) {
    for (int k = 0; k < n; ++k) {
      now = step * 1000 + k;
      nodes[k].Refresh(now);
      int to = nodes[k].ChooseTarget(rng, now, 1 << 30);
      for (int e : nodes[k].Window()) nodes[to].Merge(e, nodes[k].StampOf(e));
    }
  }
  for (int k = 0; k < n; ++k) {
    for (int e = 0; e < n; ++e) REQUIRE(nodes[k].StampOf(e) != GossipCore::kNever);
  }
}

}  // namespace
}  // namespace mosix::agent
