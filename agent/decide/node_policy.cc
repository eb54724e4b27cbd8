#include "agent/decide/node_policy.h"

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status.h"

namespace mosix::agent {

NodePolicy::NodePolicy(std::string path) : path_(std::move(path)) {
  if (path_.empty()) return;
  auto text = ReadFileToString(path_);
  if (!text.ok()) return;  // (none yet)
  PolicyRecord p;
  if (!p.ParseFromString(*text) || p.version() != 1) {
    load_error_ = absl::StrCat(path_, ": not a node policy this agent reads (version ", p.version(), "); starting with none");
    return;
  }
  absl::MutexLock lock(&mu_);
  policy_ = p;
}

bool NodePolicy::GuestsMayLeave() {
  absl::MutexLock lock(&mu_);
  return !policy_.stay();
}

bool NodePolicy::OwnMayLeave() {
  absl::MutexLock lock(&mu_);
  return !policy_.stay() && !policy_.lstay() && !policy_.isolated();
}

bool NodePolicy::TakesGuests() {
  absl::MutexLock lock(&mu_);
  return !policy_.block() && !policy_.isolated();
}

bool NodePolicy::Isolated() {
  absl::MutexLock lock(&mu_);
  return policy_.isolated();
}

absl::Status NodePolicy::Set(const std::string& word) {
  absl::MutexLock lock(&mu_);
  PolicyRecord p = policy_;
  if (word == "stay" || word == "nostay") {
    p.set_stay(word == "stay");
  } else if (word == "lstay" || word == "nolstay") {
    p.set_lstay(word == "lstay");
  } else if (word == "block" || word == "noblock") {
    p.set_block(word == "block");
  } else if (word == "isolate" || word == "rejoin") {
    p.set_isolated(word == "isolate");
  } else {
    return absl::InvalidArgumentError(absl::StrCat("no such setting '", word, "'"));
  }
  p.set_version(1);
  if (auto s = Save(p); !s.ok()) return s;
  policy_ = p;
  return absl::OkStatus();
}

absl::Status NodePolicy::Save(const PolicyRecord& p) {
  if (path_.empty()) return absl::OkStatus();
  return WriteFileAtomically(path_, p.SerializeAsString());
}

}  // namespace mosix::agent
