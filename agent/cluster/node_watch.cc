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

bool NodeWatch::Answers(const std::string& name) {
  const cluster::Node* node = FindNode(map_, name);
  if (!node) return false;
  grpc::ClientContext ctx;
  // (Twice the period: a node busy with a big move, or a loaded machine, is slow, not gone; a
  // process whose node is taken for dead is lost.)
  ctx.set_deadline(std::chrono::system_clock::now() + 2 * period_);
  PingReply pong;
  return PeerStub(*node)->Ping(&ctx, PingRequest(), &pong).ok();
}

void NodeWatch::Loop() {
  while (!stop_.WaitForNotificationWithTimeout(absl::FromChrono(period_))) {
    std::map<std::string, std::vector<pid_t>> away;  // node -> its processes there
    for (const ProcessEntry& e : table_->Snapshot()) {
      if (e.state == ProcState::kRemote && !e.busy && !e.ended && !e.where.empty()) away[e.where].push_back(e.pid);
    }
    for (auto it = missed_.begin(); it != missed_.end();) {  // (nodes no process runs on any more)
      it = away.count(it->first) ? std::next(it) : missed_.erase(it);
    }
    for (const auto& [node, pids] : away) {
      if (stop_.HasBeenNotified()) return;
      if (Answers(node)) {
        missed_.erase(node);
        continue;
      }
      if (++missed_[node] < misses_) continue;
      missed_.erase(node);
      for (pid_t pid : pids) lost_(pid, node);
    }
  }
}

}  // namespace mosix::agent
