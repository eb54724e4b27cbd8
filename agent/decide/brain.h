// The cluster's decisions for this node's processes: once a gossip step, it gathers what the
// balancer needs (the cluster view, where each process runs, how much it wants a CPU, its
// memory and age there), runs the balancer (balancer.h) and asks the mover to make the moves.
// The home node decides for its processes wherever they run; a node's load, as gossip spreads
// it, tells every home what it needs. It also has its old processes run niced (aging.h). One
// thread, started by Start, joined by Stop.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "agent/cluster/cluster_view.h"
#include "agent/cluster/gossiper.h"
#include "agent/decide/aging.h"
#include "agent/decide/balancer.h"
#include "agent/decide/node_policy.h"
#include "agent/mover.h"
#include "agent/process_table.h"
#include "proto/cluster.pb.h"

namespace mosix::agent {

struct MovesMade;

class Brain {
 public:
  Brain(ProcessTable* table, ClusterView* view, Gossiper* gossiper, Mover* mover, NodePolicy* policy, cluster::ClusterMap map);
  ~Brain() { Stop(); }
  Brain(const Brain&) = delete;
  Brain& operator=(const Brain&) = delete;

  void Start();
  void Stop();
  // Why pid stays where it is although another node is less loaded ("" if it does not).
  std::string WhyStays(pid_t pid);
  // migrate PID balance: decide for pid now, its age aside. Returns where it goes (the node it
  // is on when it stays, with why).
  absl::StatusOr<std::string> BalanceNow(pid_t pid);
  // mosrun -b: the node a new process needing mem_mb should start on.
  std::string BestNodeForNew(uint64_t mem_mb);

 private:
  struct Demand {
    std::string where;
    uint64_t busy_ns = 0;
    std::chrono::steady_clock::time_point at{};
    double demand = 1;  // until measured: a process started to work
    bool measured = false;  // anywhere: a process not measured yet moves only when asked
    // For long runners yielding: the CPU it had had at the last step (all nodes; -1: not seen).
    double cpu_s = -1;
    std::chrono::steady_clock::time_point cpu_at{};
  };
  void Loop();
  // One round of decisions (only: a single process, for BalanceNow). Returns the plan made.
  BalancePlan Step(bool ignore_age, pid_t only);
  std::vector<BalanceNode> Nodes();
  BalanceSettings Settings() const;

  ProcessTable* table_;
  ClusterView* view_;
  Gossiper* gossiper_;
  Mover* mover_;
  NodePolicy* policy_;
  cluster::ClusterMap map_;
  // One Step at a time (the thread's, or BalanceNow's); it may wait on other nodes' answers.
  absl::Mutex step_mu_;
  std::map<pid_t, Demand> demand_ ABSL_GUARDED_BY(step_mu_);
  // Long runners yield (aging.h): by node, processes away to run niced, said at the next step.
  const AgingSettings aging_;
  std::map<std::string, std::vector<int32_t>> yield_next_ ABSL_GUARDED_BY(step_mu_);
  absl::Mutex mu_;  // (held briefly: mosps asks while a step waits on the network)
  std::map<pid_t, std::string> stays_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<MovesMade> moves_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace mosix::agent
