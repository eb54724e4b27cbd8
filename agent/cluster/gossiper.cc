#include "agent/cluster/gossiper.h"

#include <chrono>
#include <cstdio>

#include "agent/cluster_config.h"
#include "agent/peers.h"

namespace mosix::agent {

Gossiper::Gossiper(ClusterView* view, const cluster::ClusterMap& map, double speed, Describe describe, std::function<bool()> silent)
    : view_(view), meter_(map.node_is_cgroup()), speed_(speed), describe_(std::move(describe)), silent_(std::move(silent)) {
  NodeMeasure m = meter_.Measure();  // (the baseline of the runnable count)
  absl::MutexLock lock(&mu_);
  last_ = m;
  load_.Add(0);
}

void Gossiper::Start() {
  Publish();
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void Gossiper::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

double Gossiper::OwnLoad() {
  absl::MutexLock lock(&mu_);
  return load_.own();
}

void Gossiper::WorkArrived(int processes) {
  {
    absl::MutexLock lock(&mu_);
    load_.Bump(LoadOf(processes, last_.cpus, speed_));
  }
  Publish();
}

void Gossiper::Publish() {
  NodeLoad e;
  {
    absl::MutexLock lock(&mu_);
    e.set_cpus(last_.cpus);
    e.set_load(load_.exported());
    e.set_own_load(load_.own());
    e.set_mem_total_mb(last_.mem_total_mb);
    e.set_mem_free_mb(last_.mem_free_mb);
  }
  e.set_speed(speed_);
  e.set_takes_guests(true);
  if (describe_) describe_(&e);
  view_->SetOwn(std::move(e));
}

void Gossiper::Send() {
  std::string to;
  GossipRequest message;
  if (!view_->NextMessage(&to, &message)) return;
  auto node = view_->NodeOf(to);
  if (!node) return;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + view_->settings().step / 2);
  GossipReply reply;
  (void)PeerStub(*node)->Gossip(&ctx, message, &reply);  // (a node that does not answer is down soon)
}

void Gossiper::Loop() {
  const auto tick = view_->settings().step / 4;
  for (int i = 1; !stop_.WaitForNotificationWithTimeout(absl::FromChrono(tick)); ++i) {
    NodeMeasure m = meter_.Measure();
    {
      absl::MutexLock lock(&mu_);
      last_ = m;
      load_.Add(LoadOf(m.runnable, m.cpus, speed_));
    }
    if (i % 4 != 0) continue;
    Publish();
    if (!silent_ || !silent_()) Send();
  }
}

}  // namespace mosix::agent
