// What this node's administrator decided (mosctl stay, lstay, block, isolate and their undoing),
// kept in the state directory so that it survives a restart of the agent. Thread-safe.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "proto/agent_state.pb.h"

namespace mosix::agent {

class NodePolicy {
 public:
  // Kept in `path` ("" for nowhere); read from there now if it exists.
  explicit NodePolicy(std::string path);
  // Why the file could not be read at start ("" if it could, or there was none).
  const std::string& load_error() const { return load_error_; }

  // Guests may be sent away by their homes, and this node's own processes may leave.
  bool GuestsMayLeave();
  bool OwnMayLeave();
  bool TakesGuests();
  bool Isolated();
  // Applies one of stay, nostay, lstay, nolstay, block, noblock, isolate, rejoin and writes the
  // file; InvalidArgument for another word.
  absl::Status Set(const std::string& word);

 private:
  absl::Status Save(const PolicyRecord& p);

  std::string path_;
  std::string load_error_;
  absl::Mutex mu_;
  PolicyRecord policy_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mosix::agent
