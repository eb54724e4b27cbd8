#include "agent/cluster/cluster_view.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "agent/cluster_config.h"

namespace mosix::agent {
namespace {

bool Sane(double v, double max) { return std::isfinite(v) && v >= 0 && v <= max; }

// Why an entry that came over the network cannot be taken ("" if it can).
std::string Insane(const NodeLoad& e) {
  if (!Sane(e.cpus(), 1e5)) return "cpus";
  if (!Sane(e.speed(), 1e3)) return "speed";
  if (!Sane(e.load(), 1e8) || !Sane(e.own_load(), 1e8)) return "load";
  if (e.mem_free_mb() > e.mem_total_mb() || e.mem_total_mb() > (uint64_t{1} << 40)) return "memory";
  if (e.guests() > e.procs() || e.procs() > 10'000'000) return "process counts";
  if (e.age_ms() > uint64_t{30} * 24 * 3600 * 1000) return "age";
  return "";
}

}  // namespace

GossipSettings GossipSettings::FromMap(const cluster::ClusterMap& map) {
  GossipSettings s;
  if (map.gossip_step_ms() > 0) s.step = std::chrono::milliseconds(map.gossip_step_ms());
  int n = std::max(1, map.nodes_size());
  s.window = map.gossip_window() > 0 ? static_cast<int>(map.gossip_window()) : std::min(n, 20);
  // Information is older in a big cluster (about n/w steps on average, several times that at
  // worst: bench/gossip_sim): a node is down only when silent well beyond that.
  int steps = std::max(10, 4 * n / std::max(1, s.window));
  s.down_after = map.down_after_ms() > 0 ? std::chrono::milliseconds(map.down_after_ms()) : steps * s.step;
  return s;
}

namespace {

// The nodes of the map, in its order (a map without nodes: this one alone).
std::vector<std::string> NamesOf(const cluster::ClusterMap& map) {
  std::vector<std::string> names;
  for (const auto& n : map.nodes()) names.push_back(n.name());
  if (names.empty()) names.push_back(map.this_node());
  return names;
}

}  // namespace

ClusterView::ClusterView(const cluster::ClusterMap& map, GossipSettings settings, uint64_t seed)
    : settings_(settings),
      names_(NamesOf(map)),
      map_(map),
      self_(std::max(0, IndexOf(map.this_node()))),
      core_(static_cast<int>(names_.size()), self_, settings.window),
      entries_(names_.size()),
      rng_(seed) {
  for (size_t k = 0; k < names_.size(); ++k) entries_[k].set_node(names_[k]);
}

int ClusterView::IndexOf(const std::string& node) const {
  auto it = std::find(names_.begin(), names_.end(), node);
  return it == names_.end() ? -1 : static_cast<int>(it - names_.begin());
}

GossipCore::Stamp ClusterView::Now() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
}

void ClusterView::SetOwn(NodeLoad entry) {
  absl::MutexLock lock(&mu_);
  entry.set_node(names_[self_]);
  entry.set_age_ms(0);
  entries_[self_] = std::move(entry);
  core_.Refresh(Now());
}

absl::Status ClusterView::Merge(const GossipRequest& message, const std::string& from) {
  if (message.entries_size() > static_cast<int>(names_.size())) {
    return absl::InvalidArgumentError(absl::StrCat("gossip from ", from.empty() ? "a peer" : from, ": ", message.entries_size(),
                                                   " entries for a cluster of ", names_.size(), " nodes"));
  }
  GossipCore::Stamp now = Now();
  std::string bad;
  absl::MutexLock lock(&mu_);
  for (const NodeLoad& e : message.entries()) {
    int k = IndexOf(e.node());
    if (k < 0) {
      bad = absl::StrCat("an entry of '", e.node().substr(0, 64), "', not a node of the map");
      continue;
    }
    if (std::string why = Insane(e); !why.empty()) {
      bad = absl::StrCat("node ", e.node(), "'s entry has impossible ", why);
      continue;
    }
    if (k == self_) continue;  // what others say of this node is older than what it knows
    GossipCore::Stamp stamp = now - static_cast<GossipCore::Stamp>(e.age_ms()) * 1000;
    if (core_.Merge(k, stamp)) {
      entries_[k] = e;
      entries_[k].clear_age_ms();
      SettleExpected(k, now);
    }
  }
  if (!bad.empty()) return absl::InvalidArgumentError(absl::StrCat("gossip from ", from.empty() ? "a peer" : from, ": ", bad));
  return absl::OkStatus();
}

bool ClusterView::NextMessage(std::string* to, GossipRequest* message) {
  GossipCore::Stamp now = Now();
  absl::MutexLock lock(&mu_);
  auto down_after = std::chrono::duration_cast<std::chrono::microseconds>(settings_.down_after).count();
  int target = core_.ChooseTarget(rng_, now, down_after);
  if (target < 0) return false;
  *to = names_[target];
  message->Clear();
  for (int k : core_.Window()) {
    NodeLoad* e = message->add_entries();
    *e = entries_[k];
    e->set_age_ms(static_cast<uint64_t>(std::max<GossipCore::Stamp>(0, now - core_.StampOf(k)) / 1000));
  }
  return true;
}

ClusterView::Known ClusterView::KnownAt(int k, GossipCore::Stamp now) const {
  Known out;
  out.load = entries_[k];
  GossipCore::Stamp stamp = core_.StampOf(k);
  if (stamp == GossipCore::kNever) return out;
  out.age_s = static_cast<double>(now - stamp) / 1e6;
  out.up = core_.Up(k, now, std::chrono::duration_cast<std::chrono::microseconds>(settings_.down_after).count());
  out.load.set_age_ms(static_cast<uint64_t>(std::max(0.0, out.age_s) * 1000));
  double expected = 0;
  for (const Expected& x : expected_) {
    if (x.node == k) expected += x.load;
  }
  if (expected != 0) {
    out.load.set_load(std::max(0.0, out.load.load() + expected));
    out.load.set_own_load(std::max(0.0, out.load.own_load() + expected));
  }
  return out;
}

void ClusterView::SettleExpected(int k, GossipCore::Stamp now) {
  // (An entry's stamp here is its maker's time less its age, which leaves out the time it spent
  // in transit: a little slack for that.)
  constexpr GossipCore::Stamp kSlack = 50'000;
  const GossipCore::Stamp at_most = std::chrono::duration_cast<std::chrono::microseconds>(kExpectedAtMost).count();
  GossipCore::Stamp stamp = core_.StampOf(k);
  expected_.erase(std::remove_if(expected_.begin(), expected_.end(),
                                 [&](const Expected& x) {
                                   bool shown = x.node == k && x.arrived != GossipCore::kNever && stamp != GossipCore::kNever &&
                                                stamp > x.arrived + kSlack;
                                   return shown || now - x.made > at_most;
                                 }),
                  expected_.end());
}

std::optional<ClusterView::Known> ClusterView::Get(const std::string& node) {
  int k = IndexOf(node);
  if (k < 0) return std::nullopt;
  GossipCore::Stamp now = Now();
  absl::MutexLock lock(&mu_);
  SettleExpected(k, now);
  return KnownAt(k, now);
}

std::vector<ClusterView::Known> ClusterView::All() {
  GossipCore::Stamp now = Now();
  absl::MutexLock lock(&mu_);
  std::vector<Known> out;
  for (size_t k = 0; k < names_.size(); ++k) {
    SettleExpected(static_cast<int>(k), now);
    out.push_back(KnownAt(static_cast<int>(k), now));
  }
  return out;
}

std::vector<NodeStatus> ClusterView::Status() {
  std::vector<NodeStatus> out;
  for (const Known& k : All()) {
    NodeStatus s;
    s.set_node(k.load.node());
    s.set_state(k.age_s < 0 ? "unknown" : k.up ? "up" : "down");
    s.set_cpus(k.load.cpus());
    s.set_speed(k.load.speed());
    s.set_load(std::round(k.load.load()));
    s.set_mem_free_mb(static_cast<uint32_t>(std::min<uint64_t>(k.load.mem_free_mb(), UINT32_MAX)));
    s.set_mem_total_mb(static_cast<uint32_t>(std::min<uint64_t>(k.load.mem_total_mb(), UINT32_MAX)));
    s.set_procs(k.load.procs());
    s.set_guests(k.load.guests());
    s.set_age_s(k.age_s < 0 ? -1 : std::round(k.age_s * 10) / 10);
    s.set_takes_guests(k.load.takes_guests());
    s.set_self(k.load.node() == self());
    s.set_keeps_processes(k.load.keeps_processes());
    out.push_back(std::move(s));
  }
  return out;
}

void ClusterView::TakesNoGuests(const std::string& node) {
  int k = IndexOf(node);
  if (k < 0 || k == self_) return;
  absl::MutexLock lock(&mu_);
  entries_[k].set_takes_guests(false);
}

const cluster::Node* ClusterView::NodeOf(const std::string& node) const { return FindNode(map_, node); }

uint64_t ClusterView::Expect(const std::string& node, double load, std::chrono::milliseconds arrives_within) {
  int k = IndexOf(node);
  if (k < 0) return 0;
  GossipCore::Stamp now = Now();
  absl::MutexLock lock(&mu_);
  uint64_t ticket = next_ticket_++;
  GossipCore::Stamp arrived =
      arrives_within.count() > 0 ? now + std::chrono::duration_cast<std::chrono::microseconds>(arrives_within).count() : GossipCore::kNever;
  expected_.push_back({ticket, k, load, now, arrived});
  return ticket;
}

void ClusterView::Arrived(uint64_t ticket) {
  GossipCore::Stamp now = Now();
  absl::MutexLock lock(&mu_);
  for (Expected& x : expected_) {
    if (x.ticket == ticket) x.arrived = now;
  }
}

void ClusterView::Failed(uint64_t ticket) {
  absl::MutexLock lock(&mu_);
  expected_.erase(std::remove_if(expected_.begin(), expected_.end(), [&](const Expected& x) { return x.ticket == ticket; }),
                  expected_.end());
}

}  // namespace mosix::agent
