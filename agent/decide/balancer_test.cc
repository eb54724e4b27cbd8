#include "agent/decide/balancer.h"

#include <catch2/catch.hpp>

namespace mosix::agent {
namespace {

BalanceNode Node(const std::string& name, double cpus, double load, uint64_t free_mb = 1000) {
  BalanceNode n;
  n.name = name;
  n.up = n.takes_guests = true;
  n.cpus = cpus;
  n.load = n.own_load = load;
  n.mem_total_mb = 2000;
  n.mem_free_mb = free_mb;
  return n;
}

BalanceProcess Proc(pid_t pid, const std::string& where, double here_s = 60) {
  BalanceProcess p;
  p.pid = pid;
  p.where = where;
  p.seconds_here = here_s;
  p.move_seconds = 0.1;
  p.mem_mb = 10;
  return p;
}

BalanceSettings Settings() {
  BalanceSettings s;
  s.home = "slow";
  return s;
}

TEST_CASE("a busy slow node sends work to idle faster nodes, fastest first, and stops when even") {
  // slow: 0.25 CPU with 4 processes (load 1600); fast: 0.75 CPU idle; mid: 0.5 CPU idle.
  std::vector<BalanceNode> nodes = {Node("slow", 0.25, 1600), Node("mid", 0.5, 0), Node("fast", 0.75, 0)};
  std::vector<BalanceProcess> procs = {Proc(1, "slow"), Proc(2, "slow"), Proc(3, "slow"), Proc(4, "slow")};
  BalancePlan plan = Balance(nodes, procs, Settings());
  REQUIRE(plan.moves.size() == 3);  // one stays: 400 at home against 1.3 x 200 + 200 on mid
  REQUIRE(plan.moves[0].to == "fast");
  int to_fast = 0, to_mid = 0;
  for (const auto& m : plan.moves) (m.to == "fast" ? to_fast : to_mid)++;
  REQUIRE(to_fast == 2);
  REQUIRE(to_mid == 1);
}

TEST_CASE("no move that only swaps the load (the 1.3 margin)") {
  std::vector<BalanceNode> nodes = {Node("slow", 1, 200), Node("b", 1, 100)};
  REQUIRE(Balance(nodes, {Proc(1, "slow"), Proc(2, "slow")}, Settings()).moves.empty());
  nodes[0].load = nodes[0].own_load = 300;
  REQUIRE(Balance(nodes, {Proc(1, "slow"), Proc(2, "slow"), Proc(3, "slow")}, Settings()).moves.size() == 1);
}

TEST_CASE("a lone process goes to a faster node, not to a slower one") {
  std::vector<BalanceNode> nodes = {Node("slow", 0.25, 400), Node("fast", 0.75, 0)};
  REQUIRE(Balance(nodes, {Proc(1, "slow")}, Settings()).moves.size() == 1);
  std::vector<BalanceNode> back = {Node("slow", 0.25, 0), Node("fast", 0.75, 133)};
  REQUIRE(Balance(back, {Proc(1, "fast")}, Settings()).moves.empty());
  // A node whose work has just left looks busy to others for a while, not to itself.
  back[1].load = 2000;
  REQUIRE(Balance(back, {Proc(1, "fast")}, Settings()).moves.empty());
}

TEST_CASE("too young, locked, just left, or short of memory: it stays and says why") {
  std::vector<BalanceNode> nodes = {Node("slow", 0.25, 800), Node("fast", 0.75, 0)};
  BalanceProcess young = Proc(1, "slow", 0.2);
  BalancePlan plan = Balance(nodes, {young}, Settings());
  REQUIRE(plan.moves.empty());
  REQUIRE(plan.stays.size() == 1);
  REQUIRE(plan.stays[0].second.find("too young") == 0);
  // (800 here; 1.3 x 133 = 173 on fast with it: 78% less.)
  REQUIRE(plan.stays[0].second.find("a move to fast gains 78% and pays after 1.0 s") != std::string::npos);

  BalanceProcess locked = Proc(2, "slow");
  locked.cannot = "locked (mosrun -L)";
  plan = Balance(nodes, {locked}, Settings());
  REQUIRE(plan.moves.empty());
  REQUIRE(plan.stays[0].second == "locked (mosrun -L)");

  BalanceProcess returning = Proc(3, "slow");
  returning.left = {{"fast", 3}};
  plan = Balance(nodes, {returning}, Settings());
  REQUIRE(plan.moves.empty());
  REQUIRE(plan.stays[0].second == "it left fast 3 s ago");
  returning.left = {{"fast", 30}};
  REQUIRE(Balance(nodes, {returning}, Settings()).moves.size() == 1);
  // Not through a third node either (A->B->C->A): every node it left lately counts.
  returning.left = {{"fast", 8}, {"other", 2}};
  plan = Balance(nodes, {returning}, Settings());
  REQUIRE(plan.moves.empty());
  REQUIRE(plan.stays[0].second == "it left fast 8 s ago");

  BalanceProcess big = Proc(4, "slow");
  big.mem_mb = 5000;
  plan = Balance(nodes, {big}, Settings());
  REQUIRE(plan.moves.empty());
  REQUIRE(plan.stays[0].second.find("memory") == 0);
}

TEST_CASE("a process whose CPU use is not measured yet moves only when asked") {
  std::vector<BalanceNode> nodes = {Node("slow", 0.25, 800), Node("fast", 0.75, 0)};
  BalanceProcess fresh = Proc(1, "slow");
  fresh.demand_known = false;
  fresh.measured_in_s = 0.3;
  BalancePlan plan = Balance(nodes, {fresh}, Settings());
  REQUIRE(plan.moves.empty());
  REQUIRE(plan.stays[0].second == "too young: its CPU use is not measured yet");
  REQUIRE(plan.decide_again_in_s == Approx(0.3));  // (when it will be measured)
  BalanceSettings asked = Settings();
  asked.ignore_age = true;  // migrate PID balance
  REQUIRE(Balance(nodes, {fresh}, asked).moves.size() == 1);
}

TEST_CASE("a process too young to move now says when it will not be; none that would stay anyway") {
  std::vector<BalanceNode> nodes = {Node("slow", 0.25, 800), Node("fast", 0.75, 0)};
  BalancePlan plan = Balance(nodes, {Proc(1, "slow", 0.4), Proc(2, "slow", 0.7)}, Settings());
  REQUIRE(plan.moves.empty());
  REQUIRE(plan.decide_again_in_s == Approx(0.3));  // pid 2 is a second old then (min_age)
  std::vector<BalanceNode> even = {Node("slow", 0.25, 400), Node("fast", 0.75, 400)};
  REQUIRE(Balance(even, {Proc(1, "slow", 0.4)}, Settings()).decide_again_in_s == 0);
}

TEST_CASE("a node's own load is at least what its measured processes make, however slowly it rose") {
  // Twelve jobs on a quarter CPU (4800), whose smoothed own load shows 3600 so far: one step
  // leaves as few there as their true load asks, not three.
  std::vector<BalanceNode> nodes = {Node("slow", 0.25, 3600), Node("mid", 0.5, 0), Node("fast", 0.75, 0)};
  std::vector<BalanceProcess> procs;
  for (pid_t pid = 1; pid <= 12; ++pid) procs.push_back(Proc(pid, "slow"));
  BalanceSettings s = Settings();
  s.max_moves = 12;
  size_t moved = Balance(nodes, procs, s).moves.size();
  nodes[0].own_load = 4800;
  REQUIRE(moved == Balance(nodes, procs, s).moves.size());
  REQUIRE(moved >= 10);
}

TEST_CASE("no crossing: a node's load is at least its measured processes' as others see it too") {
  // n3 (0.5 CPU) and n4 (0.75 CPU) each run four of this home's jobs, measured (800 and 533),
  // but the gossip says less of both (a view behind its moves). Judged by its own measure
  // against the other's stale view, each node looked better to the other's jobs: they crossed.
  std::vector<BalanceNode> nodes = {Node("slow", 0.25, 800), Node("n3", 0.5, 300), Node("n4", 0.75, 200)};
  std::vector<BalanceProcess> procs;
  for (pid_t pid = 1; pid <= 8; ++pid) procs.push_back(Proc(pid, pid <= 4 ? "n3" : "n4"));
  BalancePlan plan = Balance(nodes, procs, Settings());
  bool to_n3 = false, to_n4 = false;
  for (const auto& m : plan.moves) (m.to == "n3" ? to_n3 : to_n4) = true;
  REQUIRE(!(to_n3 && to_n4));
  // One step from there, moves go one way only: 800 on n3 against 533 + 1.3 x 133 on n4.
  REQUIRE(plan.moves.size() == 1);
  REQUIRE(plan.moves[0].to == "n4");
}

TEST_CASE("a process that hardly runs does not move for load") {
  std::vector<BalanceNode> nodes = {Node("slow", 0.25, 800), Node("fast", 0.75, 0)};
  BalanceProcess idle = Proc(1, "slow");
  idle.demand = 0.01;
  REQUIRE(Balance(nodes, {idle}, Settings()).moves.empty());
}

TEST_CASE("a node short of memory sends work away even to a busier node (ushering)") {
  std::vector<BalanceNode> nodes = {Node("slow", 1, 100, /*free=*/20), Node("busy", 1, 300, 1500), Node("full", 1, 0, 30)};
  BalanceProcess p = Proc(1, "slow");
  p.mem_mb = 200;
  BalancePlan plan = Balance(nodes, {p}, Settings());
  REQUIRE(plan.moves.size() == 1);
  REQUIRE(plan.moves[0].to == "busy");
  REQUIRE(plan.moves[0].why == "slow has 20 MB free");
}

TEST_CASE("blocked and down nodes take no guests; the home takes its own back") {
  std::vector<BalanceNode> nodes = {Node("slow", 1, 0), Node("b", 1, 400), Node("c", 4, 0), Node("d", 4, 0)};
  nodes[2].takes_guests = false;
  nodes[3].up = false;
  nodes[0].takes_guests = false;  // the home is blocked to guests, not to its own
  BalancePlan plan = Balance(nodes, {Proc(1, "b")}, Settings());
  REQUIRE(plan.moves.size() == 1);
  REQUIRE(plan.moves[0].to == "slow");
}

TEST_CASE("the best node for a new process counts the process itself") {
  std::vector<BalanceNode> nodes = {Node("slow", 0.25, 0), Node("fast", 0.75, 0)};
  REQUIRE(BestNodeForNew(nodes, 10, Settings()) == "fast");
  nodes[1].load = 400;
  REQUIRE(BestNodeForNew(nodes, 10, Settings()) == "slow");
  nodes[0].load = 0;
  REQUIRE(BestNodeForNew({Node("slow", 1, 0), Node("b", 1, 0)}, 10, Settings()) == "slow");  // a tie: home
  REQUIRE(BestNodeForNew({Node("slow", 1, 500), Node("b", 1, 0, 10)}, 100, Settings()) == "slow");  // no room there
}

}  // namespace
}  // namespace mosix::agent

namespace mosix::agent {
namespace {

TEST_CASE("work leaves a node by its own load, comes to one by the load others see") {
  // node b saw its work go (own 100), others still see it busy (load 900): nothing leaves it.
  std::vector<BalanceNode> nodes = {Node("slow", 1, 0), Node("b", 1, 100)};
  nodes[1].load = 900;
  REQUIRE(Balance(nodes, {Proc(1, "b")}, Settings()).moves.empty());
  // node c has just been given work (others see 500, it sees 0 yet): no one goes there.
  std::vector<BalanceNode> two = {Node("slow", 1, 300), Node("c", 1, 0)};
  two[1].load = 500;
  REQUIRE(Balance(two, {Proc(1, "slow"), Proc(2, "slow"), Proc(3, "slow")}, Settings()).moves.empty());
}

}  // namespace
}  // namespace mosix::agent
