// The agent's gossip thread: measures this node (node_meter.h) four times a step, keeps its
// smoothed load (load.h), and once a step makes its entry afresh and sends a message to one
// node (cluster_view.h). Started by Start, joined by Stop (or the destructor).
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "agent/cluster/cluster_view.h"
#include "agent/cluster/load.h"
#include "agent/cluster/node_meter.h"
#include "proto/cluster.pb.h"

namespace mosix::agent {

class Gossiper {
 public:
  // What the node's entry says beyond what the meter measures: processes, guests, frozen ones,
  // whether it takes guests (filled in by the agent).
  using Describe = std::function<void(NodeLoad*)>;
  // silent: whether to send nothing this step (an isolated node).
  Gossiper(ClusterView* view, const cluster::ClusterMap& map, double speed, Describe describe, std::function<bool()> silent);
  ~Gossiper() { Stop(); }
  Gossiper(const Gossiper&) = delete;
  Gossiper& operator=(const Gossiper&) = delete;

  void Start();
  void Stop();
  // Work arrived here (a guest, `processes` of them: negative when they left): the load this
  // node shows rises at once, and the next message says so.
  void WorkArrived(int processes);
  // This node's own smoothed load (for its own decisions).
  double OwnLoad();

 private:
  void Loop();
  void Publish();
  void Send();

  ClusterView* view_;
  NodeMeter meter_;
  double speed_;
  Describe describe_;
  std::function<bool()> silent_;
  absl::Mutex mu_;
  SmoothedLoad load_ ABSL_GUARDED_BY(mu_);
  NodeMeasure last_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace mosix::agent
