#include "agent/decide/brain.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/cluster_config.h"
#include "agent/peers.h"
#include "checkpoint/procfs.h"

namespace mosix::agent {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Moves over this link run at about this many MB/s (bench/migration_bench: 1 GiB in 1.5-2 s
// with TLS), after a fixed cost of a few tens of ms.
constexpr double kMoveMBps = 500, kMoveFixedS = 0.05;
// A process whose automatic move failed is left alone this long.
constexpr auto kAfterFailure = std::chrono::seconds(30);
// Decisions come at most this often (a step, or sooner for a process about to be worth moving).
constexpr absl::Duration kSoonest = absl::Milliseconds(100);
// The least time over which a process's CPU demand is measured (s).
constexpr double kLeastMeasured = 0.5;

// How long ago a process that started at `start_ticks` (/proc/PID/stat's, clock ticks after
// boot) started; 0 if unknown.
double SecondsSinceStart(uint64_t start_ticks) {
  timespec ts;
  long hz = sysconf(_SC_CLK_TCK);
  if (start_ticks == 0 || hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts) != 0) return 0;
  double since = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9 - static_cast<double>(start_ticks) / hz;
  return std::max(0.0, since);
}

// A new process placed on another node (mosrun -b) runs there within this.
constexpr auto kPlacedWithin = std::chrono::milliseconds(1000);

}  // namespace

// The moves this brain asked for, as the mover's background actions report them (shared with
// them, so that no action holds the brain itself).
struct MovesMade {
  absl::Mutex mu;
  // Moves that failed: why, and until when the process is left alone.
  std::map<pid_t, std::pair<std::string, Clock::time_point>> failed ABSL_GUARDED_BY(mu);
  // Every process with a move asked for and not done: decided for already (its move waits its
  // turn among the process's actions; deciding again would send it twice). With where it goes,
  // and its load here when it leaves this node: until it has gone it still runs (and counts in
  // the node's measure), but it is no longer this node's work.
  struct Underway {
    std::string to;
    double leaving_here = 0;
  };
  std::map<pid_t, Underway> moving ABSL_GUARDED_BY(mu);
  double Leaving() ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    double sum = 0;
    for (const auto& [pid, u] : moving) sum += u.leaving_here;
    return sum;
  }
};

Brain::Brain(ProcessTable* table, ClusterView* view, Gossiper* gossiper, Mover* mover, NodePolicy* policy, cluster::ClusterMap map)
    : table_(table),
      view_(view),
      gossiper_(gossiper),
      mover_(mover),
      policy_(policy),
      map_(std::move(map)),
      aging_(AgingSettings::FromMap(map_)),
      moves_(std::make_shared<MovesMade>()) {}

void Brain::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void Brain::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void Brain::Loop() {
  absl::Duration step = absl::FromChrono(view_->settings().step), wait = step;
  while (!stop_.WaitForNotificationWithTimeout(wait)) {
    wait = step;
    if (policy_->Isolated()) continue;  // (out of the cluster: its processes stay home)
    BalancePlan plan = Step(/*ignore_age=*/false, /*only=*/0);
    // A process that would gain from a move is too young for it yet: decide again when it is
    // not, rather than a whole step later (a job started on a busy node waits less).
    if (plan.decide_again_in_s > 0) wait = std::clamp(absl::Seconds(plan.decide_again_in_s) + absl::Milliseconds(20), kSoonest, step);
  }
}

std::string Brain::WhyStays(pid_t pid) {
  absl::MutexLock lock(&mu_);
  auto it = stays_.find(pid);
  return it == stays_.end() ? "" : it->second;
}

BalanceSettings Brain::Settings() const {
  BalanceSettings s;
  s.home = map_.this_node();
  return s;
}

std::vector<BalanceNode> Brain::Nodes() {
  std::vector<BalanceNode> out;
  for (const ClusterView::Known& k : view_->All()) {
    BalanceNode n;
    n.name = k.load.node();
    n.up = k.up;
    n.takes_guests = k.load.takes_guests();
    n.load = k.load.load();
    n.own_load = k.load.own_load();
    n.cpus = k.load.cpus();
    n.speed = k.load.speed();
    n.mem_free_mb = k.load.mem_free_mb();
    n.mem_total_mb = k.load.mem_total_mb();
    if (n.name == map_.this_node()) {
      n.up = true;
      // Its own view (slow to rise, so no burst sends work away), less what is leaving already.
      n.own_load = std::max(0.0, gossiper_->OwnLoad() - moves_->Leaving());
    }
    out.push_back(std::move(n));
  }
  return out;
}

std::string Brain::BestNodeForNew(uint64_t mem_mb) {
  std::vector<BalanceNode> nodes = Nodes();
  std::string best = mosix::agent::BestNodeForNew(nodes, mem_mb, Settings());
  // The next new process sees this one where it goes, at once (here too: it is work arriving).
  // (Nobody reports when it gets there: a start elsewhere takes a fraction of a second.)
  if (best == map_.this_node()) {
    gossiper_->WorkArrived(1);
  } else {
    for (const BalanceNode& n : nodes) {
      if (n.name == best) view_->Expect(best, ProcessLoadOn(n, 1), kPlacedWithin);
    }
  }
  return best;
}

absl::StatusOr<std::string> Brain::BalanceNow(pid_t pid) {
  if (!table_->Knows(pid)) return absl::NotFoundError(absl::StrCat("pid ", pid, " is not a process running under mosrun on this node"));
  {
    absl::MutexLock fl(&moves_->mu);
    auto on_its_way = moves_->moving.find(pid);
    if (on_its_way != moves_->moving.end()) {
      return absl::FailedPreconditionError(absl::StrCat("pid ", pid, " is on its way to ", on_its_way->second.to, " already"));
    }
  }
  BalancePlan plan = Step(/*ignore_age=*/true, pid);
  for (const BalanceMove& m : plan.moves) {
    if (m.pid == pid) return m.to;
  }
  for (const auto& [p, why] : plan.stays) {
    if (p == pid) return absl::FailedPreconditionError(absl::StrCat("pid ", pid, " stays: ", why));
  }
  return absl::FailedPreconditionError(absl::StrCat("pid ", pid, " stays: no node would run it better now"));
}

BalancePlan Brain::Step(bool ignore_age, pid_t only) {
  absl::MutexLock lock(&step_mu_);
  const std::string self = map_.this_node();
  auto now = Clock::now();
  std::vector<ProcessEntry> entries = table_->Snapshot();
  // The CPU wanted and memory used by processes away, and their nodes' memory now: asked of
  // each node they run on.
  std::set<std::string> nodes_away;
  for (const ProcessEntry& e : entries) {
    if (e.state == ProcState::kRemote && !e.where.empty()) nodes_away.insert(e.where);
  }
  auto away = AskGuests(map_, self, nodes_away, std::chrono::seconds(1), yield_next_);
  yield_next_.clear();
  double step_s = Seconds(view_->settings().step);
  std::shared_ptr<MovesMade> moves = moves_;
  {
    absl::MutexLock fl(&moves->mu);
    for (auto it = moves->failed.begin(); it != moves->failed.end();) {
      it = now < it->second.second ? std::next(it) : moves->failed.erase(it);
    }
  }
  std::vector<BalanceProcess> procs;
  std::set<pid_t> seen;
  for (const ProcessEntry& e : entries) {
    if (only && e.pid != only) continue;
    // Only programs that run (their shim said hello), not frozen, not held by a move or a
    // checkpoint, not about to go somewhere already.
    if (e.ended || e.busy || !e.HasChannel() || e.state == ProcState::kFrozen || !e.start_on.empty()) continue;
    {
      absl::MutexLock fl(&moves->mu);
      if (moves->moving.count(e.pid)) continue;
    }
    std::string where = e.state == ProcState::kRemote ? e.where : self;
    uint64_t busy_ns = 0, rss_kb = 0;
    double cpu_s = e.cpu_elsewhere;
    int nice = 0;
    bool waits_now = false;
    if (where == self) {
      Usage u = UsageOf(e.pid);
      busy_ns = u.busy_ns;
      waits_now = !u.runnable;
      rss_kb = u.rss_kb;
      cpu_s += u.cpu_seconds;
      nice = NiceOf(e.pid).value_or(kOldNice);
    } else {
      const GuestInfo* g = FindGuest(away, where, e.pid);
      if (!g) continue;  // (its node did not answer: the node watch's)
      busy_ns = g->busy_ns();
      rss_kb = g->rss_kb();
      cpu_s += g->cpu_seconds();
      nice = g->nice();
    }
    seen.insert(e.pid);
    Demand& d = demand_[e.pid];
    if (d.where != where || d.at == Clock::time_point{}) {
      d.where = where;  // (a new place: the demand it had is the best guess until measured)
      d.busy_ns = busy_ns;
      d.at = now;
      // What it did since it started there, when that is known, is a measure at once: a job
      // started with others on a busy node need not wait another step to be seen as one. Not
      // for one that sleeps now: its start may have been all its work (a python3 that forked
      // and waits in wait4 showed a demand of its start-up and was moved, in a CI run), so it
      // is measured over a window first.
      double lived = where != self ? Seconds(now - e.here_since) : e.moves == 0 && !waits_now ? SecondsSinceStart(e.start_time) : 0;
      if (lived >= kLeastMeasured) {
        d.demand = std::clamp(static_cast<double>(busy_ns) / 1e9 / lived, 0.0, 1.0);
        d.measured = true;
      }
    } else if (Seconds(now - d.at) >= kLeastMeasured) {
      double wanted = static_cast<double>(busy_ns - std::min(busy_ns, d.busy_ns)) / 1e9 / Seconds(now - d.at);
      d.demand = std::clamp(wanted, 0.0, 1.0);
      d.measured = true;
      d.busy_ns = busy_ns;
      d.at = now;
    }
    // Long runners yield: here at once, away with the next step's Guests request, so: whether it
    // will be old by then, at the rate it has had CPU since the last look, taken as far ahead as
    // that look was ago (steps come every 100 ms to 1 s). Never before it has had half of it.
    if (!only) {
      double since_s = d.cpu_s >= 0 ? std::min(step_s, Seconds(now - d.cpu_at)) : 0;
      double cpu_rate = since_s > 0 ? std::max(0.0, cpu_s - d.cpu_s) / since_s : 0;
      d.cpu_s = cpu_s, d.cpu_at = now;
      if (!e.options.keep_home() && !e.options.locked() && nice < kOldNice &&
          OldBy(cpu_s, cpu_rate, where == self ? 0 : since_s, aging_)) {
        if (where != self) {
          yield_next_[where].push_back(e.pid);
        } else if (absl::Status s = RunNiced(e.pid); !s.ok() && !absl::IsNotFound(s)) {
          fprintf(stderr, "mosixd: pid %d does not yield: %s\n", e.pid, std::string(s.message()).c_str());
        }
      }
    }
    BalanceProcess p;
    p.pid = e.pid;
    p.where = where;
    p.demand = d.demand;
    p.demand_known = d.measured;
    p.measured_in_s = std::max(0.0, kLeastMeasured - Seconds(now - d.at));
    p.seconds_here = Seconds(now - e.here_since);
    double rss_mb = static_cast<double>(rss_kb) / 1024;
    p.move_seconds = kMoveFixedS + rss_mb / kMoveMBps;
    p.mem_mb = std::max<uint64_t>(rss_kb / 1024, e.options.memory_mb());
    for (const ProcessEntry::Left& l : e.left) p.left.emplace_back(l.node, Seconds(now - l.at));
    if (only) {
      // (Asked by hand, migrate PID balance: locks are for the automatic moves.)
    } else if (e.options.keep_home()) {
      p.cannot = "kept home (mosrun -h)";
    } else if (e.options.locked()) {
      p.cannot = "locked (mosrun -L)";
    } else if (where == self && !policy_->OwnMayLeave()) {
      p.cannot = "this node keeps its processes (mosctl stay or lstay)";
    } else if (auto there = view_->Get(where); where != self && there && there->load.keeps_processes()) {
      p.cannot = absl::StrCat(where, " keeps its processes (mosctl stay there)");
    } else {
      absl::MutexLock fl(&moves->mu);
      auto f = moves->failed.find(e.pid);
      if (f != moves->failed.end() && now < f->second.second) p.cannot = absl::StrCat("cannot move: ", f->second.first);
    }
    procs.push_back(std::move(p));
  }
  if (!only) {
    for (auto it = demand_.begin(); it != demand_.end();) it = seen.count(it->first) ? std::next(it) : demand_.erase(it);
  }
  BalanceSettings settings = Settings();
  settings.ignore_age = ignore_age;
  std::vector<BalanceNode> nodes = Nodes();
  for (BalanceNode& n : nodes) {
    auto m = away.find(n.name);
    if (m != away.end() && m->second.mem_total_mb > 0) n.mem_free_mb = m->second.mem_free_mb, n.mem_total_mb = m->second.mem_total_mb;
  }
  BalancePlan plan = Balance(nodes, procs, settings);
  for (const BalanceMove& m : plan.moves) {
    // Both ends' loads as seen here count the move until their entries show it; this node's
    // own, until the process has gone (others see it here until then: it runs here).
    double demand = demand_[m.pid].demand, leaving_here = 0;
    std::vector<uint64_t> tickets;
    for (const BalanceNode& n : nodes) {
      if (n.name == m.to && m.to != self) tickets.push_back(view_->Expect(m.to, ProcessLoadOn(n, demand)));
      if (n.name == m.from && m.from == self) leaving_here = ProcessLoadOn(n, demand);
      if (n.name == m.from && m.from != self) tickets.push_back(view_->Expect(m.from, -ProcessLoadOn(n, demand)));
    }
    {
      absl::MutexLock fl(&moves->mu);
      moves->moving[m.pid] = {m.to, leaving_here};
    }
    // (With the time: bench/makespan finds A->B->A moves in these lines.)
    fprintf(stderr, "mosixd: %.3f pid %d goes from %s to %s (%s)\n", absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()), m.pid,
            m.from.c_str(), m.to.c_str(), m.why.c_str());
    pid_t pid = m.pid;
    ClusterView* view = view_;  // (outlives the mover's actions: main.cc stops the mover first)
    mover_->MoveInBackground(pid, m.to == self ? "home" : m.to, [moves, pid, view, tickets](const absl::Status& s) {
      for (uint64_t t : tickets) s.ok() ? view->Arrived(t) : view->Failed(t);
      absl::MutexLock fl(&moves->mu);
      moves->moving.erase(pid);
      if (!s.ok()) moves->failed[pid] = {std::string(s.message()), Clock::now() + kAfterFailure};
    });
  }
  absl::MutexLock stays_lock(&mu_);
  if (!only) {
    stays_.clear();
  } else {
    stays_.erase(only);
  }
  for (const auto& [pid, why] : plan.stays) stays_[pid] = why;
  return plan;
}

}  // namespace mosix::agent
