#include "agent/cluster/node_watch.h"

#include <set>

#include "agent/cluster_config.h"
#include "agent/peers.h"

namespace mosix::agent {

void NodeWatch::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void NodeWatch::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void NodeWatch::Loop() {
  while (!stop_.WaitForNotificationWithTimeout(absl::FromChrono(period_))) {
    std::map<std::string, std::vector<pid_t>> away;  // node -> its processes there
    for (const ProcessEntry& e : table_->Snapshot()) {
      // (Busy ones too: a periodic checkpoint retried against a dead node kept a process busy
      // most of the time, and the node's misses were forgotten whenever it was. NodeDown waits
      // for the action in hand and checks where the process is then.)
      if (e.state == ProcState::kRemote && !e.ended && !e.where.empty()) away[e.where].push_back(e.pid);
    }
    for (auto it = missed_.begin(); it != missed_.end();) {  // (nodes no process runs on any more)
      it = away.count(it->first) ? std::next(it) : missed_.erase(it);
    }
    for (const auto& [node, pids] : away) {
      if (stop_.HasBeenNotified()) return;
      const cluster::Node* n = FindNode(map_, node);
      // (Twice the period: a node busy with a big move, or a loaded machine, is slow, not gone;
      // a process whose node is taken for dead is lost.)
      NodeReach reach = n ? ReachOf(*n, 2 * period_) : NodeReach::kSilent;
      if (reach == NodeReach::kAnswers) {
        missed_.erase(node);
        continue;
      }
      auto now = std::chrono::steady_clock::now();
      auto [it, fresh] = missed_.try_emplace(node);
      if (fresh) it->second.since = now;
      if (reach == NodeReach::kSilent) ++it->second.silent;
      // A machine that refuses connections lost its agent only: a restarted one takes its
      // guests back, if it comes within the grace.
      if (it->second.silent < misses_ && now - it->second.since < kAgentRestartGrace) continue;
      missed_.erase(it);
      for (pid_t pid : pids) lost_(pid, node);
    }
  }
}

}  // namespace mosix::agent
