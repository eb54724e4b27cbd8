#include "agent/cluster/node_meter.h"

#include <sched.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/file_util.h"
#include "checkpoint/procfs.h"

namespace mosix::agent {
namespace {

// The cgroup-v1 directory of this process for `controller` (as /proc/self/cgroup says), or "".
std::string OwnCgroup(const std::string& controller) {
  auto text = ReadFileToString("/proc/self/cgroup");
  if (!text.ok()) return "";
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (parts.size() != 3) continue;
    for (absl::string_view c : absl::StrSplit(parts[1], ',')) {
      if (c == controller) return absl::StrCat("/sys/fs/cgroup/", controller, parts[2] == "/" ? "" : parts[2]);
    }
  }
  return "";
}

std::optional<int64_t> ReadNumber(const std::string& path) {
  auto text = ReadFileToString(path);
  int64_t v;
  if (!text.ok() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &v)) return std::nullopt;
  return v;
}

// The numbered entries of a /proc directory; none if it is gone.
std::vector<int> Numbers(const std::string& dir) { return NumberedEntries(dir).value_or(std::vector<int>{}); }

// Seconds of this thread's CPU for `iterations` of a dependent chain of integer work (xorshift).
// Optimized the same in every build, so that the speed measured does not depend on it.
__attribute__((optimize("O2"), noinline)) double TimedLoop(int iterations) {
  timespec a, b;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
  volatile uint64_t x = 88172645463325252ull;
  uint64_t v = x;
  for (int i = 0; i < iterations; ++i) {
    v ^= v << 13;
    v ^= v >> 7;
    v ^= v << 17;
  }
  x = v;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  return static_cast<double>(b.tv_sec - a.tv_sec) + static_cast<double>(b.tv_nsec - a.tv_nsec) / 1e9;
}

}  // namespace

NodeMeter::NodeMeter(bool node_is_cgroup) {
  if (!node_is_cgroup) return;
  cpu_cgroup_ = OwnCgroup("cpu");
  memory_cgroup_ = OwnCgroup("memory");
  // A memory cgroup with no limit of its own is not the node's: its memory is the machine's.
  auto limit = ReadNumber(memory_cgroup_ + "/memory.limit_in_bytes");
  if (!limit || *limit >= (int64_t{1} << 60)) memory_cgroup_.clear();
}

double NodeMeter::Cpus() const {
  cpu_set_t set;
  double online = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  if (cpu_cgroup_.empty()) return online;
  auto quota = ReadNumber(cpu_cgroup_ + "/cpu.cfs_quota_us");
  auto period = ReadNumber(cpu_cgroup_ + "/cpu.cfs_period_us");
  if (!quota || !period || *quota <= 0 || *period <= 0) return online;
  return std::min(online, static_cast<double>(*quota) / static_cast<double>(*period));
}

double NodeMeter::Runnable() {
  std::vector<pid_t> tasks;
  if (!cpu_cgroup_.empty()) {
    auto text = ReadFileToString(cpu_cgroup_ + "/tasks");
    if (text.ok()) {
      for (absl::string_view t : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
        int v;
        if (absl::SimpleAtoi(t, &v)) tasks.push_back(v);
      }
    }
  } else {
    for (int p : Numbers("/proc")) {
      for (int t : Numbers("/proc/" + std::to_string(p) + "/task")) tasks.push_back(t);
    }
  }
  // The agent's own threads are not the node's load: what they do is the moves' cost, which
  // the decisions weigh apart, and on a small node a move's work would make it look busy.
  std::vector<int> own = Numbers("/proc/self/task");  // (sorted)
  tasks.erase(std::remove_if(tasks.begin(), tasks.end(), [&](pid_t t) { return std::binary_search(own.begin(), own.end(), t); }),
              tasks.end());
  auto now = std::chrono::steady_clock::now();
  bool first = last_ == std::chrono::steady_clock::time_point{};
  uint64_t interval = first ? 0 : static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count());
  last_ = now;
  std::unordered_map<pid_t, uint64_t> busy;
  busy.reserve(tasks.size());
  uint64_t sum = 0;
  for (pid_t t : tasks) {
    uint64_t b = TaskBusyNs(t);
    busy[t] = b;
    auto it = busy_ns_.find(t);
    // A task not seen before started within the interval (after the first measure).
    sum += it != busy_ns_.end() ? (b > it->second ? b - it->second : 0) : std::min(b, interval);
  }
  busy_ns_ = std::move(busy);
  return interval == 0 ? 0 : static_cast<double>(sum) / static_cast<double>(interval);
}

void NodeMeter::Memory(NodeMeasure* m) const {
  uint64_t total = 0, available = 0;
  auto info = ReadFileToString("/proc/meminfo");
  if (info.ok()) {
    for (absl::string_view line : absl::StrSplit(*info, '\n')) {
      uint64_t kb;
      std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() < 2 || !absl::SimpleAtoi(f[1], &kb)) continue;
      if (f[0] == "MemTotal:") total = kb * 1024;
      if (f[0] == "MemAvailable:") available = kb * 1024;
    }
  }
  if (!memory_cgroup_.empty()) {
    auto limit = ReadNumber(memory_cgroup_ + "/memory.limit_in_bytes");
    auto usage = ReadNumber(memory_cgroup_ + "/memory.usage_in_bytes");
    // Page cache the kernel can drop does not count as used.
    uint64_t reclaimable = 0;
    auto stat = ReadFileToString(memory_cgroup_ + "/memory.stat");
    if (stat.ok()) {
      for (absl::string_view line : absl::StrSplit(*stat, '\n')) {
        std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
        uint64_t v;
        if (f.size() == 2 && f[0] == "total_inactive_file" && absl::SimpleAtoi(f[1], &v)) reclaimable = v;
      }
    }
    if (limit && usage && *limit > 0) {
      uint64_t used = static_cast<uint64_t>(std::max<int64_t>(0, *usage)) - std::min<uint64_t>(reclaimable, *usage);
      uint64_t lim = static_cast<uint64_t>(*limit);
      if (total == 0 || lim < total) total = lim;
      available = std::min(available ? available : total, lim > used ? lim - used : 0);
    }
  }
  m->mem_total_mb = total >> 20;
  m->mem_free_mb = available >> 20;
}

NodeMeasure NodeMeter::Measure() {
  NodeMeasure m;
  m.cpus = Cpus();
  m.runnable = Runnable();
  Memory(&m);
  return m;
}

double NodeMeter::CalibrateSpeed() {
  // Iterations a standard CPU does in a CPU-second (this project's build machine: 1.0).
  constexpr double kStandard = 4.0e8;
  double best = 0;
  constexpr int kIterations = 8'000'000;  // about 20 ms
  for (int round = 0; round < 3; ++round) {
    double s = TimedLoop(kIterations);
    if (s > 0) best = std::max(best, kIterations / s);
  }
  if (best <= 0) return 1;
  return std::max(0.1, std::round(best / kStandard * 10) / 10);
}

}  // namespace mosix::agent
