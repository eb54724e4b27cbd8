// The agents' gossip (agent/cluster/gossip.h), the same code, run for thousands of simulated
// nodes in virtual time: how old is what each node knows of the others?
//
//   bazel run -c opt //bench:gossip_sim                      the table below
//   bazel run -c opt //bench:gossip_sim -- --nodes 1000 --window 20 --steps 300
//
// Every node sends once a step, at its own phase (nodes are not in step with each other), to a
// node chosen as the agent chooses it. Ages are measured at whole steps, over every entry of a
// sample of nodes' vectors, after a warm-up of max(300, 20 n / w) steps.
// Published (Amar, Barak, Drezner, Okun, CPE 2009), in steps: n=16, w=8: mean 3.7, max 6.1;
// n=256, w=20: mean 15.3, max 78.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "agent/cluster/gossip.h"

namespace {

using mosix::agent::GossipCore;
constexpr GossipCore::Stamp kTicks = 1 << 20;  // virtual ticks a step

struct Result {
  double mean_age = 0;      // steps: the mean, over sampled vectors and instants, of an entry's age
  double mean_max_age = 0;  // steps: the mean of the oldest entry of a vector
  double worst_age = 0;     // steps: the oldest entry seen at all
  int warmup_steps = 0;
  long never_heard = 0;     // entries a sampled vector never had, summed over the instants
  double seconds = 0;
};

Result Simulate(int n, int window, GossipCore::Targeting targeting, int steps, uint64_t seed) {
  auto t0 = std::chrono::steady_clock::now();
  std::mt19937_64 rng(seed);
  std::vector<GossipCore> nodes;
  nodes.reserve(n);
  // As in the agent: targets among the nodes heard of, and now and then any node (which is how
  // nodes find each other at the start; once all have been heard of, all are picked alike).
  for (int k = 0; k < n; ++k) nodes.emplace_back(n, k, window, targeting);
  std::vector<GossipCore::Stamp> phase(n);
  for (auto& p : phase) p = static_cast<GossipCore::Stamp>(rng() % kTicks);
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return phase[a] < phase[b]; });
  const GossipCore::Stamp never_down = std::numeric_limits<GossipCore::Stamp>::max() / 4;

  auto step = [&](int s) {
    for (int k : order) {
      GossipCore::Stamp now = s * kTicks + phase[k];
      GossipCore& me = nodes[k];
      me.Refresh(now);
      int to = me.ChooseTarget(rng, now, never_down);
      for (int e : me.Window()) nodes[to].Merge(e, me.StampOf(e));
    }
  };
  // Warm-up: the ages settle after some multiple of n / w steps (an entry is passed on while it
  // is among the newest its holder has); entries never heard of by then count from the start.
  const int sample = std::min(n, 200);
  std::vector<int> sampled(n);
  std::iota(sampled.begin(), sampled.end(), 0);
  std::shuffle(sampled.begin(), sampled.end(), rng);
  sampled.resize(sample);
  Result r;
  r.warmup_steps = std::max(300, 20 * n / window);
  int s = 0;
  for (; s < r.warmup_steps; ++s) step(s);

  double sum = 0, sum_max = 0;
  long count = 0, vectors = 0;
  for (int i = 0; i < steps; ++i, ++s) {
    step(s);
    GossipCore::Stamp now = (s + 1) * kTicks;
    for (int k : sampled) {
      GossipCore::Stamp oldest = 0;
      for (int e = 0; e < n; ++e) {
        if (e == k) continue;
        GossipCore::Stamp stamp = nodes[k].StampOf(e);
        if (stamp == GossipCore::kNever) ++r.never_heard, stamp = 0;
        GossipCore::Stamp age = now - stamp;
        sum += static_cast<double>(age);
        oldest = std::max(oldest, age);
        ++count;
      }
      sum_max += static_cast<double>(oldest);
      r.worst_age = std::max(r.worst_age, static_cast<double>(oldest) / kTicks);
      ++vectors;
    }
  }
  r.mean_age = sum / count / kTicks;
  r.mean_max_age = sum_max / vectors / kTicks;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

const char* Name(GossipCore::Targeting t) { return t == GossipCore::Targeting::kUniform ? "uniform" : "oldest-of-two"; }

void Print(int n, int w, GossipCore::Targeting t, const Result& r, const char* published) {
  printf("%6d %4d  %-14s %8.1f %8.1f %8.1f   %-22s (warm-up %d steps, %.1f s%s)\n", n, w, Name(t), r.mean_age, r.mean_max_age,
         r.worst_age, published, r.warmup_steps, r.seconds,
         r.never_heard ? (", " + std::to_string(r.never_heard) + " entries never heard of").c_str() : "");
  fflush(stdout);
}

int Usage() {
  fprintf(stderr, "usage: gossip_sim [--nodes N --window W] [--steps S] [--seed X]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 0, w = 0, steps = 200;
  uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    auto value = [&](int* out) { return i + 1 < argc && (*out = atoi(argv[++i])) > 0; };
    if (!strcmp(argv[i], "--nodes")) {
      if (!value(&n)) return Usage();
    } else if (!strcmp(argv[i], "--window")) {
      if (!value(&w)) return Usage();
    } else if (!strcmp(argv[i], "--steps")) {
      if (!value(&steps)) return Usage();
    } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
      seed = strtoull(argv[++i], nullptr, 10);
    } else {
      return Usage();
    }
  }
  if ((n > 0) != (w > 0) || n == 1) return Usage();
  printf(" nodes  win  targeting      mean age  mean max  worst    published (mean, max)\n");
  const GossipCore::Targeting both[] = {GossipCore::Targeting::kUniform, GossipCore::Targeting::kOldestOfTwo};
  if (n > 0) {
    for (auto t : both) Print(n, w, t, Simulate(n, w, t, steps, seed), "");
    return 0;
  }
  struct Case {
    int n, w;
    const char* published;
  };
  for (Case c : {Case{16, 8, "3.7, 6.1"}, Case{256, 20, "15.3, 78"}}) {
    for (auto t : both) Print(c.n, c.w, t, Simulate(c.n, c.w, t, steps, seed), c.published);
  }
  // (About five minutes: 10,000 vectors of 10,000 entries, 800 MB, and 10,000 warm-up steps.)
  Print(10000, 20, both[0], Simulate(10000, 20, both[0], 50, seed), "-");
  return 0;
}
