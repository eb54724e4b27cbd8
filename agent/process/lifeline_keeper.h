// The keeper of a node's lifelines: a small process of its own (`mosixd --keeper`) that holds,
// beside the agent, the write end of each running guest's lifeline (agent/lifeline.h). When
// the agent dies, the lifelines stay open in the keeper, which waits up to kKeeperGrace for a
// new agent to take them over (at STATE/keeper.sock); if none comes it exits, and the guests
// die as their lifelines close. So a guest outlives its node's agent, for the next one to take
// back (arrivals_adopt.cc), but never by more than the grace, unreachable. A stub being
// restored and a copy that left and waits to be ended are not held: they die with the agent.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "base/fd.h"

namespace mosix::agent {

// Longer than a home agent waits for a node's agent to come back (kAgentRestartGrace) and than
// a guest waits for a new link (MOSIX_RELINK_WAIT_S): whoever gives up first, this is last.
constexpr std::chrono::seconds kKeeperGrace{35};

class LifelineKeeper {
 public:
  // Starts this agent's keeper (this executable, `--keeper STATE_DIR`).
  static absl::StatusOr<std::unique_ptr<LifelineKeeper>> Start(const std::string& state_dir);
  // The lifelines that the keeper of the agent before this one still holds, by guest pid
  // (none if there is no such keeper); that keeper then ends.
  static std::map<pid_t, UniqueFd> TakeOver(const std::string& state_dir);
  // Closes the link to the keeper: it then waits for the next agent (kKeeperGrace).
  ~LifelineKeeper() = default;

  // The keeper holds a copy of guest pid's lifeline's write end (until Drop, or the guest ends).
  void Hold(pid_t pid, int write_end);
  void Drop(pid_t pid);

 private:
  explicit LifelineKeeper(UniqueFd sock) : sock_(std::move(sock)) {}
  UniqueFd sock_;
};

// `mosixd --keeper STATE_DIR`, with the agent's end of its socket on fd 3.
[[noreturn]] void RunKeeper(const char* state_dir);

}  // namespace mosix::agent
