// The stream of bench/makespan.sh in virtual time: jobs arriving at the slowest of four nodes
// (CPU quotas 0.25, 0.25, 0.5, 0.75) as a Poisson stream at 70% of the capacity, each node
// sharing its CPUs equally among its jobs. How much lower can migration make the mean slowdown
// (time in the system / work alone on a whole CPU) than placement at start only?
//
//   bazel run -c opt //bench:stream_sim                     the table in the README
//   bazel run -c opt //bench:stream_sim -- --seeds 50 --jobs 60 --pareto
//   bazel run -c opt //bench:stream_sim -- --makespan     (bench/makespan.sh's twelve jobs, all at 0)
//   bazel run -c opt //bench:stream_sim -- --everywhere   (jobs arrive at every node, seen by gossip)
//
// Policies, each run on the same streams:
//  - start only: each job starts on the best node now (the agent's BestNodeForNew), never moves;
//  - the agent's rule: the same start, then the agent's Balance() once a step (1 s) on the
//    agent's smoothed loads, each move stopping the job for --move-s;
//  - the agent's rule and old jobs niced: the same, and a job that has had --nice-s of CPU runs
//    at nice 19 (CFS gives it 15/1024 of a young job's share), as the agent does
//    (agent/decide/aging.h: long runners yield): reniced at a step, at home once it has had
//    --nice-s, away at the step after the one that foresaw it;
//  - ideal balancing: the same start, then the most loaded node gives its oldest job to the least
//    loaded whenever that lowers the higher of the two loads, every 5 ms, at no cost: an upper
//    bound for any balancing of load;
//  - old jobs yield: balancing once a step where a job that has run --old-s counts --old-weight
//    of a young one (the oldest move first, each move costs --move-s): new jobs find fast nodes
//    emptier, as Harchol-Balter and Downey's migration of old processes does;
//  - old jobs yield and run niced: the same moves, and a job that has had --nice-s of CPU runs
//    at nice 19 (CFS gives it 15/1024 of a young job's share), and a new job starts where the
//    young jobs leave it most (least attained service first, on each node);
//  - the bound: one pool of all the CPUs where, every 5 ms and at no cost, the fastest CPU goes
//    to the job that has had the least CPU so far, the next to the next (least attained service
//    across the cluster, as if a job could move at every tick for free): no policy that does not
//    know the jobs' sizes ahead does better.
// With no noise, no gossip delay and every node's load known exactly, this is the most any
// policy of these kinds can gain on this cluster shape. With --everywhere, each job arrives at
// a node drawn at random (each user at her own node) and each node knows the others only by
// gossip (every step it sends what it holds to one other node at random; what it sent away
// counts at once, until the target's own entry shows it): placement at start then decides on
// old news, and moves can mend what it got wrong. Only the start-only policy and the agent's
// rule (each home balancing its own processes) run then. With --makespan, the jobs are the
// makespan's twelve, all arriving at once, and the agent's rule also runs as plain mosrun does
// (every job starts on node1); it prints makespan / lower bound.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "agent/cluster/load.h"
#include "agent/decide/balancer.h"

namespace {

using mosix::agent::Balance;
using mosix::agent::BalanceNode;
using mosix::agent::BalanceProcess;
using mosix::agent::BalanceSettings;
using mosix::agent::BestNodeForNew;
using mosix::agent::LoadOf;
using mosix::agent::SmoothedLoad;

constexpr double kQuotas[] = {0.25, 0.25, 0.5, 0.75};
constexpr int kNodes = 4;
constexpr double kDt = 0.005, kStep = 1.0, kPlaceS = 0.1;

struct Options {
  int seeds = 20, jobs = 30;
  bool pareto = false, makespan = false, everywhere = false;
  double load = 0.7, move_s = 0.15, old_s = 1.5, old_weight = 0.3, nice_s = 1;
};

struct Arrival {
  double at, work;
};

// bench/makespan.sh's jobs (its units of about 10 ms of a standard CPU).
constexpr double kMakespanWork[] = {300, 120, 500, 200, 80, 400, 150, 250, 350, 100, 450, 180};

std::vector<Arrival> Stream(const Options& o, uint64_t seed) {
  std::mt19937_64 rng(seed);
  if (o.makespan) {  // seed 0: the bench's own; others: twelve jobs of 0.8 to 5 s
    std::vector<Arrival> out;
    std::uniform_real_distribution<double> work(0.8, 5);
    for (double w : kMakespanWork) out.push_back({0, seed == 0 ? w * 0.01 : work(rng)});
    return out;
  }
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> works;
  for (int i = 0; i < o.jobs; ++i) {
    if (o.pareto) {  // P(work > x) = 0.3 / x (Harchol-Balter and Downey's lifetimes), up to 20 s
      double x;
      do x = 0.3 / (1 - u(rng)); while (x > 20);
      works.push_back(x);
    } else {  // bench/makespan.sh: 80% of 0.5-1.5 s, 20% of 4-8 s
      works.push_back(u(rng) < 0.2 ? 4 + 4 * u(rng) : 0.5 + u(rng));
    }
  }
  double capacity = 0;
  for (double q : kQuotas) capacity += q;
  double mean = 0;
  for (double w : works) mean += w / o.jobs;
  std::exponential_distribution<double> gap(o.load * capacity / mean);
  std::vector<Arrival> out;
  double t = 0;
  for (double w : works) {
    out.push_back({t, w});
    t += gap(rng);
  }
  return out;
}

enum class Policy { kStartOnly, kAgentAtHome, kAgent, kAgentAtHomeNiced, kAgentNiced, kIdeal, kOldYield, kOldNiced, kPooledLas };

bool AgentRule(Policy p) {
  return p == Policy::kAgent || p == Policy::kAgentAtHome || p == Policy::kAgentNiced || p == Policy::kAgentAtHomeNiced;
}
bool AtHome(Policy p) { return p == Policy::kAgentAtHome || p == Policy::kAgentAtHomeNiced; }
bool OldNiced(Policy p) { return p == Policy::kOldNiced || p == Policy::kAgentNiced || p == Policy::kAgentAtHomeNiced; }

constexpr double kNice19Weight = 15.0 / 1024;  // CFS: nice 19 against nice 0

struct Job {
  double arrived, work, left;
  int node;
  double frozen_until = 0, here_since;
  std::vector<std::pair<int, double>> nodes_left;  // nodes it left, and when
  double attained = 0;  // CPU seconds it has had
  // (The agent's rule and old jobs niced.) Reniced at a step: at home when it has had --nice-s,
  // away at the step after the one that saw it would have had it by then (its node hears of
  // it with the next Guests request).
  bool niced = false, niced_next_step = false;
  double attained_at_step = 0;
};

struct Result {
  double mean_slowdown = 0, moves_per_job = 0, end = 0;
};

std::string Name(int k) { return "node" + std::to_string(k + 1); }
int Index(const std::string& name) { return std::atoi(name.c_str() + 4) - 1; }

// Node k as a balancer sees it, with these loads (as others see it, as it sees itself).
BalanceNode SimNode(int k, double load, double own_load) {
  BalanceNode n;
  n.name = Name(k);
  n.up = n.takes_guests = true;
  n.cpus = kQuotas[k];
  n.load = load;
  n.own_load = own_load;
  return n;
}

Result Run(const std::vector<Arrival>& stream, Policy policy, const Options& o) {
  std::vector<Job> active;
  SmoothedLoad smoothed[kNodes];
  BalanceSettings settings;
  settings.home = Name(0);
  double t = 0, next_sample = 0, next_step = kStep, sum = 0;
  size_t next = 0, done = 0, moves = 0;
  auto weight = [&](const Job& j) {
    if (AgentRule(policy)) return j.niced ? kNice19Weight : 1.0;
    return OldNiced(policy) && j.attained >= o.nice_s ? kNice19Weight : 1.0;
  };
  auto count = [&](int k, bool weighted) {
    double n = 0;
    for (const Job& j : active) {
      if (j.node != k) continue;
      n += weighted && t - j.arrived >= o.old_s ? o.old_weight : 1;
    }
    return n;
  };
  auto view = [&] {
    std::vector<BalanceNode> nodes;
    for (int k = 0; k < kNodes; ++k) {
      nodes.push_back(SimNode(k, smoothed[k].exported(), smoothed[k].own()));
    }
    return nodes;
  };
  auto move = [&](Job& j, int to, double cost) {
    j.nodes_left.emplace_back(j.node, t);
    j.node = to;
    j.frozen_until = j.here_since = t + cost;
    ++moves;
  };
  while (done < stream.size()) {
    while (next < stream.size() && stream[next].at <= t) {
      int k = AtHome(policy) ? 0 : Index(BestNodeForNew(view(), 0, settings));
      if (policy == Policy::kOldNiced) {  // where the young jobs leave it the most
        double best = 0;
        for (int n = 0; n < kNodes; ++n) {
          double young = 1;
          for (const Job& j : active) young += j.node == n ? weight(j) : 0;
          if (n == 0 || young / kQuotas[n] < best - 1e-9) best = young / kQuotas[n], k = n;
        }
      }
      smoothed[k].Bump(LoadOf(1, kQuotas[k], 1));
      double cost = k == 0 ? 0 : kPlaceS;
      active.push_back({t, stream[next].work, stream[next].work, k, t + cost, t + cost, {}});
      ++next;
    }
    if (t >= next_sample) {
      for (int k = 0; k < kNodes; ++k) smoothed[k].Add(LoadOf(count(k, false), kQuotas[k], 1));
      next_sample += kStep / 4;
    }
    if (policy == Policy::kIdeal) {
      for (;;) {
        int from = 0, to = 0;
        for (int k = 0; k < kNodes; ++k) {
          if (count(k, false) / kQuotas[k] > count(from, false) / kQuotas[from]) from = k;
          if ((count(k, false) + 1) / kQuotas[k] < (count(to, false) + 1) / kQuotas[to]) to = k;
        }
        if ((count(to, false) + 1) / kQuotas[to] >= count(from, false) / kQuotas[from] * 0.999) break;
        Job* oldest = nullptr;
        for (Job& j : active) {
          if (j.node == from && (!oldest || j.arrived < oldest->arrived)) oldest = &j;
        }
        move(*oldest, to, 0);
      }
    } else if (t >= next_step) {
      next_step += kStep;
      if (AgentRule(policy)) {
        // Old jobs are reniced once a step (the agent's brain, aging.h's OldBy).
        for (Job& j : active) {
          if (!OldNiced(policy)) break;
          double rate = (j.attained - j.attained_at_step) / kStep;
          j.attained_at_step = j.attained;
          j.niced = j.niced || j.niced_next_step || (j.node == 0 && j.attained >= o.nice_s);
          j.niced_next_step = j.node != 0 && j.attained + rate * kStep >= o.nice_s;
        }
        std::vector<BalanceProcess> procs;
        for (size_t i = 0; i < active.size(); ++i) {
          const Job& j = active[i];
          if (j.frozen_until > t) continue;
          BalanceProcess p;
          p.pid = static_cast<pid_t>(i + 1);
          p.where = Name(j.node);
          p.seconds_here = t - j.here_since;
          p.move_seconds = 0.05;
          for (const auto& [node, at] : j.nodes_left) p.left.emplace_back(Name(node), t - at);
          procs.push_back(p);
        }
        for (const auto& m : Balance(view(), procs, settings).moves) {
          int from = Index(m.from), to = Index(m.to);
          smoothed[from].Bump(-LoadOf(1, kQuotas[from], 1));
          smoothed[to].Bump(LoadOf(1, kQuotas[to], 1));
          move(active[m.pid - 1], to, o.move_s);
        }
      } else if (policy == Policy::kOldYield || policy == Policy::kOldNiced) {
        for (int round = 0; round < 8; ++round) {
          int from = 0;
          for (int k = 0; k < kNodes; ++k) {
            if (count(k, true) / kQuotas[k] > count(from, true) / kQuotas[from]) from = k;
          }
          Job* oldest = nullptr;
          for (Job& j : active) {
            if (j.node == from && j.frozen_until <= t && t - j.arrived >= o.old_s && (!oldest || j.arrived < oldest->arrived)) oldest = &j;
          }
          if (!oldest) break;
          double weight = o.old_weight;
          int to = from;
          for (int k = 0; k < kNodes; ++k) {
            if (k != from && (count(k, true) + weight) / kQuotas[k] < (count(to, true) + (to == from ? 0 : weight)) / kQuotas[to]) to = k;
          }
          if (to == from || (count(to, true) + weight) / kQuotas[to] >= 0.9 * count(from, true) / kQuotas[from]) break;
          move(*oldest, to, o.move_s);
        }
      }
    }
    if (policy == Policy::kPooledLas) {
      std::vector<Job*> order;
      for (Job& j : active) order.push_back(&j);
      std::stable_sort(order.begin(), order.end(), [](const Job* a, const Job* b) { return a->attained < b->attained; });
      std::vector<double> cpus(std::begin(kQuotas), std::end(kQuotas));
      std::sort(cpus.begin(), cpus.end(), std::greater<double>());
      for (size_t i = 0; i < order.size() && i < cpus.size(); ++i) {
        order[i]->left -= kDt * cpus[i];
        order[i]->attained += kDt * cpus[i];
      }
    } else {  // each node shares its CPU among its jobs by their weights (CFS)
      double weights[kNodes] = {};
      for (const Job& j : active) weights[j.node] += j.frozen_until <= t ? weight(j) : 0;
      for (Job& j : active) {
        if (j.frozen_until > t) continue;
        double got = kDt * std::min(1.0, kQuotas[j.node] * weight(j) / weights[j.node]);
        j.left -= got;
        j.attained += got;
      }
    }
    t += kDt;
    for (auto it = active.begin(); it != active.end();) {
      if (it->left > 0) {
        ++it;
        continue;
      }
      sum += (t - it->arrived) / it->work;
      ++done;
      it = active.erase(it);
    }
  }
  return {sum / static_cast<double>(stream.size()), static_cast<double>(moves) / static_cast<double>(stream.size()), t};
}

// --everywhere: arrivals at random nodes, each node deciding on its gossiped view.
Result RunEverywhere(const std::vector<Arrival>& stream, bool balance, const Options& o, uint64_t seed) {
  struct Entry {
    double load = 0, own = 0, made = -1;
  };
  struct Sent {  // load a node sent to another, counted until an entry made after it arrives
    double load, at;
  };
  std::mt19937_64 rng(seed);
  std::vector<int> homes;
  for (size_t i = 0; i < stream.size(); ++i) homes.push_back(static_cast<int>(rng() % kNodes));
  std::vector<Job> active;
  std::vector<int> home_of;  // (beside active)
  SmoothedLoad smoothed[kNodes];
  Entry view[kNodes][kNodes];
  std::vector<Sent> sent[kNodes][kNodes];
  double next_gossip[kNodes], next_balance[kNodes];
  std::uniform_real_distribution<double> u(0, 1);
  for (int k = 0; k < kNodes; ++k) next_gossip[k] = u(rng) * kStep, next_balance[k] = kStep + u(rng) * kStep;
  double t = 0, next_sample = 0, sum = 0;
  size_t next = 0, done = 0, moves = 0;
  auto view_of = [&](int k) {
    std::vector<BalanceNode> nodes;
    for (int j = 0; j < kNodes; ++j) {
      BalanceNode n = j == k ? SimNode(j, smoothed[k].exported(), smoothed[k].own()) : SimNode(j, view[k][j].load, view[k][j].own);
      for (const Sent& s : sent[k][j]) n.load += j != k && s.at > view[k][j].made ? s.load : 0;
      nodes.push_back(n);
    }
    return nodes;
  };
  while (done < stream.size()) {
    while (next < stream.size() && stream[next].at <= t) {
      int h = homes[next];
      BalanceSettings settings;
      settings.home = Name(h);
      int k = Index(BestNodeForNew(view_of(h), 0, settings));
      if (k == h) {
        smoothed[h].Bump(LoadOf(1, kQuotas[h], 1));
      } else {
        sent[h][k].push_back({LoadOf(1, kQuotas[k], 1), t});
      }
      double cost = k == h ? 0 : kPlaceS;
      active.push_back({t, stream[next].work, stream[next].work, k, t + cost, t + cost, {}});
      home_of.push_back(h);
      ++next;
    }
    if (t >= next_sample) {
      int runnable[kNodes] = {};
      for (const Job& j : active) ++runnable[j.node];
      for (int k = 0; k < kNodes; ++k) smoothed[k].Add(LoadOf(runnable[k], kQuotas[k], 1));
      next_sample += kStep / 4;
    }
    for (int k = 0; k < kNodes; ++k) {
      if (t >= next_gossip[k]) {  // its fresh entry and all it holds, to one other node
        next_gossip[k] += kStep;
        int to = static_cast<int>(rng() % (kNodes - 1));
        if (to >= k) ++to;
        view[k][k] = {smoothed[k].exported(), smoothed[k].own(), t};
        for (int j = 0; j < kNodes; ++j) {
          if (j != to && view[k][j].made > view[to][j].made) view[to][j] = view[k][j];
        }
      }
      if (balance && t >= next_balance[k]) {  // the home balances its own processes
        next_balance[k] += kStep;
        std::vector<BalanceProcess> procs;
        std::vector<size_t> which;
        for (size_t i = 0; i < active.size(); ++i) {
          const Job& j = active[i];
          if (home_of[i] != k || j.frozen_until > t) continue;
          BalanceProcess p;
          p.pid = static_cast<pid_t>(which.size() + 1);
          p.where = Name(j.node);
          p.seconds_here = t - j.here_since;
          p.move_seconds = 0.05;
          for (const auto& [node, at] : j.nodes_left) p.left.emplace_back(Name(node), t - at);
          procs.push_back(p);
          which.push_back(i);
        }
        BalanceSettings settings;
        settings.home = Name(k);
        for (const auto& m : Balance(view_of(k), procs, settings).moves) {
          Job& j = active[which[m.pid - 1]];
          int to = Index(m.to);
          sent[k][to].push_back({LoadOf(1, kQuotas[to], 1), t});
          j.nodes_left.emplace_back(j.node, t);
          j.node = to;
          j.frozen_until = j.here_since = t + o.move_s;
          ++moves;
        }
      }
    }
    int runnable[kNodes] = {};
    for (const Job& j : active) runnable[j.node] += j.frozen_until <= t;
    for (Job& j : active) {
      if (j.frozen_until <= t) j.left -= kDt * std::min(1.0, kQuotas[j.node] / runnable[j.node]);
    }
    t += kDt;
    for (size_t i = 0; i < active.size();) {
      if (active[i].left > 0) {
        ++i;
        continue;
      }
      sum += (t - active[i].arrived) / active[i].work;
      ++done;
      active.erase(active.begin() + static_cast<long>(i));
      home_of.erase(home_of.begin() + static_cast<long>(i));
    }
  }
  return {sum / static_cast<double>(stream.size()), static_cast<double>(moves) / static_cast<double>(stream.size()), t};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    auto value = [&] {
      if (i + 1 >= argc) {
        fprintf(stderr, "stream_sim: %s needs a value\n", argv[i]);
        exit(2);
      }
      return atof(argv[++i]);
    };
    if (!strcmp(argv[i], "--seeds")) o.seeds = static_cast<int>(value());
    else if (!strcmp(argv[i], "--jobs")) o.jobs = static_cast<int>(value());
    else if (!strcmp(argv[i], "--load")) o.load = value();
    else if (!strcmp(argv[i], "--move-s")) o.move_s = value();
    else if (!strcmp(argv[i], "--old-s")) o.old_s = value();
    else if (!strcmp(argv[i], "--old-weight")) o.old_weight = value();
    else if (!strcmp(argv[i], "--nice-s")) o.nice_s = value();
    else if (!strcmp(argv[i], "--pareto")) o.pareto = true;
    else if (!strcmp(argv[i], "--makespan")) o.makespan = true;
    else if (!strcmp(argv[i], "--everywhere")) o.everywhere = true;
    else {
      fprintf(stderr, "stream_sim: unknown argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (o.seeds < 1 || o.jobs < 1 || o.load <= 0 || o.load >= 1) {
    fprintf(stderr, "stream_sim: --seeds and --jobs must be at least 1, --load between 0 and 1\n");
    return 2;
  }
  const struct {
    Policy policy;
    const char* name;
  } kPolicies[] = {{Policy::kStartOnly, "start only (mosrun -b -L)"},
                   {Policy::kAgentAtHome, "the agent's rule, all started on node1 (mosrun)"},
                   {Policy::kAgent, "the agent's rule (mosrun -b)"},
                   {Policy::kAgentAtHomeNiced, "the agent's rule and old jobs niced, all started on node1 (mosrun)"},
                   {Policy::kAgentNiced, "the agent's rule and old jobs niced (mosrun -b)"},
                   {Policy::kIdeal, "ideal balancing (free, continuous)"},
                   {Policy::kOldYield, "old jobs yield"},
                   {Policy::kOldNiced, "old jobs yield and run niced"},
                   {Policy::kPooledLas, "the bound: all CPUs pooled, the fastest to the least served"}};
  if (o.makespan) {
    printf("bench/makespan.sh's %zu jobs at once, and %d other mixes of as many (0.8-5 s each); a move stops a job %.2f s\n\n",
           std::size(kMakespanWork), o.seeds - 1, o.move_s);
    printf("| policy | makespan / lower bound, the bench's jobs | mean of all mixes | worst | moves per job |\n|---|---|---|---|---|\n");
    for (const auto& p : kPolicies) {
      double own = 0, mean = 0, worst = 0, moves = 0;
      for (int s = 0; s < o.seeds; ++s) {
        std::vector<Arrival> jobs = Stream(o, static_cast<uint64_t>(s));
        double total = 0, longest = 0, capacity = 0, fastest = 0;
        for (const Arrival& a : jobs) total += a.work, longest = std::max(longest, a.work);
        for (double q : kQuotas) capacity += q, fastest = std::max(fastest, q);
        Result r = Run(jobs, p.policy, o);
        double ratio = r.end / std::max(total / capacity, longest / fastest);
        if (s == 0) own = ratio;
        mean += ratio / o.seeds;
        worst = std::max(worst, ratio);
        moves += r.moves_per_job / o.seeds;
      }
      printf("| %s | %.2fx | %.2fx | %.2fx | %.2f |\n", p.name, own, mean, worst, moves);
    }
    return 0;
  }
  if (o.everywhere) {
    printf("%d streams of %d jobs (%s) at %.0f%% load, arriving at every node, each seeing the others by gossip\n\n", o.seeds,
           o.jobs, o.pareto ? "Pareto work, 0.3-20 s" : "80% 0.5-1.5 s, 20% 4-8 s", o.load * 100);
    printf("| policy | mean slowdown | below start only | moves per job |\n|---|---|---|---|\n");
    double base = 0;
    for (bool balance : {false, true}) {
      double slowdown = 0, moves = 0;
      for (int s = 0; s < o.seeds; ++s) {
        Result r = RunEverywhere(Stream(o, 4242 + static_cast<uint64_t>(s)), balance, o, 77 + static_cast<uint64_t>(s));
        slowdown += r.mean_slowdown / o.seeds;
        moves += r.moves_per_job / o.seeds;
      }
      if (!balance) base = slowdown;
      printf("| %s | %.2f | %.0f%% | %.2f |\n", balance ? "the agent's rule, at every home (mosrun -b)" : "start only (mosrun -b -L)",
             slowdown, 100 * (1 - slowdown / base), moves);
    }
    return 0;
  }
  printf("%d streams of %d jobs (%s) at %.0f%% load; a move stops a job %.2f s\n\n", o.seeds, o.jobs,
         o.pareto ? "Pareto work, 0.3-20 s" : "80% 0.5-1.5 s, 20% 4-8 s", o.load * 100, o.move_s);
  printf("| policy | mean slowdown | below start only | moves per job |\n|---|---|---|---|\n");
  double base = 0;
  for (const auto& p : kPolicies) {
    if (AtHome(p.policy)) continue;
    double slowdown = 0, moves = 0;
    for (int s = 0; s < o.seeds; ++s) {
      Result r = Run(Stream(o, 4242 + static_cast<uint64_t>(s)), p.policy, o);
      slowdown += r.mean_slowdown / o.seeds;
      moves += r.moves_per_job / o.seeds;
    }
    if (p.policy == Policy::kStartOnly) base = slowdown;
    printf("| %s | %.2f | %.0f%% | %.2f |\n", p.name, slowdown, 100 * (1 - slowdown / base), moves);
  }
  return 0;
}
