#include "agent/decide/node_admin.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace mosix::agent {

constexpr int kWaitSeconds = 120;

absl::StatusOr<int> NodeAdmin::Expel() {
  int n = static_cast<int>(arrivals_->Guests().size());
  arrivals_->SendGuestsHome(kWaitSeconds, "expelled");
  size_t left = arrivals_->Guests().size();
  if (left > 0) return absl::UnavailableError(absl::StrCat(left, " of ", n, " guests could not be sent home (see the agent's log)"));
  return n;
}

absl::StatusOr<int> NodeAdmin::Bring() {
  std::vector<pid_t> away;
  for (const ProcessEntry& e : table_->Snapshot()) {
    if (e.state == ProcState::kRemote) away.push_back(e.pid);
  }
  struct Outcome {
    absl::Mutex mu;
    size_t pending ABSL_GUARDED_BY(mu);
    std::vector<std::string> errors ABSL_GUARDED_BY(mu);
  };
  auto outcome = std::make_shared<Outcome>();  // (actions may outlive this call)
  {
    absl::MutexLock lock(&outcome->mu);
    outcome->pending = away.size();
  }
  for (pid_t pid : away) {
    mover_->MoveInBackground(pid, "home", [outcome, pid](const absl::Status& s) {
      absl::MutexLock lock(&outcome->mu);
      --outcome->pending;
      if (!s.ok()) outcome->errors.push_back(absl::StrCat("pid ", pid, ": ", s.message()));
    });
  }
  absl::MutexLock lock(&outcome->mu);
  auto all_done = [o = outcome.get()]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(o->mu) { return o->pending == 0; };
  if (!outcome->mu.AwaitWithTimeout(absl::Condition(&all_done), absl::Seconds(kWaitSeconds))) {
    return absl::DeadlineExceededError(absl::StrCat(outcome->pending, " of ", away.size(), " processes did not come home within ",
                                                    kWaitSeconds, " s"));
  }
  if (!outcome->errors.empty()) return absl::UnavailableError(absl::StrCat("not all came home: ", outcome->errors.front()));
  return static_cast<int>(away.size());
}

absl::StatusOr<std::string> NodeAdmin::Do(const std::string& command) {
  if (command == "expel") {
    // Blocked first: no guest may arrive while the others leave.
    if (auto s = policy_->Set("block"); !s.ok()) return s;
    auto n = Expel();
    if (!n.ok()) return n.status();
    return absl::StrCat("blocked; ", *n, " guests sent home");
  }
  if (command == "bring") {
    auto n = Bring();
    if (!n.ok()) return n.status();
    return absl::StrCat(*n, " processes brought home");
  }
  if (command == "isolate") {
    if (auto s = policy_->Set("isolate"); !s.ok()) return s;
    auto guests = Expel();
    if (!guests.ok()) return guests.status();
    auto own = Bring();
    if (!own.ok()) return own.status();
    return absl::StrCat("isolated: no guests, no gossip; ", *guests, " guests sent home, ", *own, " processes brought home");
  }
  if (auto s = policy_->Set(command); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("no command '", command,
                                                   "' (stay, nostay, lstay, nolstay, block, noblock, expel, bring, isolate, rejoin)"));
  }
  return absl::StrCat(command, ": done");
}

}  // namespace mosix::agent
