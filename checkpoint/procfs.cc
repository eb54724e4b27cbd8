#include "checkpoint/procfs.h"

#include <dirent.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/file_util.h"
#include "proto/image/mm.pb.h"
#include "base/status.h"

namespace mosix {
namespace {

bool ParseHex(absl::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::string tmp(s);
  *out = strtoull(tmp.c_str(), &end, 16);
  return end && *end == '\0';
}

}  // namespace

absl::StatusOr<std::vector<MapEntry>> ParseMaps(const std::string& text) {
  std::vector<MapEntry> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    // start-end perms offset dev inode [path]
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(' ', 5));
    if (f.size() < 5) return absl::DataLossError(absl::StrCat("malformed maps line: ", line));
    MapEntry e;
    std::pair<absl::string_view, absl::string_view> range = absl::StrSplit(f[0], '-');
    std::pair<absl::string_view, absl::string_view> dev = absl::StrSplit(f[3], ':');
    uint64_t maj = 0, min = 0;
    if (!ParseHex(range.first, &e.start) || !ParseHex(range.second, &e.end) ||
        !ParseHex(f[2], &e.offset) || !ParseHex(dev.first, &maj) || !ParseHex(dev.second, &min) ||
        f[1].size() != 4) {
      return absl::DataLossError(absl::StrCat("malformed maps line: ", line));
    }
    e.dev_major = maj;
    e.dev_minor = min;
    absl::string_view rest = f.size() > 5 ? f[5] : "";
    // inode, then spaces, then the path (which may contain spaces).
    size_t sp = rest.find(' ');
    absl::string_view ino = sp == absl::string_view::npos ? rest : rest.substr(0, sp);
    if (!absl::SimpleAtoi(f[4], &e.inode)) {
      return absl::DataLossError(absl::StrCat("malformed maps line: ", line));
    }
    (void)ino;
    absl::string_view path = rest;
    while (!path.empty() && path.front() == ' ') path.remove_prefix(1);
    e.path = std::string(path);
    e.prot = (f[1][0] == 'r' ? PROT_READ : 0) | (f[1][1] == 'w' ? PROT_WRITE : 0) |
             (f[1][2] == 'x' ? PROT_EXEC : 0);
    e.shared = f[1][3] == 's';
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<std::vector<MapEntry>> ReadMaps(pid_t pid) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(absl::StrCat("/proc/", pid, "/maps")));
  return ParseMaps(text);
}

absl::StatusOr<ProcStat> ParseStat(const std::string& text) {
  size_t paren = text.rfind(')');
  if (paren == std::string::npos) return absl::DataLossError("malformed stat: no ')'");
  std::vector<std::string> f = absl::StrSplit(text.substr(paren + 2), ' ', absl::SkipEmpty());
  // f[0] is field 3 (state); field N is f[N - 3].
  if (f.size() < 49) return absl::DataLossError(absl::StrCat("malformed stat: ", f.size(), " fields"));
  auto u = [&](int field) -> uint64_t {
    uint64_t v = 0;
    (void)absl::SimpleAtoi(f[field - 3], &v);
    return v;
  };
  ProcStat st;
  st.state = f[0][0];
  st.ppid = static_cast<int>(u(4));
  st.session = static_cast<int>(u(6));
  st.utime = u(14);
  st.stime = u(15);
  (void)absl::SimpleAtoi(f[19 - 3], &st.nice);
  st.num_threads = u(20);
  st.start_time = u(22);
  st.rss_pages = u(24);
  st.start_code = u(26);
  st.end_code = u(27);
  st.start_stack = u(28);
  st.start_data = u(45);
  st.end_data = u(46);
  st.start_brk = u(47);
  st.arg_start = u(48);
  st.arg_end = u(49);
  st.env_start = u(50);
  st.env_end = u(51);
  return st;
}

absl::StatusOr<ProcStat> ReadStat(pid_t pid) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(absl::StrCat("/proc/", pid, "/stat")));
  return ParseStat(text);
}

absl::StatusOr<uint64_t> StatusMask(const std::string& status_text, const std::string& key) {
  ASSIGN_OR_RETURN(std::string hex, StatusField(status_text, key));
  uint64_t mask = 0;
  if (!absl::SimpleHexAtoi(hex, &mask)) return absl::DataLossError(absl::StrCat("bad ", key, " '", hex, "' in a status file"));
  return mask;
}

absl::StatusOr<uint64_t> CaughtOrIgnoredSignals(pid_t pid) {
  ASSIGN_OR_RETURN(std::string status, ReadFileToString(absl::StrCat("/proc/", pid, "/status")));
  ASSIGN_OR_RETURN(uint64_t caught, StatusMask(status, "SigCgt"));
  ASSIGN_OR_RETURN(uint64_t ignored, StatusMask(status, "SigIgn"));
  return caught | ignored;
}

absl::StatusOr<bool> HasDeliverableSignal(pid_t pid) {
  ASSIGN_OR_RETURN(std::string status, ReadFileToString(absl::StrCat("/proc/", pid, "/status")));
  ASSIGN_OR_RETURN(uint64_t own, StatusMask(status, "SigPnd"));
  ASSIGN_OR_RETURN(uint64_t shared, StatusMask(status, "ShdPnd"));
  ASSIGN_OR_RETURN(uint64_t blocked, StatusMask(status, "SigBlk"));
  return ((own | shared) & ~blocked) != 0;
}

absl::StatusOr<std::vector<Limit>> ParseLimits(const std::string& text) {
  std::vector<Limit> out;
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  // "Max cpu time              unlimited            unlimited            seconds": the name is
  // 25 wide, each limit 20, one space apart.
  constexpr size_t kSoft = 26, kHard = 47, kWidth = 20;
  for (size_t i = 1; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    if (line.size() < kHard + 1) return absl::DataLossError(absl::StrCat("short line in limits: '", line, "'"));
    auto value = [&](size_t at, uint64_t* v) {
      absl::string_view f = absl::StripAsciiWhitespace(line.substr(at, kWidth));
      if (f == "unlimited") {
        *v = ~0ull;
        return true;
      }
      return absl::SimpleAtoi(f, v);
    };
    Limit l;
    if (!value(kSoft, &l.cur) || !value(kHard, &l.max)) return absl::DataLossError(absl::StrCat("bad limits line: '", line, "'"));
    out.push_back(l);
  }
  if (out.empty()) return absl::DataLossError("no limits");
  return out;
}

absl::StatusOr<std::vector<Limit>> ReadLimits(pid_t pid) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(absl::StrCat("/proc/", pid, "/limits")));
  return ParseLimits(text);
}

Usage UsageOf(pid_t pid) {
  Usage u;
  if (auto st = ReadStat(pid); st.ok()) {
    u.cpu_seconds = static_cast<double>(st->utime + st->stime) / sysconf(_SC_CLK_TCK);
    u.rss_kb = st->rss_pages * 4;
    u.runnable = st->state == 'R';
  }
  if (auto tids = NumberedEntries(absl::StrCat("/proc/", pid, "/task")); tids.ok()) {
    for (int tid : *tids) u.busy_ns += TaskBusyNs(tid);
  }
  auto status = ReadFileToString(absl::StrCat("/proc/", pid, "/status"));
  if (!status.ok()) return u;
  auto rss = StatusField(*status, "VmRSS");
  uint64_t kb = 0;
  if (rss.ok() && absl::SimpleAtoi(absl::StripSuffix(*rss, " kB"), &kb)) u.rss_kb = kb;
  return u;
}

uint64_t TaskBusyNs(pid_t tid) {
  auto text = ReadFileToString(absl::StrCat("/proc/", tid, "/schedstat"));
  if (!text.ok()) return 0;
  std::vector<absl::string_view> f = absl::StrSplit(*text, ' ', absl::SkipEmpty());
  uint64_t run = 0, wait = 0;
  if (f.size() < 2 || !absl::SimpleAtoi(f[0], &run) || !absl::SimpleAtoi(f[1], &wait)) return 0;
  return run + wait;
}

absl::StatusOr<std::string> StatusField(const std::string& status_text, const std::string& key) {
  for (absl::string_view line : absl::StrSplit(status_text, '\n')) {
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      absl::string_view v = line.substr(key.size() + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      return std::string(v);
    }
  }
  return absl::NotFoundError(absl::StrCat("no ", key, " in status"));
}

absl::StatusOr<FdInfo> ParseFdInfo(const std::string& text) {
  FdInfo info;
  bool have_pos = false, have_flags = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, absl::MaxSplits(':', 1));
    absl::string_view v = kv.second;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    if (kv.first == "pos") {
      have_pos = absl::SimpleAtoi(v, &info.pos);
    } else if (kv.first == "flags") {
      info.flags = static_cast<uint32_t>(strtoul(std::string(v).c_str(), nullptr, 8));
      have_flags = true;
    }
  }
  if (!have_pos || !have_flags) return absl::DataLossError("malformed fdinfo");
  return info;
}

absl::StatusOr<std::vector<int>> NumberedEntries(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return ErrnoStatus("opendir", dir);
  std::vector<int> out;
  while (dirent* e = readdir(d)) {
    int v;
    if (absl::SimpleAtoi(e->d_name, &v)) out.push_back(v);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::vector<int>> ListFds(pid_t pid) { return NumberedEntries(absl::StrCat("/proc/", pid, "/fd")); }

absl::StatusOr<std::vector<std::string>> ReadCmdline(pid_t pid) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(absl::StrCat("/proc/", pid, "/cmdline")));
  std::vector<std::string> argv;
  if (!text.empty() && text.back() == '\0') text.pop_back();
  if (text.empty()) return argv;
  for (absl::string_view a : absl::StrSplit(text, '\0')) argv.emplace_back(a);
  return argv;
}

absl::StatusOr<std::string> ReadLink(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n < 0) return ErrnoStatus("readlink", path);
  return std::string(buf, n);
}

absl::StatusOr<std::vector<uint64_t>> ReadPagemap(int pagemap_fd, uint64_t start, size_t npages) {
  std::vector<uint64_t> out(npages);
  size_t done = 0;
  while (done < npages) {
    ssize_t n = ::pread(pagemap_fd, out.data() + done, (npages - done) * 8,
                        static_cast<off_t>((start / 4096 + done) * 8));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("pread", "pagemap");
    }
    if (n == 0) return absl::DataLossError("pagemap: short read");
    done += n / 8;
  }
  return out;
}

}  // namespace mosix

namespace mosix {

absl::StatusOr<std::vector<PosixTimerInfo>> ParsePosixTimers(const std::string& text) {
  std::vector<PosixTimerInfo> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    auto bad = [&] { return absl::DataLossError(absl::StrCat("unexpected line in /proc/PID/timers: '", line, "'")); };
    if (absl::ConsumePrefix(&line, "ID: ")) {
      out.emplace_back();
      if (!absl::SimpleAtoi(line, &out.back().id)) return bad();
      continue;
    }
    if (out.empty()) return bad();
    PosixTimerInfo& t = out.back();
    if (absl::ConsumePrefix(&line, "signal: ")) {  // 10/0000000000001234
      std::pair<absl::string_view, absl::string_view> sv = absl::StrSplit(line, absl::MaxSplits('/', 1));
      if (!absl::SimpleAtoi(sv.first, &t.signo) || !absl::SimpleHexAtoi(sv.second, &t.sigev_value)) return bad();
    } else if (absl::ConsumePrefix(&line, "notify: ")) {  // signal/pid.123, none/pid.1, signal/tid.5
      std::pair<absl::string_view, absl::string_view> kind = absl::StrSplit(line, absl::MaxSplits('/', 1));
      if (kind.first == "signal") {
        t.notify = SIGEV_SIGNAL;
      } else if (kind.first == "none") {
        t.notify = SIGEV_NONE;
      } else if (kind.first == "thread") {
        t.notify = SIGEV_THREAD;
      } else {
        return bad();
      }
      if (absl::StartsWith(kind.second, "tid.")) t.notify |= SIGEV_THREAD_ID;
    } else if (absl::ConsumePrefix(&line, "ClockID: ")) {
      if (!absl::SimpleAtoi(line, &t.clock_id)) return bad();
    } else {
      return bad();
    }
  }
  return out;
}

absl::StatusOr<std::vector<PosixTimerInfo>> ReadPosixTimers(pid_t pid) {
  std::string path = absl::StrCat("/proc/", pid, "/timers");
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  return ParsePosixTimers(*text);
}

}  // namespace mosix

namespace mosix {

absl::StatusOr<std::map<uint64_t, uint32_t>> ParseVmAdvice(const std::string& text) {
  static const std::pair<const char*, uint32_t> kFlags[] = {
      {"dc", image::Vma::DONTFORK},   {"wf", image::Vma::WIPEONFORK}, {"dd", image::Vma::DONTDUMP},
      {"hg", image::Vma::HUGEPAGE},   {"nh", image::Vma::NOHUGEPAGE}, {"mg", image::Vma::MERGEABLE},
      {"sr", image::Vma::SEQUENTIAL}, {"rr", image::Vma::RANDOM},
  };
  std::map<uint64_t, uint32_t> out;
  bool have = false;
  uint64_t start = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, "VmFlags:")) {
      if (!have) return absl::DataLossError("smaps: VmFlags before any mapping");
      uint32_t advice = 0;
      for (absl::string_view flag : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
        for (const auto& [name, bit] : kFlags) {
          if (flag == name) advice |= bit;
        }
      }
      if (advice) out[start] = advice;
      continue;
    }
    // A mapping's first line starts with "start-end "; the others with "Name:".
    size_t dash = line.find('-');
    size_t space = line.find(' ');
    if (dash != absl::string_view::npos && space != absl::string_view::npos && dash < space &&
        line.substr(0, space).find(':') == absl::string_view::npos) {
      if (!absl::SimpleHexAtoi(line.substr(0, dash), &start)) return absl::DataLossError(absl::StrCat("smaps: '", line, "'"));
      have = true;
    }
  }
  return out;
}

absl::StatusOr<std::map<uint64_t, uint32_t>> ReadVmAdvice(pid_t pid) {
  auto text = ReadFileToString(absl::StrCat("/proc/", pid, "/smaps"));
  if (!text.ok()) return text.status();
  return ParseVmAdvice(*text);
}

}  // namespace mosix
