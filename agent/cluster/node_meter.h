// What an agent measures of its own node: CPUs, speed, runnable processes, memory.
//
// A node is the whole machine, or (an emulated node: the map's node_is_cgroup) the cgroup its
// agent runs in: then the cgroup's CPU quota is its CPUs, its memory limit its memory, and its
// tasks its load. Runnable processes are counted exactly, not sampled: each task's time run
// and time waiting to run (/proc/TID/schedstat; a task held back by a CPU quota waits too) over
// the interval, summed, is the mean number of runnable tasks in it. The agent's own threads do
// not count. One owner (the gossiper).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace mosix::agent {

struct NodeMeasure {
  double cpus = 1;
  double runnable = 0;  // mean runnable tasks since the last measure
  uint64_t mem_total_mb = 0;
  uint64_t mem_free_mb = 0;
};

class NodeMeter {
 public:
  // node_is_cgroup: see above.
  explicit NodeMeter(bool node_is_cgroup);

  NodeMeasure Measure();

  // This machine's CPU speed against a standard CPU (a few short timed loops, the best taken,
  // rounded to a tenth so that equal machines agree). Takes about 0.1 s of CPU.
  static double CalibrateSpeed();

 private:
  double Cpus() const;
  double Runnable();
  void Memory(NodeMeasure* m) const;

  std::string cpu_cgroup_, memory_cgroup_;  // the node's cgroups ("" for the whole machine)
  std::unordered_map<pid_t, uint64_t> busy_ns_;  // by task: run + wait time at the last measure
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace mosix::agent
