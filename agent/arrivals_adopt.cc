// A node agent's guests across its restarts. When the agent stops or dies, a running guest goes
// on, its lifeline held by the keeper (process/lifeline_keeper.h), and its record (GuestStore)
// stays. The next agent takes the lifelines over from that keeper and takes back each guest
// whose record still names a live process (the same pid and start time); it tells each one's
// home agent (StillHere), which relinks it through TLS as after its own restart
// (link_invariants.h, I5), or has it ended when home no longer counts on that copy. Guests
// that no agent takes back within kKeeperGrace die as the keeper leaves.
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "agent/arrivals.h"
#include "agent/cluster_config.h"
#include "agent/peers.h"
#include "agent/services/caller.h"
#include "checkpoint/procfs.h"

namespace mosix::agent {

Arrivals::Arrivals(std::string state_dir, std::string node_address, cluster::ClusterMap map, FileDigests* digests,
                   const security::TlsContext* tls, LinkRelays* relays)
    : state_dir_(std::move(state_dir)),
      node_address_(std::move(node_address)),
      map_(std::move(map)),
      digests_(digests),
      tls_(tls),
      relays_(relays),
      store_(state_dir_ + "/guests"),
      stopping_(EventFd::Make("agent stop").value_or(EventFd())),
      unlinked_watch_([this] { WatchUnlinked(); }) {
  if (absl::Status s = store_.Open(); !s.ok()) {
    fprintf(stderr, "mosixd: %s: guests will not outlive this agent\n", std::string(s.message()).c_str());
  }
  taken_over_ = LifelineKeeper::TakeOver(state_dir_);  // (before this agent's own keeper starts)
  auto keeper = LifelineKeeper::Start(state_dir_);
  if (keeper.ok()) {
    keeper_ = std::move(*keeper);
  } else {
    fprintf(stderr, "mosixd: %s: guests will die with this agent\n", std::string(keeper.status().message()).c_str());
  }
}

Arrivals::~Arrivals() {
  stop_watch_.Notify();
  if (unlinked_watch_.joinable()) unlinked_watch_.join();
  if (adopt_.joinable()) adopt_.join();
  stopping_.Signal();
  // The guests still here go on without this agent, their lifelines in the keeper and their
  // records on disk, for the next one; one that has left and waits to be ended dies as its
  // lifeline closes, as does a stub.
  std::map<pid_t, Guest> left;
  {
    absl::MutexLock lock(&mu_);
    left.swap(guests_);
  }
  left.clear();
  absl::MutexLock lock(&reap_mu_);
  for (auto& [thread, done] : reapers_) thread.join();
  reapers_.clear();
}

void Arrivals::TakeBackGuests() {
  std::vector<std::string> skipped;
  std::vector<GuestRecord> records = store_.LoadAll(&skipped);
  for (const std::string& note : skipped) fprintf(stderr, "mosixd: a guest's record is not read: %s\n", note.c_str());
  std::map<pid_t, UniqueFd> lifelines;
  lifelines.swap(taken_over_);  // (those no record names close here: such guests end)
  if (records.empty()) return;
  std::vector<std::pair<GuestRecord, UniqueFd>> todo;
  for (GuestRecord& r : records) {
    UniqueFd lifeline;
    if (auto it = lifelines.find(r.local_pid()); it != lifelines.end()) lifeline = std::move(it->second);
    todo.emplace_back(std::move(r), std::move(lifeline));
  }
  adopt_ = std::thread([this, todo = std::move(todo)]() mutable {
    for (auto& [r, lifeline] : todo) {
      if (stop_watch_.HasBeenNotified()) return;
      TakeBack(r, std::move(lifeline));
    }
  });
}

void Arrivals::SaveRecord(pid_t pid, const Guest& guest) {
  GuestRecord r;
  r.set_version(GuestStore::kVersion);
  r.set_local_pid(pid);
  r.set_start_time(guest.start_time);
  r.set_home_node(guest.home_node);
  r.set_home_pid(guest.home_pid);
  r.set_shim_text_start(guest.shim_text_start);
  r.set_shim_text_end(guest.shim_text_end);
  r.set_shim_info(guest.shim_info);
  if (absl::Status s = store_.Save(r); !s.ok()) {
    fprintf(stderr, "mosixd: pid %d of %s: %s (a restart of this agent would lose it)\n", guest.home_pid, guest.home_node.c_str(),
            std::string(s.message()).c_str());
  }
}

void Arrivals::TakeBack(const GuestRecord& r, UniqueFd lifeline) {
  pid_t pid = r.local_pid();
  auto st = ReadStat(pid);
  if (!st.ok() || st->start_time != r.start_time() || st->state == 'Z' || st->state == 'X') {
    fprintf(stderr, "mosixd: pid %d of %s (here %d) ended while no agent was here\n", r.home_pid(), r.home_node().c_str(), pid);
    store_.Remove(pid);
    return;
  }
  const cluster::Node* home = FindNode(map_, r.home_node());
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!home || !pidfd.valid()) {
    fprintf(stderr, "mosixd: pid %d of %s (here %d) cannot be taken back (%s): it ends\n", r.home_pid(), r.home_node().c_str(),
            pid, home ? "no pidfd" : "its home is not in the cluster map");
    if (pidfd.valid()) (void)syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
    store_.Remove(pid);
    return;
  }
  Guest guest;
  guest.home_node = r.home_node();
  guest.home_pid = r.home_pid();
  guest.shim_text_start = r.shim_text_start();
  guest.shim_text_end = r.shim_text_end();
  guest.shim_info = r.shim_info();
  guest.start_time = r.start_time();
  guest.last_signal = std::make_shared<std::atomic<int>>(0);
  if (lifeline.valid()) guest.lifeline = std::make_shared<UniqueFd>(std::move(lifeline));
  KeepLifeline(pid, guest, true);
  if (tls_) {
    // Its link went through the agent before this one: it waits for a new one (WatchUnlinked
    // ends it if none comes).
    guest.link = std::make_shared<GuestLink>();
    guest.link->pidfd.reset(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    guest.link->unlinked_since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count();
  }
  {
    absl::MutexLock lock(&mu_);
    guests_[pid] = guest;
  }
  Reap(pid);
  StillHereRequest req;
  req.set_home_pid(r.home_pid());
  req.set_local_pid(pid);
  req.set_node(map_.this_node());
  StillHereReply reply;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 10);
  grpc::Status s = PeerStub(*home)->StillHere(&ctx, req, &reply);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
    fprintf(stderr, "mosixd: pid %d of %s (here %d): its home no longer counts on this copy (%s): it ends\n", r.home_pid(),
            r.home_node().c_str(), pid, s.error_message().c_str());
    (void)syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
    return;
  }
  if (!s.ok()) {
    // Its home agent is away too: when it comes back it relinks the guest (mover_restart.cc).
    fprintf(stderr, "mosixd: pid %d of %s (here %d) is this agent's again; its home does not answer yet: %s\n", r.home_pid(),
            r.home_node().c_str(), pid, s.error_message().c_str());
    return;
  }
  fprintf(stderr, "mosixd: pid %d of %s (here %d) is this agent's again\n", r.home_pid(), r.home_node().c_str(), pid);
}

}  // namespace mosix::agent
