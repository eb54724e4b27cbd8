// Where this node's processes should run: MOSIX's load balancing and memory ushering, as a
// pure function of what the node knows (the cluster view, its processes), so that it can be
// tested and explained. brain.h runs it once a step and makes the moves.
//
// The model (DESIGN.md, "The cluster brain"): a node's load is its runnable processes per
// standard CPU (load.h), so a faster or bigger node shows less load for the same work. A process
// p that runs on node S is worth moving to node T when
//     load(T) + 1.3 x p's load on T  <  own load(S)        (MOSIX's rule, with a 30% margin)
// where load(T) is T's load as others see it (up at once, down slowly: a node that just got
// work, or lost it a moment ago, is not rushed to) and own load(S) is S's as S sees it (up
// slowly, down at once: no process leaves for a moment's burst, and none for work already gone).
// where p's load on a node is its demand (the share of the time it wants a CPU) x 100 / CPUs /
// speed there. The move must also pay for itself: p must have run where it is for at least
// kWorthFactor x its move's expected time / the relative gain (a process that has run for t
// is expected to run about t more: Harchol-Balter and Downey), and at least min_age. It does not
// go back to any node it left less than no_return ago (no A->B->A, nor A->B->C->A; the last
// kNodesLeftKept nodes are remembered). Memory comes first: a
// process never goes where there is not enough free memory for it (its resident size, or what
// mosrun -m declared, and a reserve), and it leaves a node whose free memory runs under the
// reserve for one that has room (ushering), even if that node is busier.
// The greedy step moves the best (p, T) pair first, counts the move in both loads, and goes on,
// up to max_moves a step.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mosix::agent {

struct BalanceNode {
  std::string name;
  bool up = false;
  bool takes_guests = false;  // a process's home always takes it back
  double load = 0;            // as others see it: what counts when work is to come to it
  double own_load = 0;        // as it sees itself: what counts when work is to leave it
  double cpus = 1, speed = 1;
  uint64_t mem_free_mb = 0, mem_total_mb = 0;
};

struct BalanceProcess {
  pid_t pid = 0;
  std::string where;        // the node it runs on
  double demand = 1;        // 0..1: the share of the time it wants a CPU, lately
  bool demand_known = true;  // false until measured: it moves only when asked (ignore_age)
  double measured_in_s = 0;  // (when not known) how soon it will be
  double seconds_here = 0;  // how long it has run where it is
  double move_seconds = 0;  // how long a move of it is expected to take
  uint64_t mem_mb = 0;      // what it needs: resident size, or mosrun -m
  std::string cannot;       // why it may not move automatically at all ("" if it may)
  // The nodes it left lately, and how long ago (s).
  std::vector<std::pair<std::string, double>> left;
};

struct BalanceSettings {
  std::string home;               // this node: the home of the processes
  double margin = 1.3;            // MOSIX's factor on the process's own load at the target
  double min_age_s = 1;           // no process moves before it has run this long where it is
  double worth_factor = 2;        // run time here >= worth_factor x move time / relative gain
  double no_return_s = 10;        // no A->B->A within this
  uint64_t reserve_mb = 64;       // free memory a node keeps (and the least for ushering)
  double reserve_fraction = 0.1;  // ... or this share of its memory, whichever is more
  int max_moves = 8;              // a step
  bool ignore_age = false;        // migrate PID balance: decide now
};

struct BalanceMove {
  pid_t pid;
  std::string from, to;
  std::string why;  // "load 400 -> 173", "node2 has 20 MB free", ...
};

struct BalancePlan {
  std::vector<BalanceMove> moves;
  // For each process that stays although another node is less loaded: why (mosps).
  std::vector<std::pair<pid_t, std::string>> stays;
  // When a process that would go somewhere better is too young for it, or not measured yet: in
  // how many seconds the first of them will not be (0: none). Worth deciding again then.
  double decide_again_in_s = 0;
};

BalancePlan Balance(std::vector<BalanceNode> nodes, const std::vector<BalanceProcess>& procs, const BalanceSettings& s);

// The node a new process (needing mem_mb) should start on now: the least loaded, counting it,
// among those with room (mosrun -b). The home when it is as good.
std::string BestNodeForNew(const std::vector<BalanceNode>& nodes, uint64_t mem_mb, const BalanceSettings& s);

// p's load on a node.
double ProcessLoadOn(const BalanceNode& n, double demand);

}  // namespace mosix::agent
