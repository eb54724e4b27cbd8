#include "agent/process_table.h"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "base/fd_passing.h"
#include "checkpoint/procfs.h"

namespace mosix::agent {

std::optional<uint64_t> StartTimeOf(pid_t pid) {
  auto st = ReadStat(pid);
  if (!st.ok() || st->state == 'Z' || st->state == 'X') return std::nullopt;
  return st->start_time;
}

void ProcessEntry::RememberLeft(const std::string& node, std::chrono::steady_clock::time_point at) {
  left.erase(std::remove_if(left.begin(), left.end(), [&](const Left& l) { return l.node == node; }), left.end());
  left.push_back({node, at});
  if (left.size() > kNodesLeftKept) left.erase(left.begin(), left.end() - kNodesLeftKept);
}

namespace {
constexpr auto kSaveAfter = std::chrono::seconds(1);
}  // namespace

void ProcessTable::Save(const ProcessEntry& e) {
  if (!store_) return;
  if (e.state == ProcState::kHome && std::chrono::steady_clock::now() - e.registered < kSaveAfter) {
    unsaved_.insert(e.pid);
    return;
  }
  unsaved_.erase(e.pid);
  absl::Status s = store_->Save(e);
  if (!s.ok()) fprintf(stderr, "mosixd: pid %d: its record is not kept: %s\n", e.pid, std::string(s.message()).c_str());
}

absl::StatusOr<std::vector<ProcessEntry>> ProcessTable::PersistIn(const std::string& dir, std::vector<std::string>* notes) {
  auto store = std::make_unique<TableStore>(dir);
  if (absl::Status s = store->Open(); !s.ok()) return s;
  std::vector<ProcessEntry> back;
  for (ProcessEntry& e : store->LoadAll(notes)) {
    if (StartTimeOf(e.pid) != e.start_time) {
      notes->push_back(absl::StrCat("pid ", e.pid, " (", e.argv.empty() ? "?" : e.argv[0], ") ended while the agent was down"));
      store->Remove(e.pid);
      continue;
    }
    back.push_back(e);
  }
  absl::MutexLock lock(&mu_);
  for (ProcessEntry& e : back) {
    e.registered = std::chrono::steady_clock::now() - kSaveAfter;  // (saved already)
    entries_[e.pid] = e;
  }
  store_ = std::move(store);
  return back;
}

void ProcessTable::FlushRecords(std::chrono::steady_clock::time_point now) {
  absl::MutexLock lock(&mu_);
  for (auto it = unsaved_.begin(); it != unsaved_.end();) {
    auto e = entries_.find(*it);
    if (e == entries_.end()) {
      it = unsaved_.erase(it);
    } else if (now - e->second.registered >= kSaveAfter) {
      it = unsaved_.erase(it);
      Save(e->second);
    } else {
      ++it;
    }
  }
}

absl::Status ProcessTable::Register(ProcessEntry entry) {
  auto start = StartTimeOf(entry.pid);
  if (!start) return absl::NotFoundError(absl::StrCat("no process with pid ", entry.pid));
  absl::MutexLock lock(&mu_);
  InsertLocked(std::move(entry), *start, std::chrono::steady_clock::now());
  return absl::OkStatus();
}

void ProcessTable::InsertLocked(ProcessEntry entry, uint64_t start_time, std::chrono::steady_clock::time_point since) {
  entry.start_time = start_time;
  entry.registered = entry.here_since = since;
  if (entry.options.checkpoint_interval_s() > 0) {
    entry.next_checkpoint = since + std::chrono::milliseconds(static_cast<int64_t>(entry.options.checkpoint_interval_s() * 1000));
  }
  auto it = entries_.find(entry.pid);
  if (it != entries_.end() && entry.channel_fd < 0) entry.channel_fd = it->second.channel_fd;
  Save(entry);
  entries_[entry.pid] = std::move(entry);
}

bool IsChannelOf(int fd, pid_t pid) {
  ucred cred{};
  socklen_t len = sizeof cred;
  return ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid == pid;
}

int ProcessEntry::ChannelFdInProcess() const {
  // (Without a hello: its fd is mosix's if it is a connection to this very agent.)
  return HasChannel() || IsChannelOf(TakeFdOf(pid, MOSIX_CHANNEL_FD).get(), ::getpid()) ? MOSIX_CHANNEL_FD : -1;
}

void ProcessTable::FlushHellos(pid_t pid) {
  if (!hello_flush_) return;
  if (pid != 0) {
    absl::MutexLock lock(&mu_);
    if (entries_.count(pid) || newborns_.count(pid)) return;
  }
  hello_flush_();
}

std::set<int> ProcessTable::ChannelsInUse() {
  absl::MutexLock lock(&mu_);
  std::set<int> out;
  for (const auto& [pid, e] : entries_) {
    if (e.channel_fd >= 0 && (e.state != ProcState::kHome || e.busy)) out.insert(e.channel_fd);
    if (e.end_waiter >= 0) out.insert(e.end_waiter);
  }
  return out;
}

absl::StatusOr<ProcessEntry> ProcessTable::Acquire(pid_t pid) {
  // (Its program's hello first: a move or a checkpoint acts on the program it greeted as.)
  FlushHellos(0);
  absl::MutexLock lock(&mu_);
  AdoptLocked(pid);
  auto it = entries_.find(pid);
  if (it == entries_.end() || StartTimeOf(pid) != it->second.start_time) {
    return absl::NotFoundError(absl::StrCat("pid ", pid, " is not a process running under mosrun on this node"));
  }
  if (it->second.busy) return absl::AbortedError(absl::StrCat("pid ", pid, " is busy: a checkpoint or a move of it is under way; try again"));
  it->second.busy = true;
  return it->second;
}

void ProcessTable::Release(const ProcessEntry& entry) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(entry.pid);
  if (it == entries_.end()) return;
  ProcessEntry now = std::move(it->second);
  if (!MayBecome(now.state, entry.state)) {
    // (A defect of the caller: the process stays as it was known.)
    fprintf(stderr, "mosixd: pid %d cannot go from %s to %s; kept %s\n", entry.pid, std::string(StateName(now.state)).c_str(),
            std::string(StateName(entry.state)).c_str(), std::string(StateName(now.state)).c_str());
    now.busy = false;
    it->second = std::move(now);
    return;
  }
  it->second = entry;
  it->second.channel_fd = now.channel_fd;  // (the channel server's to know)
  it->second.channel_borrowed = now.channel_borrowed;
  it->second.busy = false;
  if (entry.start_on.empty()) it->second.start_on = std::move(now.start_on);  // set meanwhile
  if (now.ended && !entry.ended) {  // its remote part ended meanwhile (or a copy, see ended_part)
    it->second.ended = true;
    it->second.ended_part = now.ended_part;
    it->second.ended_node = now.ended_node;
    it->second.wait_status = now.wait_status;
  }
  if (now.end_waiter >= 0) it->second.end_waiter = now.end_waiter;
  if (now.program != entry.program) {
    // A new program said hello meanwhile. If the process is away now, the move caught that
    // very program (a move takes a process only once its shim has said hello) and what it
    // learnt stands; otherwise the process exec'd after the copy was taken (a move home for
    // its exec, say), and what the copy knows of its memory is the old program's.
    it->second.program = now.program;
    it->second.argv = std::move(now.argv);
    if (entry.state != ProcState::kRemote) {
      it->second.shim_info = now.shim_info;
      it->second.shim_text_start = now.shim_text_start;
      it->second.shim_text_end = now.shim_text_end;
      it->second.shim_ranges = std::move(now.shim_ranges);
      it->second.mapped_files = std::move(now.mapped_files);
    }
  }
  Save(it->second);
}

void ProcessTable::SetStartOn(pid_t pid, const std::string& node) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(pid);
  if (it != entries_.end()) it->second.start_on = node;
}

std::string ProcessTable::WhereIs(pid_t pid) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(pid);
  // (While a move holds it, where it is is about to change: not known.)
  return it == entries_.end() || it->second.busy || it->second.state != ProcState::kRemote ? "" : it->second.where;
}

bool ProcessTable::Knows(pid_t pid) {
  FlushHellos(pid);
  absl::MutexLock lock(&mu_);
  AdoptLocked(pid);
  auto it = entries_.find(pid);
  return it != entries_.end() && StartTimeOf(pid) == it->second.start_time;
}

bool ProcessTable::Greet(pid_t pid, int fd) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(pid);
  if (it != entries_.end() && StartTimeOf(pid) == it->second.start_time) return false;
  newborns_[pid] = Newborn{fd, std::chrono::steady_clock::now()};
  return true;
}

size_t ProcessTable::Forked(const std::vector<Fork>& forks) {
  absl::MutexLock lock(&mu_);
  size_t noted = 0;
  auto now = std::chrono::steady_clock::now();
  std::map<pid_t, bool> same;  // entry pid -> still its process (one /proc read a parent a batch)
  auto ours = [&](pid_t pid) {
    auto e = entries_.find(pid);
    if (e == entries_.end()) return newborns_.count(pid) > 0 || ended_.count(pid) > 0;
    // (Not a process that reused the pid of one that ended since the last Reap.)
    auto [it, fresh] = same.try_emplace(pid, false);
    if (fresh) it->second = StartTimeOf(pid) == e->second.start_time;
    return it->second;
  };
  for (const Fork& f : forks) {
    if (!ours(f.parent)) continue;  // (another's process)
    // (A pid reused since its entry's process ended is no child; AdoptLocked tells by start time.)
    if (entries_.count(f.child)) continue;
    newborns_.try_emplace(f.child, Newborn{-1, now});
    ++noted;
  }
  return noted;
}

size_t ProcessTable::FindChildren(const std::map<pid_t, pid_t>& parents) {
  absl::MutexLock lock(&mu_);
  std::set<pid_t> known;
  for (const auto& [pid, e] : entries_) known.insert(pid);
  for (const auto& [pid, n] : newborns_) known.insert(pid);
  auto now = std::chrono::steady_clock::now();
  std::vector<pid_t> found = DescendantsOf(known, parents);
  for (pid_t child : found) newborns_.try_emplace(child, Newborn{-1, now});
  return found.size();
}

bool ProcessTable::Empty() {
  absl::MutexLock lock(&mu_);
  return entries_.empty() && newborns_.empty() && ended_.empty();
}

void ProcessTable::ChannelClosed(int fd) {
  absl::MutexLock lock(&mu_);
  for (auto it = newborns_.begin(); it != newborns_.end(); ++it) {
    if (it->second.fd == fd) {
      ended_[it->first] = std::chrono::steady_clock::now();
      newborns_.erase(it);
      return;
    }
  }
}

void ProcessTable::AdoptNewborns(std::chrono::steady_clock::time_point now) {
  absl::MutexLock lock(&mu_);
  std::vector<pid_t> due;
  for (const auto& [pid, n] : newborns_) {
    if (now - n.since >= kNewbornAge) due.push_back(pid);
  }
  for (pid_t pid : due) AdoptLocked(pid);
}

void ProcessTable::AdoptLocked(pid_t pid) {
  auto n = newborns_.find(pid);
  if (n == newborns_.end()) return;
  const Newborn born = n->second;
  newborns_.erase(n);
  auto start = StartTimeOf(pid);
  if (!start) {  // (ended)
    ended_[pid] = std::chrono::steady_clock::now();
    return;
  }
  // It is the cluster's as much as its parent, without its checkpoint options.
  ProcessEntry e;
  e.pid = pid;
  e.channel_fd = born.fd;
  e.channel_borrowed = born.fd < 0;
  if (auto argv = ReadCmdline(pid); argv.ok()) e.argv = *std::move(argv);
  InsertLocked(std::move(e), *start, born.since);
}

void ProcessTable::Reattach(pid_t pid, int fd) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(pid);
  if (it != entries_.end()) {
    it->second.channel_fd = fd;
    it->second.channel_borrowed = false;
  }
}

std::string ProcessTable::SetChannel(pid_t pid, int fd, std::vector<std::string> argv) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(pid);
  if (it == entries_.end()) return "";
  ProcessEntry& e = it->second;
  if (e.HasChannel()) {  // (its old channel closed at exec: the number may even be the same)
    ++e.program;
    e.shim_info = e.shim_text_start = e.shim_text_end = 0;
    e.shim_ranges.clear();
    e.mapped_files.clear();
    if (!argv.empty()) e.argv = std::move(argv);
  }
  e.channel_fd = fd;
  e.channel_borrowed = fd < 0;
  Save(e);
  std::string go = std::exchange(e.start_on, "");
  if (go.empty() && e.state == ProcState::kHome && !e.busy) go = e.run_on;
  return go;
}

std::vector<ProcessEntry> ProcessTable::Reap() {
  std::vector<ProcessEntry> gone;
  absl::MutexLock lock(&mu_);
  auto now = std::chrono::steady_clock::now();
  for (auto it = ended_.begin(); it != ended_.end();) {
    it = now - it->second > kEndedKept ? ended_.erase(it) : std::next(it);
  }
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!it->second.busy && StartTimeOf(it->first) != it->second.start_time) {
      ended_[it->first] = now;
      if (store_ && !unsaved_.erase(it->first)) store_->Remove(it->first);
      gone.push_back(std::move(it->second));
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return gone;
}

std::vector<pid_t> ProcessTable::Due(std::chrono::steady_clock::time_point now) {
  std::vector<pid_t> due;
  absl::MutexLock lock(&mu_);
  for (auto& [pid, e] : entries_) {
    if (e.options.checkpoint_interval_s() > 0 && !e.busy && e.state != ProcState::kFrozen && e.next_checkpoint <= now) {
      due.push_back(pid);
    }
  }
  return due;
}

std::vector<ProcessEntry> ProcessTable::Snapshot() {
  absl::MutexLock lock(&mu_);
  std::vector<ProcessEntry> out;
  for (auto& [pid, e] : entries_) out.push_back(e);
  return out;
}

}  // namespace mosix::agent

namespace mosix::agent {

std::optional<ProcessEntry> ProcessTable::Get(pid_t pid) {
  FlushHellos(pid);
  absl::MutexLock lock(&mu_);
  AdoptLocked(pid);
  auto it = entries_.find(pid);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::optional<ProcessEntry> ProcessTable::AwaitEntry(pid_t pid, const std::function<bool(const ProcessEntry&)>& ready,
                                                     absl::Duration timeout) {
  FlushHellos(pid);
  absl::MutexLock lock(&mu_);
  AdoptLocked(pid);
  auto settled = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = entries_.find(pid);
    return it == entries_.end() || ready(it->second);
  };
  mu_.AwaitWithTimeout(absl::Condition(&settled), timeout);
  auto it = entries_.find(pid);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

namespace {

// Whether the end recorded is the one of e's remote part (not of a copy whose move was undone).
bool RemoteEnded(const ProcessEntry& e) {
  return e.ended && e.state == ProcState::kRemote && !e.busy && e.ended_part == e.remote_pid &&
         (e.ended_node.empty() || e.ended_node == e.where);
}

}  // namespace

std::optional<int> ProcessTable::RecordEnd(pid_t pid, const std::string& node, int32_t local_pid, int wait_status) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(pid);
  if (it == entries_.end()) return std::nullopt;
  it->second.ended = true;
  it->second.ended_part = local_pid;
  it->second.ended_node = node;
  it->second.wait_status = wait_status;
  if (it->second.end_waiter < 0 || !RemoteEnded(it->second)) return std::nullopt;
  return it->second.end_waiter;
}

std::optional<int> ProcessTable::WaitForEnd(pid_t pid, int fd) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(pid);
  if (it == entries_.end()) return std::nullopt;
  it->second.end_waiter = fd;
  if (!RemoteEnded(it->second)) return std::nullopt;
  return it->second.wait_status;
}

void ProcessTable::StopWaitingForEnd(pid_t pid) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(pid);
  if (it != entries_.end()) it->second.end_waiter = -1;
}

std::optional<std::pair<int, int>> ProcessTable::EndToTell(pid_t pid) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(pid);
  if (it == entries_.end() || it->second.end_waiter < 0 || !RemoteEnded(it->second)) return std::nullopt;
  return std::make_pair(it->second.end_waiter, it->second.wait_status);
}

}  // namespace mosix::agent
