#include "agent/cluster/cluster_view.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <thread>

namespace mosix::agent {
namespace {

cluster::ClusterMap Map(int n, const std::string& self = "node1") {
  cluster::ClusterMap m;
  m.set_this_node(self);
  for (int k = 1; k <= n; ++k) {
    auto* node = m.add_nodes();
    node->set_name("node" + std::to_string(k));
    node->set_address("127.0.0." + std::to_string(k) + ":7700");
  }
  return m;
}

NodeLoad Entry(const std::string& node, double load, uint64_t age_ms = 0) {
  NodeLoad e;
  e.set_node(node);
  e.set_cpus(2);
  e.set_speed(1);
  e.set_load(load);
  e.set_mem_total_mb(1000);
  e.set_mem_free_mb(500);
  e.set_procs(3);
  e.set_guests(1);
  e.set_takes_guests(true);
  e.set_age_ms(age_ms);
  return e;
}

TEST_CASE("entries heard are kept, the newer copy wins, and status says up or unknown") {
  ClusterView v(Map(3), GossipSettings::FromMap(Map(3)));
  v.SetOwn(Entry("ignored", 10));
  GossipRequest m;
  *m.add_entries() = Entry("node2", 150, 100);
  REQUIRE(v.Merge(m, "node2").ok());
  auto k = v.Get("node2");
  REQUIRE(k->up);
  REQUIRE(k->load.load() == 150);
  REQUIRE(k->age_s >= 0.1);
  // An older copy of node2's entry does not replace the newer.
  GossipRequest old;
  *old.add_entries() = Entry("node2", 999, 5000);
  REQUIRE(v.Merge(old, "node3").ok());
  REQUIRE(v.Get("node2")->load.load() == 150);
  // What others say of this node is not taken.
  GossipRequest me;
  *me.add_entries() = Entry("node1", 777);
  REQUIRE(v.Merge(me, "node2").ok());
  REQUIRE(v.Get("node1")->load.load() == 10);
  auto status = v.Status();
  REQUIRE(status.size() == 3);
  REQUIRE(status[0].self());
  REQUIRE(status[0].state() == "up");
  REQUIRE(status[1].state() == "up");
  REQUIRE(status[2].state() == "unknown");
}

TEST_CASE("a node silent longer than down_after is down") {
  cluster::ClusterMap map = Map(2);
  map.set_down_after_ms(2000);
  ClusterView v(map, GossipSettings::FromMap(map));
  GossipRequest m;
  *m.add_entries() = Entry("node2", 100, 3000);  // made 3 s ago
  REQUIRE(v.Merge(m, "node2").ok());
  REQUIRE_FALSE(v.Get("node2")->up);
  REQUIRE(v.Status()[1].state() == "down");
}

TEST_CASE("hostile gossip is refused with a reason, and what is sane in it is kept") {
  ClusterView v(Map(2), GossipSettings::FromMap(Map(2)));
  GossipRequest m;
  *m.add_entries() = Entry("node9", 1);
  auto s = v.Merge(m, "node2");
  REQUIRE(!s.ok());
  REQUIRE(std::string(s.message()).find("not a node of the map") != std::string::npos);
  for (double bad : {std::nan(""), -1.0, double{INFINITY}, 1e300}) {
    GossipRequest b;
    *b.add_entries() = Entry("node2", bad);
    REQUIRE(!v.Merge(b, "node2").ok());
  }
  GossipRequest mem;
  NodeLoad e = Entry("node2", 1);
  e.set_mem_free_mb(5000);  // more free than total
  *mem.add_entries() = e;
  REQUIRE(!v.Merge(mem, "node2").ok());
  REQUIRE(v.Get("node2")->age_s < 0);  // nothing was taken
  GossipRequest many;
  for (int i = 0; i < 3; ++i) *many.add_entries() = Entry("node2", 1);
  REQUIRE(!v.Merge(many, "node2").ok());  // more entries than nodes
  GossipRequest mixed;
  *mixed.add_entries() = Entry("nodeX", 1);
  *mixed.add_entries() = Entry("node2", 42);
  REQUIRE(!v.Merge(mixed, "node2").ok());
  REQUIRE(v.Get("node2")->load.load() == 42);
}

TEST_CASE("the message carries the newest entries with their ages, to another node") {
  ClusterView v(Map(3), GossipSettings::FromMap(Map(3)));
  v.SetOwn(Entry("node1", 5));
  GossipRequest m;
  *m.add_entries() = Entry("node3", 70, 1500);
  REQUIRE(v.Merge(m, "node3").ok());
  std::string to;
  GossipRequest out;
  REQUIRE(v.NextMessage(&to, &out));
  REQUIRE(to != "node1");
  REQUIRE(out.entries_size() == 2);
  REQUIRE(out.entries(0).node() == "node1");
  REQUIRE(out.entries(0).age_ms() < 100);
  REQUIRE(out.entries(1).node() == "node3");
  REQUIRE(out.entries(1).age_ms() >= 1500);
  // node3 sent its guests home: it takes none until a newer entry of it says otherwise.
  v.TakesNoGuests("node3");
  REQUIRE_FALSE(v.Get("node3")->load.takes_guests());
  GossipRequest fresh;
  *fresh.add_entries() = Entry("node3", 0, 0);
  REQUIRE(v.Merge(fresh, "node3").ok());
  REQUIRE(v.Get("node3")->load.takes_guests());
}

TEST_CASE("work sent to a node counts in its load here until an entry made after it got there") {
  ClusterView v(Map(3), GossipSettings::FromMap(Map(3)));
  GossipRequest m;
  *m.add_entries() = Entry("node3", 70, 20000);
  REQUIRE(v.Merge(m, "node3").ok());
  uint64_t to = v.Expect("node3", 30);
  REQUIRE(v.Get("node3")->load.load() == 100);
  REQUIRE(v.Get("node3")->load.own_load() == 30);
  // An entry made while the move is on its way does not show it: the expected work stays.
  GossipRequest during;
  *during.add_entries() = Entry("node3", 75, 10000);  // (made 10 s ago, newer than the first)
  REQUIRE(v.Merge(during, "node3").ok());
  REQUIRE(v.Get("node3")->load.load() == 105);
  // What goes out in gossip is the node's own word, without what this node expects.
  std::string target;
  GossipRequest out;
  REQUIRE(v.NextMessage(&target, &out));
  for (const NodeLoad& e : out.entries()) {
    if (e.node() == "node3") REQUIRE(e.load() == 75);
  }
  v.Arrived(to);
  // An entry made before the arrival (it was in transit for a while) still leaves it counted...
  GossipRequest before;
  *before.add_entries() = Entry("node3", 76, 5000);
  REQUIRE(v.Merge(before, "node3").ok());
  REQUIRE(v.Get("node3")->load.load() == 76 + 30);
  // ... one made after it shows the work itself.
  std::this_thread::sleep_for(std::chrono::milliseconds(60));  // (past the transit slack)
  GossipRequest after;
  *after.add_entries() = Entry("node3", 110);
  REQUIRE(v.Merge(after, "node3").ok());
  REQUIRE(v.Get("node3")->load.load() == 110);
  // A move that failed is not expected any more; work taken away lowers the load, down to 0.
  uint64_t failed = v.Expect("node3", 50);
  REQUIRE(v.Get("node3")->load.load() == 160);
  v.Failed(failed);
  REQUIRE(v.Get("node3")->load.load() == 110);
  v.Expect("node3", -500);
  REQUIRE(v.Get("node3")->load.load() == 0);
  REQUIRE(v.Expect("node9", 10) == 0);  // (not a node of the map)
}

TEST_CASE("a placement nobody reports counts until the node's entries can show it") {
  ClusterView v(Map(2), GossipSettings::FromMap(Map(2)));
  GossipRequest m;
  *m.add_entries() = Entry("node2", 10);
  REQUIRE(v.Merge(m, "node2").ok());
  v.Expect("node2", 40, std::chrono::milliseconds(20));
  REQUIRE(v.Get("node2")->load.load() == 50);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE(v.Get("node2")->load.load() == 50);  // (no newer entry yet)
  GossipRequest fresh;
  *fresh.add_entries() = Entry("node2", 45);
  REQUIRE(v.Merge(fresh, "node2").ok());
  REQUIRE(v.Get("node2")->load.load() == 45);
}

}  // namespace
}  // namespace mosix::agent
