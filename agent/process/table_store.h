// The home agent's process table on disk: one small file per process (DIR/PID, a
// ProcessRecord), replaced whole (write, fsync-free rename) each time the entry changes, so a
// restarted agent finds every process as it last knew it. What only lives as long as the agent
// (channel fds, a move under way, a deputy waiting) is not kept.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/process/record_dir.h"
#include "proto/agent_state.pb.h"

namespace mosix::agent {

struct ProcessEntry;

ProcessRecord ToRecord(const ProcessEntry& e);
// Checks what it reads (a record is parsed as untrusted: a damaged file loses one process,
// never the agent).
absl::StatusOr<ProcessEntry> FromRecord(const ProcessRecord& r);

class TableStore {
 public:
  explicit TableStore(std::string dir) : records_(std::move(dir)) {}
  absl::Status Open();  // makes the directory (0700)
  absl::Status Save(const ProcessEntry& e);
  void Remove(pid_t pid);
  // Every record that reads back; the others are reported in `skipped` and removed.
  std::vector<ProcessEntry> LoadAll(std::vector<std::string>* skipped);
  const std::string& dir() const { return records_.dir(); }

 private:
  RecordDir records_;
};

}  // namespace mosix::agent
