// MOSIX's load of a node, and how it is smoothed.
//
// load = runnable processes x 100 / CPUs / speed: 100 is one process on one standard CPU, so a
// faster or bigger node shows a lower load for the same work, and balancing load sends work to
// faster nodes by itself. Two smoothed values are kept, sampled four times a gossip step:
//  - the node's own view, for deciding to send work away, rises slowly (5:3, MOSIX's) and drops
//    at once: a moment's burst does not push processes out;
//  - the value others see rises at once and decays slowly (3:1 a sample, about a third left
//    after a second; MOSIX's 7:1 is for a slower sampling): a node that just got work looks
//    busy to everyone at once, and no herd forms on a node that was idle a moment ago.
#pragma once

namespace mosix::agent {

// The load of `runnable` processes on `cpus` CPUs of relative `speed`.
double LoadOf(double runnable, double cpus, double speed);

class SmoothedLoad {
 public:
  // A new sample (a load as LoadOf computes it).
  void Add(double load);
  // Work that arrived (or left: negative) just now, as a load: seen by all at once, before the
  // samples show it.
  void Bump(double load);
  double own() const { return own_; }
  double exported() const { return exported_; }

 private:
  bool first_ = true;
  double own_ = 0, exported_ = 0;
};

}  // namespace mosix::agent
