// A node agent's guests on disk: one small file per guest (DIR/LOCAL_PID, a GuestRecord),
// written when it arrives and removed when it ends or leaves, so that a restarted agent takes
// back the guests that outlived it (Arrivals::TakeBackGuests). Records are parsed as untrusted:
// a damaged file loses one guest, never the agent.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "agent/process/record_dir.h"
#include "proto/agent_state.pb.h"

namespace mosix::agent {

class GuestStore {
 public:
  explicit GuestStore(std::string dir) : records_(std::move(dir)) {}
  absl::Status Open();  // makes the directory (0700)
  absl::Status Save(const GuestRecord& r);
  void Remove(pid_t local_pid);
  // Every record that reads back and is whole; the others are reported in `skipped` and removed.
  std::vector<GuestRecord> LoadAll(std::vector<std::string>* skipped);

  static constexpr uint32_t kVersion = 1;

 private:
  RecordDir records_;
};

}  // namespace mosix::agent
