// Moves processes: freeze (user context to an image on this node's disk, the process parked
// with its pid, parent and fds) and back (continue/home: the image restored into the same
// process). Remote nodes come next.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "checkpoint/restore.h"
#include "checkpoint/shim_locator.h"
#include "checkpoint/task.h"
#include "agent/file_digests.h"
#include "agent/internal/arrival_client.h"
#include "agent/process/action_queue.h"
#include "agent/process_table.h"
#include "proto/cluster.pb.h"

namespace mosix::agent {

struct MoveResult {
  std::string state;
  std::string image;
  double seconds = 0;
  uint64_t bytes_sent = 0;        // to another node
  double frozen_seconds = 0;      // ... and how long the process was stopped for it
};

class Mover {
 public:
  // channel_path: this agent's channel socket (a process that has none of its own gets one there).
  Mover(ProcessTable* table, std::string state_dir, cluster::ClusterMap map, FileDigests* digests,
        internal::MoveTransport transport, std::string channel_path)
      : table_(table),
        state_dir_(std::move(state_dir)),
        map_(std::move(map)),
        digests_(digests),
        transport_(transport),
        channel_path_(std::move(channel_path)) {}

  // target: "freeze", "continue", "home", or a node name.
  absl::StatusOr<MoveResult> Move(pid_t pid, const std::string& target);
  // The same, waiting up to 2 s while a checkpoint or another move holds the process.
  absl::StatusOr<MoveResult> MoveWhenFree(pid_t pid, const std::string& target);
  // pid's program has started (its shim said hello) and is to run on node (mosrun -r, or it
  // was there before it came home to exec): moves it there, in the background.
  void StartOn(pid_t pid, const std::string& node);
  // A move the cluster decided (decide/brain.h): in the background, in order with pid's other
  // actions; `done` hears how it went.
  void MoveInBackground(pid_t pid, const std::string& target, std::function<void(const absl::Status&)> done);
  // pid, away, must come home to make system call nr (fork, exec, ...); its deputy waits on fd
  // and hears ERROR if that cannot be done. In the background.
  void ComeHomeFor(pid_t pid, int fd, int64_t nr);

  // A signal that reached the deputy of pid (its seq-th sent out of band): delivered to its
  // remote part, in order with pid's other signals and never while a move holds it.
  void ForwardSignal(pid_t pid, int signo, uint32_t seq);
  // Told of every move that succeeded between nodes (metrics): whether it came home, and how it went.
  void SetObserver(std::function<void(bool home, const MoveResult&)> observer) { observer_ = std::move(observer); }
  // Joins what the mover runs in the background (pending actions are dropped).
  void Shutdown() { actions_.Shutdown(); }
  // The remote part of pid ended (reported by node `from`, "" if peers are not authenticated):
  // tell the deputy if it is waiting. Counts only when `from` is where it runs.
  absl::Status RemoteEnded(pid_t pid, int32_t local_pid, int wait_status, const std::string& from);
  // pid's deputy waits on its channel fd to hear how its remote part ended. If that node is
  // gone, the process comes back from its newest checkpoint, or the deputy hears it is lost.
  void DeputyWaits(pid_t pid, int fd);
  // node has not answered for a while (cluster/node_watch.h): pid's deputy stops waiting on
  // its link to it, and asks how it ended (DeputyWaits).
  void NodeDown(pid_t pid, const std::string& node);
  // After a restart: takes back the processes the table on disk named (mover_restart.cc);
  // channel_path is this agent's channel socket. In the background, one action per process.
  void TakeBackAfterRestart(const std::vector<ProcessEntry>& entries, const std::string& channel_path);
  // A process's deputy is gone (the process ended at home while away): its remote part is ended.
  void DeputyGone(const ProcessEntry& e);
  // Node `from` ("" on a trusted network), whose agent stops, gives pid (local_pid there) back:
  // it comes home, in order with pid's other actions.
  absl::Status TakeBack(pid_t pid, int32_t local_pid, const std::string& from);
  // A restarted agent on `node` (`from` as authenticated, "" on a trusted network) took back
  // pid's remote part (local_pid there): through TLS its deputy gets a new link to it, in the
  // background. NotFound when home no longer counts on that copy.
  absl::Status StillHere(pid_t pid, int32_t local_pid, const std::string& node, const std::string& from);

  // A checkpoint of a process away from home, taken there and written to `path` here.
  // The file is created as `owner`, with her rights.
  absl::StatusOr<uint64_t> CheckpointRemote(const ProcessEntry& entry, const std::string& path,
                                            const image::MosixOptions& options, const FsIdentity& owner);

 private:
  absl::StatusOr<MoveResult> Freeze(ProcessEntry& entry);
  absl::StatusOr<MoveResult> Continue(ProcessEntry& entry);
  absl::StatusOr<MoveResult> ToNode(ProcessEntry& entry, const cluster::Node& node);
  std::vector<MappedFile> MappedFiles(pid_t pid);
  // Tells pid's deputy how its remote part ended, if it did while a move held the entry.
  void TellEndIfAny(pid_t pid);
  // Ends a process's copy that arrived on node but cannot go on there.
  void KillGuest(const cluster::Node& node, int32_t local_pid);
  absl::StatusOr<ShimLocation> ShimOf(Task& task, ProcessEntry& entry);
  absl::StatusOr<MoveResult> BackHome(ProcessEntry& entry);
  absl::StatusOr<MoveResult> OnToNode(ProcessEntry& entry, const cluster::Node& node);
  // Receives a checkpoint streamed by `call` (Depart or CheckpointGuest) into `path`.
  // ... created as `owner` where given.
  template <typename Reader>
  // The copy's CPU time over there goes to *cpu_seconds where given.
  absl::StatusOr<uint64_t> ReceiveImage(Reader* reader, const std::string& path, const FsIdentity* owner = nullptr,
                                        double* cpu_seconds = nullptr);
  // A child forked under mosrun greets on its parent's channel and keeps it (ProcessEntry::
  // channel_borrowed); before it first leaves home the held, seized process gets one of its own
  // (its deputy will read answers there that no other process may take).
  absl::Status GiveOwnChannel(Task& task, ProcessEntry& entry);
  // Gives the held entry's process (and its remote part) new channels and links.
  absl::Status Readopt(ProcessEntry& entry, const std::string& channel_path);
  // Through TLS: a new link between the held entry's deputy and its remote part on `node`
  // (PrepareRelink, Relink); a new channel for the deputy too where channel_path is given.
  // `node_spoke`: the node has just said it has the process (StillHere), so its agent is up:
  // the calls wait for this agent's connection to it, which may still be backing off from
  // the refusals of the node's restart, instead of failing at once.
  enum class NodeSpoke { kNo, kYes };
  absl::Status Relink(const ProcessEntry& entry, const cluster::Node& node, const std::string* channel_path,
                      NodeSpoke node_spoke = NodeSpoke::kNo);
  // Whether node `where` still has pid's copy (its local_pid there).
  enum class GuestThere { kRuns, kEnded, kGone, kNodeDown };
  // Whether the node `where` still runs the guest local_pid of home_pid; if it ended there,
  // *wait_status says how.
  GuestThere AskNodeFor(const std::string& where, int32_t local_pid, pid_t home_pid, int* wait_status);
  // pid's copy on `where` is gone (why): back from its newest checkpoint, or its deputy (on
  // channel fd) hears it is lost.
  void LoseRemote(pid_t pid, int fd, const std::string& where, const std::string& why);
  // This node's host, for the one-use listeners of moves.
  std::string OwnHost() const;
  // Restores an image at `path`, or as it comes, into the (seized) deputy: back home.
  absl::Status RestoreIntoDeputy(Task& deputy, uint64_t shim_info, const std::string& path);
  absl::Status RestoreIntoDeputy(Task& deputy, uint64_t shim_info, ByteStream& in);
  // Loads and checks the image at `path`, then restores it into pid itself. A restore that
  // failed half-way kills pid (the status says so: IsAborted).
  absl::Status RestoreInPlace(pid_t pid, const std::string& path, const RestoreOptions& options);
  absl::Status RestoreInPlace(Task& task, const std::string& path, const RestoreOptions& options);

  ProcessTable* table_;
  std::string state_dir_;
  cluster::ClusterMap map_;
  FileDigests* digests_;
  internal::MoveTransport transport_;
  std::string channel_path_;
  // Nodes the node watch found silent, and when (NodeDown).
  absl::Mutex down_mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> found_down_ ABSL_GUARDED_BY(down_mu_);
  std::function<void(bool home, const MoveResult&)> observer_;  // (set before any move)
  // Background actions on processes, in order per process (last: it goes first, joined).
  ActionQueue actions_;
};

}  // namespace mosix::agent
