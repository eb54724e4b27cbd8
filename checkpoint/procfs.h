// Parsers for what /proc says about a process. Pure functions over text are separate from
// the readers so they can be tested on fixed input.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mosix {

struct MapEntry {
  uint64_t start = 0;
  uint64_t end = 0;
  int prot = 0;  // PROT_*
  bool shared = false;
  uint64_t offset = 0;
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  uint64_t inode = 0;
  std::string path;  // may be empty, "[heap]", "/x (deleted)", ...

  bool IsSpecial() const { return path == "[vdso]" || path == "[vvar]" || path == "[vvar_vclock]" || path == "[vsyscall]"; }
  uint64_t size() const { return end - start; }
};

absl::StatusOr<std::vector<MapEntry>> ParseMaps(const std::string& text);
absl::StatusOr<std::vector<MapEntry>> ReadMaps(pid_t pid);

// The fields of /proc/PID/stat that the checkpointer needs.
struct ProcStat {
  char state = '?';
  int ppid = 0;
  int session = 0;
  int nice = 0;  // field 19 (of the main thread)
  uint64_t num_threads = 0;
  uint64_t start_time = 0;
  uint64_t start_code = 0, end_code = 0, start_stack = 0;
  uint64_t start_data = 0, end_data = 0, start_brk = 0;
  uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
  uint64_t utime = 0, stime = 0, rss_pages = 0;
};

absl::StatusOr<ProcStat> ParseStat(const std::string& text);
absl::StatusOr<ProcStat> ReadStat(pid_t pid);

// The signals pid catches or ignores (SigCgt | SigIgn of /proc/PID/status), bit n-1 for n.
absl::StatusOr<uint64_t> CaughtOrIgnoredSignals(pid_t pid);
// A hex mask field of /proc/PID/status text (SigPnd, ShdPnd, SigBlk, SigCgt, ...).
absl::StatusOr<uint64_t> StatusMask(const std::string& status_text, const std::string& key);
// Whether pid has a pending signal (its own or its process's) that it does not block.
absl::StatusOr<bool> HasDeliverableSignal(pid_t pid);

// CPU seconds (user + system) and resident memory in kB (VmRSS: stat's count is approximate,
// off by hundreds of kB for a small process) of a live pid; zeros when it is gone.
// busy_ns: the time its threads ran or waited to run (schedstat; a thread held back by a CPU
// quota waits), so far: its growth over an interval is how much of it it wanted a CPU.
// runnable: its main thread runs or waits to run now (state R), rather than sleeps.
struct Usage {
  double cpu_seconds = 0;
  uint64_t rss_kb = 0;
  uint64_t busy_ns = 0;
  bool runnable = false;
};
Usage UsageOf(pid_t pid);
// One thread's (or a process's main thread's) time run plus time waiting to run, in ns; 0 if
// it is gone.
uint64_t TaskBusyNs(pid_t tid);

// /proc/PID/limits: soft and hard limit of each resource, in the order of RLIMIT_* numbers
// (the kernel prints them so); "unlimited" is RLIM_INFINITY.
struct Limit {
  uint64_t cur = 0, max = 0;
};
absl::StatusOr<std::vector<Limit>> ParseLimits(const std::string& text);
absl::StatusOr<std::vector<Limit>> ReadLimits(pid_t pid);

// One "Key:\tvalue" line of /proc/PID/status (or of /proc/PID/fdinfo/N, written alike).
absl::StatusOr<std::string> StatusField(const std::string& status_text, const std::string& key);

// The madvise advice of each mapping, by start address, as image::Vma::Advice bits, from the
// VmFlags lines of /proc/PID/smaps (mappings with none are left out).
absl::StatusOr<std::map<uint64_t, uint32_t>> ParseVmAdvice(const std::string& smaps_text);
absl::StatusOr<std::map<uint64_t, uint32_t>> ReadVmAdvice(pid_t pid);

// One POSIX timer of /proc/PID/timers.
struct PosixTimerInfo {
  int id = 0;
  int signo = 0;
  uint64_t sigev_value = 0;
  int notify = 0;  // SIGEV_* as timer_create takes it (SIGEV_THREAD_ID or'd in for "tid")
  int clock_id = 0;
};
absl::StatusOr<std::vector<PosixTimerInfo>> ParsePosixTimers(const std::string& text);
absl::StatusOr<std::vector<PosixTimerInfo>> ReadPosixTimers(pid_t pid);

struct FdInfo {
  int64_t pos = 0;
  uint32_t flags = 0;  // octal in the file
};
absl::StatusOr<FdInfo> ParseFdInfo(const std::string& text);

// Open fd numbers of pid, ascending.
absl::StatusOr<std::vector<int>> ListFds(pid_t pid);
// The entries of `dir` that are numbers (pids under /proc, tids under /proc/PID/task, fds), sorted.
absl::StatusOr<std::vector<int>> NumberedEntries(const std::string& dir);
// The NUL-separated argv from /proc/PID/cmdline.
absl::StatusOr<std::vector<std::string>> ReadCmdline(pid_t pid);
absl::StatusOr<std::string> ReadLink(const std::string& path);

// /proc/PID/pagemap entries for [start, start + npages pages).
absl::StatusOr<std::vector<uint64_t>> ReadPagemap(int pagemap_fd, uint64_t start, size_t npages);
constexpr uint64_t kPagemapPresent = 1ull << 63;
constexpr uint64_t kPagemapSwapped = 1ull << 62;
constexpr uint64_t kPagemapFileOrShared = 1ull << 61;

}  // namespace mosix
