// The processes under mosrun on this node, as the agent knows them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/process/fork_watch.h"
#include "agent/process/process_state.h"
#include "agent/process/table_store.h"
#include "interceptor/channel_protocol.h"
#include "proto/agent.pb.h"
#include "proto/image/process.pb.h"

namespace mosix::agent {

struct ProcessEntry {
  pid_t pid = 0;
  uint64_t start_time = 0;  // /proc/PID/stat field 22: tells a reused pid apart
  std::vector<std::string> argv;
  image::MosixOptions options;
  int channel_fd = -1;  // the agent's end of the process's channel, if it has a shim
  // A child forked under mosrun, until the agent gives it a channel of its own (its first
  // move): its MOSIX_CHANNEL_FD is still its parent's connection, and channel_fd is -1.
  bool channel_borrowed = false;
  std::string last_checkpoint;
  std::chrono::steady_clock::time_point next_checkpoint{};
  std::chrono::steady_clock::time_point registered{};  // when this agent learnt of it
  bool busy = false;  // a checkpoint or a move is under way
  ProcState state = ProcState::kHome;  // process/process_state.h
  std::string frozen_image;    // while frozen: its image on this node's disk
  std::string where;           // while remote: the node its user context runs on
  int32_t remote_pid = 0;      // ... and its pid there
  std::string start_on;        // mosrun -r NODE, until the move is started
  std::string run_on;          // mosrun -r NODE, for good: each program it execs at home goes
                               // there too (a wrapper script may fork, and so come home, first)
  // Where its shim is (found when it first moves; the layout of its memory does not change
  // until it execs, and after a round trip the shim is an anonymous copy that cannot be found
  // by name).
  uint64_t shim_info = 0, shim_text_start = 0, shim_text_end = 0;
  std::vector<std::pair<uint64_t, uint64_t>> shim_ranges;  // all its mappings, bss included
  // The files it mapped when it left home, as described then: a node that has them the same
  // maps them instead of receiving them, on later moves too.
  std::vector<MappedFile> mapped_files;
  uint32_t program = 0;  // bumped when it execs (a second hello): the above are the old one's
  bool ended = false;          // while remote: its remote part ended, with wait_status
  std::string ended_node;      // ... the node that said so ("" on a trusted network: unknown)
  int32_t ended_part = 0;      // ... the part that ended, by its pid over there (a copy whose
                               // move was undone also says it ended: not the remote part)
  int wait_status = 0;
  double cpu_elsewhere = 0;    // CPU seconds its copies used on nodes it has left
  int end_waiter = -1;         // the deputy's channel, waiting to hear how it ended
  // For the cluster's decisions (decide/): moves so far, and since when it runs where it does.
  uint32_t moves = 0;
  std::chrono::steady_clock::time_point here_since{};
  // The nodes it left lately, the newest last (at most kNodesLeftKept, each node once): no
  // A->B->A, nor A->B->C->A, within the balancer's no_return.
  struct Left {
    std::string node;
    std::chrono::steady_clock::time_point at;
  };
  std::vector<Left> left;
  void RememberLeft(const std::string& node, std::chrono::steady_clock::time_point at);

  // Whether it has a shim that greeted (its channel its own or borrowed).
  bool HasChannel() const { return channel_fd >= 0 || channel_borrowed; }
  // The fd its channel has inside the process (mosix's own, not the program's), or -1. A
  // program without the shim (static, say) that mosrun started keeps the channel mosrun
  // registered on, unused: that fd is mosix's too, and no image of the program takes it.
  int ChannelFdInProcess() const;
};

// Whether fd is still the channel of pid (its peer): an answer given later, from another
// thread, must not reach a connection that took the fd number after pid's ended.
bool IsChannelOf(int fd, pid_t pid);

class ProcessTable {
 public:
  // Keeps the table in `dir` from now on (process/table_store.h), and takes back the processes
  // recorded there that still run (the others' records go; `notes` says which and why).
  // Returns the processes taken back: their channels and links are to be made again.
  absl::StatusOr<std::vector<ProcessEntry>> PersistIn(const std::string& dir, std::vector<std::string>* notes);

  // Adds or replaces pid's entry (its start time is read now).
  absl::Status Register(ProcessEntry entry);
  // Marks pid busy and returns a copy; fails when unknown or gone (NotFound), or already busy
  // (Aborted: a concurrent operation, worth retrying).
  absl::StatusOr<ProcessEntry> Acquire(pid_t pid);
  // Clears busy and stores what the caller changed (checkpoint count, last path, ...).
  void Release(const ProcessEntry& entry);
  // Records pid's channel (fd -1: it borrows one it inherited); returns the node it should
  // move to at once (mosrun -r, or where it was before it came home for an exec), if any.
  // A second hello is a new program (exec): what was learnt of the old one's memory (where
  // its shim is, the files it mapped) is forgotten, and argv is the new one's.
  std::string SetChannel(pid_t pid, int fd, std::vector<std::string> argv = {});
  // pid's channel is now fd (a restarted agent, or a first move, gave the running program a new
  // one of its own): nothing else changes.
  void Reattach(pid_t pid, int fd);
  // Whether pid (this very process, not an earlier one with its number) has an entry (a
  // newborn is given one now).
  bool Knows(pid_t pid);
  // A hello on channel fd from pid (fd -1: on a channel it inherited, from the program before
  // exec or from its parent). If pid has no entry, it is a program that a child under mosrun
  // runs (a shell's command, a make's job) and is noted as a newborn (returns true), as a
  // child is when it is forked (Forked): it becomes an entry once it has lived kNewbornAge
  // (AdoptNewborns), or at once when anything asks for it (Acquire, Knows, Get). Most
  // children of a shell or a make end sooner and cost the agent nothing but their hello: no
  // /proc reads, no entry, no record. Returns false for a process with an entry (its new
  // program: SetChannel).
  bool Greet(pid_t pid, int fd);
  // Children forked by processes it knows (entries or newborns; a fork's child may fork in
  // turn, in the same batch) are noted as newborns, as a hello on a borrowed channel would;
  // forks by others are no business of this agent's. Returns how many were noted.
  size_t Forked(const std::vector<Fork>& forks);
  // The descendants, as /proc tells them (`parents`), of the processes it knows, noted as
  // newborns: the forks that the kernel did not report (see ForkWatch).
  size_t FindChildren(const std::map<pid_t, pid_t>& parents);
  // Whether it knows any process (entries, newborns, or processes that ended lately): only
  // then are forks of interest.
  bool Empty();
  // Channel fd closed: a newborn on it ended.
  void ChannelClosed(int fd);
  // Makes entries of the newborns that have lived kNewbornAge; forgets those that ended.
  void AdoptNewborns(std::chrono::steady_clock::time_point now);
  // The node pid goes to at its next hello (a program it execs, or mosrun -r retried).
  void SetStartOn(pid_t pid, const std::string& node);
  // Where pid runs ("" at home, when unknown, or while a move or checkpoint holds it).
  std::string WhereIs(pid_t pid);
  // Drops the entries whose process is gone (their channels are closed by the channel server
  // when it sees the hangup); returns those entries (their frozen images are the caller's).
  std::vector<ProcessEntry> Reap();
  // Writes the records Save left for later, of processes that have run long enough.
  void FlushRecords(std::chrono::steady_clock::time_point now);
  // pids whose periodic checkpoint is due.
  std::vector<pid_t> Due(std::chrono::steady_clock::time_point now);
  // A copy of pid's entry, busy or not.
  std::optional<ProcessEntry> Get(pid_t pid);
  // The same, once `ready` holds for it (a move holding it is over, a channel it was given is
  // known...), or as it is after `timeout`; without polling: it wakes when the table changes.
  std::optional<ProcessEntry> AwaitEntry(pid_t pid, const std::function<bool(const ProcessEntry&)>& ready,
                                         absl::Duration timeout);
  // The remote part of pid ended with wait_status; returns the deputy's fd if it is waiting.
  // `node` is the node that reports it ("" when peers are not authenticated): an end counts
  // only as reported by the node the process runs on.
  std::optional<int> RecordEnd(pid_t pid, const std::string& node, int32_t local_pid, int wait_status);
  // After a move: the deputy's fd and the status to tell it, if its remote part ended and it
  // asked meanwhile (neither could be matched while the move held the entry).
  std::optional<std::pair<int, int>> EndToTell(pid_t pid);
  // The deputy on `fd` waits for the end of pid's remote part; returns its status if known.
  std::optional<int> WaitForEnd(pid_t pid, int fd);
  // pid's deputy no longer waits to hear how its remote part ended (it got a new link).
  void StopWaitingForEnd(pid_t pid);
  std::vector<ProcessEntry> Snapshot();

  // The channels that must be read as soon as something arrives on them: those of processes
  // away from home (their deputies speak on them), frozen, or held by a move or a checkpoint.
  // The others carry only hellos (of programs and children at home) and are read in batches
  // (ChannelServer): a hello then wakes nobody.
  std::set<int> ChannelsInUse();
  // Set once, before the table is shared: reads the hellos waiting on the channels and
  // returns once they are taken. A question about a process (Acquire always; Knows, Get and
  // AwaitEntry for a pid not known yet) is asked after it, so it sees what the process's shim
  // said before the question was asked.
  void SetHelloFlush(std::function<void()> flush) { hello_flush_ = std::move(flush); }
  // Takes every hello already sent (one round of the channel loop). A move calls it once it
  // holds the process still and has found its shim: a hello that program sent just before it
  // was caught then counts before the move's Release, which keeps what the move learnt of the
  // program that greeted; read after, it would count as the next program's (an exec) and wipe
  // where the shim of the process away is, so that it could not come home.
  void TakeHellosSent() ABSL_LOCKS_EXCLUDED(mu_) { FlushHellos(0); }

 private:
  // Writes e's record, if the table is kept on disk. A program at home that has just started
  // is only marked (FlushRecords writes it once it has run a second): the many short programs
  // of a shell script or a make cost no disk write each.
  void Save(const ProcessEntry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // entry, with its start time, there since `since` (and its record, see Save).
  void InsertLocked(ProcessEntry entry, uint64_t start_time, std::chrono::steady_clock::time_point since)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes pid's entry from its newborn note, if it has one and still runs.
  void AdoptLocked(pid_t pid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs hello_flush_ (pid 0: always; else only if pid has no entry and no newborn note yet).
  void FlushHellos(pid_t pid) ABSL_LOCKS_EXCLUDED(mu_);

  struct Newborn {
    int fd;  // -1: it greeted on its parent's channel (borrowed)
    std::chrono::steady_clock::time_point since;
  };

  absl::Mutex mu_;
  std::map<pid_t, ProcessEntry> entries_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<TableStore> store_ ABSL_GUARDED_BY(mu_);
  std::set<pid_t> unsaved_ ABSL_GUARDED_BY(mu_);
  std::map<pid_t, Newborn> newborns_ ABSL_GUARDED_BY(mu_);
  // Its processes that ended lately (entries reaped, newborns found gone), kept kEndedKept: the
  // kernel's word of a fork by one may be read after it ended (a child that forks a grandchild
  // and exits, a shell that starts a job in the background and exits), and the child is ours.
  std::map<pid_t, std::chrono::steady_clock::time_point> ended_ ABSL_GUARDED_BY(mu_);
  std::function<void()> hello_flush_;
};

inline constexpr size_t kNodesLeftKept = 4;

// How long a child under mosrun runs before it is a table entry unasked (ProcessTable::Greet).
inline constexpr std::chrono::milliseconds kNewbornAge{50};
// How long a process of the table that ended still counts as the parent of the forks read after
// (ProcessTable::Forked). Far longer than the channel loop's longest sleep (160 ms).
inline constexpr std::chrono::seconds kEndedKept{2};

// The start time of a live pid, or nullopt if it is gone.
std::optional<uint64_t> StartTimeOf(pid_t pid);

}  // namespace mosix::agent
