#include "agent/decide/balancer.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/cluster/load.h"

namespace mosix::agent {
namespace {

uint64_t Reserve(const BalanceNode& n, const BalanceSettings& s) {
  return std::max<uint64_t>(s.reserve_mb, static_cast<uint64_t>(static_cast<double>(n.mem_total_mb) * s.reserve_fraction));
}

// Whether n has room for mem_mb more (a node that says nothing of its memory has).
bool Fits(const BalanceNode& n, uint64_t mem_mb, const BalanceSettings& s) {
  return n.mem_total_mb == 0 || n.mem_free_mb >= mem_mb + Reserve(n, s);
}

bool Short(const BalanceNode& n, const BalanceSettings& s) { return n.mem_total_mb > 0 && n.mem_free_mb < Reserve(n, s); }

// A process that barely runs gains nothing from a less loaded node.
constexpr double kLeastDemand = 0.1;

}  // namespace

double ProcessLoadOn(const BalanceNode& n, double demand) { return LoadOf(demand, n.cpus, n.speed); }

BalancePlan Balance(std::vector<BalanceNode> nodes, const std::vector<BalanceProcess>& procs, const BalanceSettings& s) {
  BalancePlan plan;
  auto node = [&](const std::string& name) -> BalanceNode* {
    for (BalanceNode& n : nodes) {
      if (n.name == name) return &n;
    }
    return nullptr;
  };
  // A node's own load rises slowly, so that a moment's burst sends nothing away; but the
  // processes this home has measured on it (over half a second at least) are no burst: the
  // node's own load is at least theirs. (Twelve jobs started together on a quarter-CPU node
  // showed 76% of their load after a second, and the first step left three of them there.)
  // The load others see is at least theirs too, by the same measure: a move weighs the
  // target's load against the source's, and the two must not be read on different scales.
  // When only the source's was raised to what this home measured, every node looked lighter
  // from outside than from inside, and jobs crossed between two nodes in one step (eight moves
  // at once between node3 and node4, each way, in a makespan run).
  for (BalanceNode& n : nodes) {
    double measured = 0;
    for (const BalanceProcess& p : procs) {
      if (p.where == n.name && p.demand_known) measured += ProcessLoadOn(n, p.demand);
    }
    n.own_load = std::max(n.own_load, measured);
    n.load = std::max(n.load, measured);
  }
  std::set<pid_t> moved;
  auto again = [&](double in_s) {
    in_s = std::max(in_s, 0.01);
    if (plan.decide_again_in_s == 0 || in_s < plan.decide_again_in_s) plan.decide_again_in_s = in_s;
  };
  std::vector<std::string> why_not(procs.size());  // the best reason seen for each process
  std::vector<int> why_rank(procs.size(), 0);
  auto note = [&](size_t i, int rank, std::string why) {
    if (rank > why_rank[i]) why_rank[i] = rank, why_not[i] = std::move(why);
  };
  for (int round = 0; round < s.max_moves; ++round) {
    double best_score = 0;
    size_t best_p = 0;
    BalanceNode* best_t = nullptr;
    std::string best_why;
    for (size_t i = 0; i < procs.size(); ++i) {
      const BalanceProcess& p = procs[i];
      BalanceNode* from = node(p.where);
      if (moved.count(p.pid) || !from) continue;
      bool ushering = Short(*from, s);
      double here = from->own_load;
      for (BalanceNode& t : nodes) {
        if (&t == from || !t.up || (!t.takes_guests && t.name != s.home)) continue;
        double after = t.load + s.margin * ProcessLoadOn(t, p.demand);
        bool better = ushering || (p.demand >= kLeastDemand && after < here);
        if (!better) continue;
        if (!p.cannot.empty()) {
          note(i, 5, p.cannot);
          continue;
        }
        if (!Fits(t, p.mem_mb, s)) {
          note(i, 2, absl::StrCat("memory: ", t.name, " is less loaded but has ", t.mem_free_mb, " MB free"));
          continue;
        }
        auto left = std::find_if(p.left.begin(), p.left.end(), [&](const auto& l) { return l.first == t.name && l.second < s.no_return_s; });
        if (left != p.left.end()) {
          note(i, 3, absl::StrCat("it left ", t.name, " ", std::lround(left->second), " s ago"));
          continue;
        }
        double score;
        std::string why;
        if (ushering) {
          // Out of a node short of memory: to the least loaded with room, busier or not.
          score = 1e12 - after;
          why = absl::StrCat(from->name, " has ", from->mem_free_mb, " MB free");
        } else if (!p.demand_known && !s.ignore_age) {
          // (A process that has just started, or that the agent has just taken back: whether it
          // computes or waits, a measure will tell.)
          note(i, 1, "too young: its CPU use is not measured yet");
          again(p.measured_in_s);
          continue;
        } else {
          double gain = here - after;
          double relative = gain / here;
          double needed = std::max(s.min_age_s, s.worth_factor * p.move_seconds / relative);
          if (!s.ignore_age && p.seconds_here < needed) {
            // (With the gain: "pays after 180 s" alone reads as a bug when the gain is 1%.)
            note(i, 1, absl::StrCat("too young: it has run ", absl::StrFormat("%.1f", p.seconds_here), " s here; a move to ", t.name,
                                    " gains ", std::lround(100 * relative), "% and pays after ", absl::StrFormat("%.1f", needed), " s"));
            again(needed - p.seconds_here);
            continue;
          }
          score = gain;
          why = absl::StrCat("load ", std::lround(here), " on ", from->name, ", ", std::lround(after), " on ", t.name, " with it");
        }
        if (score > best_score) best_score = score, best_p = i, best_t = &t, best_why = why;
      }
    }
    if (!best_t) break;
    const BalanceProcess& p = procs[best_p];
    BalanceNode* from = node(p.where);
    plan.moves.push_back({p.pid, p.where, best_t->name, best_why});
    moved.insert(p.pid);
    // The move counts at once in both loads and memories, for the next choice of this step.
    from->own_load = std::max(0.0, from->own_load - ProcessLoadOn(*from, p.demand));
    from->load = std::max(0.0, from->load - ProcessLoadOn(*from, p.demand));
    best_t->load += ProcessLoadOn(*best_t, p.demand);
    best_t->own_load += ProcessLoadOn(*best_t, p.demand);
    from->mem_free_mb += p.mem_mb;
    best_t->mem_free_mb -= std::min(best_t->mem_free_mb, p.mem_mb);
  }
  for (size_t i = 0; i < procs.size(); ++i) {
    if (!moved.count(procs[i].pid) && !why_not[i].empty()) plan.stays.push_back({procs[i].pid, why_not[i]});
  }
  return plan;
}

std::string BestNodeForNew(const std::vector<BalanceNode>& nodes, uint64_t mem_mb, const BalanceSettings& s) {
  const BalanceNode* best = nullptr;
  double best_after = 0;
  for (const BalanceNode& t : nodes) {
    if (!t.up || (!t.takes_guests && t.name != s.home) || !Fits(t, mem_mb, s)) continue;
    double after = t.load + ProcessLoadOn(t, 1);
    // (The home wins a tie: it needs no move.)
    bool home = t.name == s.home;
    if (!best || after < best_after * (home ? 1.01 : 0.99)) best = &t, best_after = after;
  }
  return best ? best->name : s.home;
}

}  // namespace mosix::agent
