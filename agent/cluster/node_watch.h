// The home agent's watch on the nodes its processes run on. A node that dies without closing
// its connections (a machine that stops, a network that parts) leaves deputies waiting on
// links that never end; the watch pings every such node each period (each ping may take two)
// and says which processes ran there (`lost`) after `misses` pings in a row met silence, or
// after kAgentRestartGrace (peers.h) of a machine that is there but whose agent is not (its
// guests outlive the agent; a restarted one takes them back). One thread, started by Start
// and joined by Stop (or the destructor).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "agent/process_table.h"
#include "proto/cluster.pb.h"

namespace mosix::agent {

class NodeWatch {
 public:
  using Lost = std::function<void(pid_t pid, const std::string& node)>;
  NodeWatch(ProcessTable* table, cluster::ClusterMap map, Lost lost, std::chrono::milliseconds period = std::chrono::seconds(1),
            int misses = 3)
      : table_(table), map_(std::move(map)), lost_(std::move(lost)), period_(period), misses_(misses) {}
  ~NodeWatch() { Stop(); }
  NodeWatch(const NodeWatch&) = delete;
  NodeWatch& operator=(const NodeWatch&) = delete;

  void Start();
  void Stop();

 private:
  void Loop();

  ProcessTable* table_;
  cluster::ClusterMap map_;
  Lost lost_;
  std::chrono::milliseconds period_;
  int misses_;
  struct Missed {
    int silent = 0;  // pings met by silence
    std::chrono::steady_clock::time_point since;  // the first ping unanswered
  };
  std::map<std::string, Missed> missed_;  // by node, while its pings go unanswered (the thread's own)
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace mosix::agent
