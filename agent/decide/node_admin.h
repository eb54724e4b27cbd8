// The node's administration (mosctl stay, lstay, block, expel, bring, isolate and their undoing):
// the policy (node_policy.h) and the moves some of them imply. Root only (the client service
// checks); each call returns when what it says is done.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "agent/arrivals.h"
#include "agent/decide/node_policy.h"
#include "agent/mover.h"
#include "agent/process_table.h"

namespace mosix::agent {

class NodeAdmin {
 public:
  NodeAdmin(NodePolicy* policy, ProcessTable* table, Mover* mover, Arrivals* arrivals)
      : policy_(policy), table_(table), mover_(mover), arrivals_(arrivals) {}

  // One command; returns what was done, in a line.
  absl::StatusOr<std::string> Do(const std::string& command);

 private:
  // Guests go home; returns how many were sent, and fails if some are still here after that.
  absl::StatusOr<int> Expel();
  // This node's processes that run elsewhere come home.
  absl::StatusOr<int> Bring();

  NodePolicy* policy_;
  ProcessTable* table_;
  Mover* mover_;
  Arrivals* arrivals_;
};

}  // namespace mosix::agent
