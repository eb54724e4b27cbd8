#include "agent/cluster/gossip.h"

#include <algorithm>

namespace mosix::agent {

GossipCore::GossipCore(int nodes, int self, int window, Targeting targeting, double any_node_chance)
    : self_(self),
      window_(std::max(1, window)),
      targeting_(targeting),
      any_node_chance_(any_node_chance),
      stamps_(static_cast<size_t>(std::max(nodes, 1)), kNever) {
  newest_.reserve(static_cast<size_t>(window_) + 1);
}

bool GossipCore::Merge(int node, Stamp stamp) {
  if (node < 0 || node >= nodes() || stamp == kNever || stamp <= stamps_[node]) return false;
  stamps_[node] = stamp;
  // The newest entries: node's old place goes, its new one is taken if it is among them.
  auto old = std::find_if(newest_.begin(), newest_.end(), [node](const auto& e) { return e.second == node; });
  if (old != newest_.end()) newest_.erase(old);
  if (static_cast<int>(newest_.size()) < window_ || stamp > newest_.front().first) {
    auto at = std::upper_bound(newest_.begin(), newest_.end(), std::make_pair(stamp, node));
    newest_.insert(at, {stamp, node});
    if (static_cast<int>(newest_.size()) > window_) newest_.erase(newest_.begin());
  }
  return true;
}

std::vector<int> GossipCore::Window() const {
  std::vector<int> out;
  out.reserve(newest_.size());
  for (auto it = newest_.rbegin(); it != newest_.rend(); ++it) out.push_back(it->second);
  return out;
}

bool GossipCore::Up(int node, Stamp now, Stamp down_after) const {
  if (node == self_) return true;
  Stamp s = stamps_[node];
  return s != kNever && now - s <= down_after;
}

int GossipCore::RandomOther(std::mt19937_64& rng) const {
  std::uniform_int_distribution<int> pick(0, nodes() - 2);
  int k = pick(rng);
  return k >= self_ ? k + 1 : k;
}

int GossipCore::ChooseTarget(std::mt19937_64& rng, Stamp now, Stamp down_after) const {
  if (nodes() < 2) return -1;
  if (std::uniform_real_distribution<double>(0, 1)(rng) < any_node_chance_) return RandomOther(rng);
  // An up node at random: a few tries, then (most nodes down) a look at all of them.
  auto up_one = [&]() -> int {
    for (int i = 0; i < 16; ++i) {
      int k = RandomOther(rng);
      if (Up(k, now, down_after)) return k;
    }
    std::vector<int> up;
    for (int k = 0; k < nodes(); ++k) {
      if (k != self_ && Up(k, now, down_after)) up.push_back(k);
    }
    if (up.empty()) return RandomOther(rng);
    return up[std::uniform_int_distribution<size_t>(0, up.size() - 1)(rng)];
  };
  int a = up_one();
  if (targeting_ == Targeting::kUniform) return a;
  int b = up_one();
  return stamps_[b] < stamps_[a] ? b : a;
}

}  // namespace mosix::agent
