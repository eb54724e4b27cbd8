#include "agent/mover.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/cluster_config.h"
#include "base/file_util.h"
#include "base/status.h"
#include "checkpoint/dump.h"
#include "checkpoint/image_format.h"
#include "checkpoint/park.h"
#include "checkpoint/restore.h"
#include "checkpoint/task.h"
#include "interceptor/channel_protocol.h"

namespace mosix::agent {
namespace {

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

absl::StatusOr<MoveResult> Mover::Move(pid_t pid, const std::string& target) {
  ASSIGN_OR_RETURN(ProcessEntry entry, table_->Acquire(pid));
  absl::StatusOr<MoveResult> result;
  if (target == "freeze") {
    result = entry.state == "frozen" ? absl::FailedPreconditionError(absl::StrCat("pid ", pid, " is frozen already"))
                                     : Freeze(entry);
  } else if (target == "continue" || target == "home" || target == map_.this_node()) {
    result = entry.state == "frozen" ? Continue(entry)
                                     : absl::FailedPreconditionError(absl::StrCat("pid ", pid, " is running at home already"));
  } else if (FindNode(map_, target)) {
    result = absl::UnimplementedError(absl::StrCat("moving processes to other nodes (", target, ") is not implemented yet"));
  } else {
    std::vector<std::string> names;
    for (const auto& n : map_.nodes()) names.push_back(n.name());
    result = absl::NotFoundError(absl::StrCat("no node '", target, "' in the cluster (nodes: ", absl::StrJoin(names, " "),
                                              "; or freeze, continue, home, checkpoint)"));
  }
  table_->Release(entry);
  return result;
}

absl::StatusOr<MoveResult> Mover::Freeze(ProcessEntry& entry) {
  auto t0 = std::chrono::steady_clock::now();
  std::string dir = state_dir_ + "/frozen";
  RETURN_IF_ERROR(MakeDirs(dir, 0700));
  DumpOptions options;
  options.path = absl::StrCat(dir, "/", entry.pid, ".img");
  options.reason = "freeze";
  options.channel_fd = entry.channel_fd >= 0 ? MOSIX_CHANNEL_FD : -1;
  options.mosix_options = entry.options;
  ASSIGN_OR_RETURN(Task task, Task::Seize(entry.pid));
  auto dumped = DumpAttached(task, options);
  if (!dumped.ok()) return Annotate(dumped.status(), absl::StrCat("cannot freeze pid ", entry.pid));
  absl::Status parked = Park(task);
  if (!parked.ok()) {
    if (absl::IsAborted(parked)) {
      task.Kill();
      ::unlink(options.path.c_str());
      return absl::InternalError(absl::StrCat("freezing pid ", entry.pid, " failed half-way and it was killed: ", parked.message()));
    }
    ::unlink(options.path.c_str());
    return Annotate(parked, absl::StrCat("cannot freeze pid ", entry.pid));
  }
  entry.state = "frozen";
  entry.frozen_image = options.path;
  return MoveResult{entry.state, entry.frozen_image, Since(t0)};
}

absl::StatusOr<MoveResult> Mover::Continue(ProcessEntry& entry) {
  auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(auto image, LoadImage(entry.frozen_image));
  RestoreOptions options;
  options.same_process = true;
  RETURN_IF_ERROR(CheckRestorable(*image, options));
  ASSIGN_OR_RETURN(Task task, Task::Seize(entry.pid));
  absl::Status s = Restore(task, *image, options);
  if (!s.ok()) {
    if (absl::IsAborted(s)) {
      task.Kill();
      return absl::InternalError(absl::StrCat("continuing pid ", entry.pid, " failed half-way and it was killed: ", s.message()));
    }
    return Annotate(s, absl::StrCat("cannot continue pid ", entry.pid));
  }
  ::unlink(entry.frozen_image.c_str());
  entry.state = "home";
  entry.frozen_image.clear();
  return MoveResult{entry.state, "", Since(t0)};
}

}  // namespace mosix::agent
