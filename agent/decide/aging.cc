#include "agent/decide/aging.h"

#include <errno.h>
#include <sys/resource.h>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "checkpoint/procfs.h"

namespace mosix::agent {

AgingSettings AgingSettings::FromMap(const cluster::ClusterMap& map) {
  AgingSettings s;
  int32_t ms = map.yield_after_cpu_ms();
  s.enabled = ms >= 0;
  if (ms > 0) s.after_cpu_s = ms / 1000.0;
  return s;
}

bool OldBy(double cpu_s, double rate, double ahead_s, const AgingSettings& s) {
  if (!s.enabled) return false;
  if (rate < 0) rate = 0;
  if (rate > 1) rate = 1;
  return cpu_s + rate * ahead_s >= s.after_cpu_s;
}

absl::StatusOr<int> NiceOf(pid_t pid) {
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, static_cast<id_t>(pid));
  if (nice == -1 && errno != 0) return ErrnoStatus("getpriority", absl::StrCat("thread ", pid));
  return nice;
}

absl::Status RunNiced(pid_t pid) {
  auto tids = NumberedEntries(absl::StrCat("/proc/", pid, "/task"));
  if (!tids.ok()) return absl::NotFoundError(absl::StrCat("pid ", pid, " is gone"));
  for (int tid : *tids) {
    auto nice = NiceOf(tid);  // (each thread has its own)
    if (absl::IsNotFound(nice.status())) continue;  // (a thread that ended meanwhile)
    if (!nice.ok()) return nice.status();
    if (*nice >= kOldNice) continue;
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(tid), kOldNice) != 0 && errno != ESRCH) {
      return ErrnoStatus("setpriority", absl::StrCat("thread ", tid, " of pid ", pid));
    }
  }
  return absl::OkStatus();
}

}  // namespace mosix::agent
