// Takes checkpoints of registered processes: on request and every -A interval.
#pragma once

#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "agent/process_table.h"
#include "checkpoint/dump.h"

namespace mosix::agent {

class Checkpointer {
 public:
  Checkpointer(ProcessTable* table, std::string state_dir) : table_(table), state_dir_(std::move(state_dir)) {}
  ~Checkpointer();

  // Checkpoints pid to `path`, or to its next checkpoint file (FILE.N with -C, else
  // STATE_DIR/checkpoints/UID/PID.N). The process keeps running. The file is created as the
  // process's owner, with her rights, mode 0600.
  absl::StatusOr<DumpResult> Checkpoint(pid_t pid, const std::string& path = "");

  // Starts the thread that takes periodic checkpoints and forgets exited processes.
  void Start();
  // Checkpoints of processes away from home are taken over there, through the mover.
  void SetMover(class Mover* mover) { mover_ = mover; }

 private:
  void Loop();
  // STATE_DIR/checkpoints/UID, the user's own (mode 0700), made if needed.
  absl::StatusOr<std::string> UserCheckpointDir(uid_t uid, gid_t gid);

  ProcessTable* table_;
  class Mover* mover_ = nullptr;
  std::string state_dir_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace mosix::agent
