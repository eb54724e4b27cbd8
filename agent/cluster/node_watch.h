// The home agent's watch on the nodes its processes run on. A node that dies without closing
// its connections (a machine that stops, a network that parts) leaves deputies waiting on
// links that never end; the watch pings every such node each period (each ping may take two)
// and, after `misses` pings in a row go unanswered, says which processes ran there (`lost`). One thread, started
// by Start and joined by Stop (or the destructor).
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
  // Whether node answers a Ping within the period.
  bool Answers(const std::string& node);

  ProcessTable* table_;
  cluster::ClusterMap map_;
  Lost lost_;
  std::chrono::milliseconds period_;
  int misses_;
  std::map<std::string, int> missed_;  // by node: pings unanswered in a row (the thread's own)
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace mosix::agent
