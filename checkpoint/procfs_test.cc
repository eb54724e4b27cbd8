#include "checkpoint/procfs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/image/mm.pb.h"

#include <cstring>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"

namespace mosix {

TEST_CASE("maps lines parse, paths with spaces included") {
  auto maps = ParseMaps(
      "559f3e885000-559f3e887000 r--p 00000000 fe:00 247134                     /usr/bin/cat\n"
      "7f8b9725d000-7f8b97264000 r--s 00001000 fe:00 332280   /tmp/a file (deleted)\n"
      "7f8b97267000-7f8b9726b000 r--p 00000000 00:00 0                          [vvar]\n"
      "7ffd5ea82000-7ffd5eaa3000 rw-p 00000000 00:00 0                          [stack]\n"
      "7f8b97074000-7f8b97077000 rw-p 00000000 00:00 0 \n");
  REQUIRE(maps.ok());
  REQUIRE(maps->size() == 5);
  const MapEntry& cat = (*maps)[0];
  REQUIRE(cat.start == 0x559f3e885000);
  REQUIRE(cat.end == 0x559f3e887000);
  REQUIRE(cat.prot == PROT_READ);
  REQUIRE(cat.dev_major == 0xfe);
  REQUIRE(cat.inode == 247134);
  REQUIRE(cat.path == "/usr/bin/cat");
  REQUIRE((*maps)[1].shared);
  REQUIRE((*maps)[1].offset == 0x1000);
  REQUIRE((*maps)[1].path == "/tmp/a file (deleted)");
  REQUIRE((*maps)[2].IsSpecial());
  REQUIRE((*maps)[3].prot == (PROT_READ | PROT_WRITE));
  REQUIRE((*maps)[4].path.empty());
}

TEST_CASE("a malformed maps line is an error, not a crash") {
  REQUIRE(!ParseMaps("zzz\n").ok());
  REQUIRE(!ParseMaps("1000-2000 rw 0 0:0 0\n").ok());
}

TEST_CASE("stat of this process parses") {
  auto st = ReadStat(getpid());
  REQUIRE(st.ok());
  REQUIRE(st->state == 'R');
  REQUIRE(st->ppid == getppid());
  REQUIRE(st->num_threads >= 1);
  REQUIRE(st->arg_start < st->arg_end);
  REQUIRE(st->start_brk > 0);
}

TEST_CASE("stat tolerates a comm with spaces and parentheses") {
  std::string line = "42 (a (b) c) S 1";
  for (int i = 5; i <= 52; ++i) line += absl::StrCat(" ", i);
  auto st = ParseStat(line);
  REQUIRE(st.ok());
  REQUIRE(st->state == 'S');
  REQUIRE(st->start_time == 22);
  REQUIRE(st->nice == 19);
  REQUIRE(st->env_end == 51);
}

TEST_CASE("stat gives the nice value, negative ones too") {
  std::string line = "42 (x) S 1";
  for (int i = 5; i <= 52; ++i) line += absl::StrCat(" ", i == 19 ? -5 : i);
  auto st = ParseStat(line);
  REQUIRE(st.ok());
  REQUIRE(st->nice == -5);
}

TEST_CASE("fdinfo gives offset and flags") {
  auto info = ParseFdInfo("pos:\t123\nflags:\t02100002\nmnt_id:\t25\nino:\t7\n");
  REQUIRE(info.ok());
  REQUIRE(info->pos == 123);
  REQUIRE(info->flags == 02100002);
  REQUIRE(!ParseFdInfo("garbage").ok());
}

TEST_CASE("pagemap tells touched pages from untouched") {
  const size_t n = 8;
  char* p = static_cast<char*>(mmap(nullptr, n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(p != MAP_FAILED);
  p[0] = 1;
  p[3 * 4096] = 1;
  int fd = open("/proc/self/pagemap", O_RDONLY);
  REQUIRE(fd >= 0);
  auto pm = ReadPagemap(fd, reinterpret_cast<uint64_t>(p), n);
  close(fd);
  REQUIRE(pm.ok());
  for (size_t i = 0; i < n; ++i) {
    bool present = ((*pm)[i] & kPagemapPresent) != 0;
    REQUIRE(present == (i == 0 || i == 3));
  }
  munmap(p, n * 4096);
}

TEST_CASE("status fields and fds of this process") {
  auto umask_line = StatusField("Name:\tx\nUmask:\t0022\nState:\tR\n", "Umask");
  REQUIRE(umask_line.ok());
  REQUIRE(*umask_line == "0022");
  REQUIRE(!StatusField("Name:\tx\n", "Umask").ok());
  auto fds = ListFds(getpid());
  REQUIRE(fds.ok());
  REQUIRE(!fds->empty());
}


// Polls UsageOf(pid).runnable until it is `want` (a child may be seen in either state for a
// moment after fork): 20 s at most.
static bool SeenRunnable(pid_t pid, bool want) {
  for (int i = 0; i < 2000; ++i) {
    if (UsageOf(pid).runnable == want) return true;
    usleep(10000);
  }
  return false;
}

TEST_CASE("usage tells a process that computes from one that sleeps") {
  pid_t sleeper = fork();
  REQUIRE(sleeper >= 0);
  if (sleeper == 0) {
    for (;;) pause();
  }
  pid_t spinner = fork();
  REQUIRE(spinner >= 0);
  if (spinner == 0) {
    for (volatile unsigned long n = 0;; n = n + 1) {
    }
  }
  CHECK(SeenRunnable(sleeper, false));
  CHECK(SeenRunnable(spinner, true));
  // (Runnable before it first ran, it may show no time yet: its time grows once it runs.)
  bool busy = false;
  for (int i = 0; i < 2000 && !busy; ++i) {
    busy = UsageOf(spinner).busy_ns > 0;
    if (!busy) usleep(10000);
  }
  CHECK(busy);
  kill(sleeper, SIGKILL);
  kill(spinner, SIGKILL);
  waitpid(sleeper, nullptr, 0);
  waitpid(spinner, nullptr, 0);
  CHECK(!UsageOf(spinner).runnable);  // (gone: zeros)
}

TEST_CASE("limits parse in resource order, unlimited as all ones") {
  const std::string text =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max cpu time              unlimited            unlimited            seconds   \n"
      "Max file size             1024                 unlimited            bytes     \n"
      "Max open files            1024                 524288               files     \n";
  auto l = ParseLimits(text);
  REQUIRE(l.ok());
  REQUIRE(l->size() == 3);
  CHECK((*l)[0].cur == ~0ull);
  CHECK((*l)[1].cur == 1024);
  CHECK((*l)[1].max == ~0ull);
  CHECK((*l)[2].max == 524288);
  CHECK(!ParseLimits("Limit\nMax cpu time  garbage\n").ok());
  auto mine = ReadLimits(getpid());
  REQUIRE(mine.ok());
  CHECK(mine->size() == RLIM_NLIMITS);
}

}  // namespace mosix

namespace mosix {
namespace {

TEST_CASE("POSIX timers as /proc/PID/timers lists them") {
  auto t = ParsePosixTimers(
      "ID: 0\nsignal: 10/0000000000001234\nnotify: signal/pid.18469\nClockID: 1\n"
      "ID: 3\nsignal: 14/0000000000000000\nnotify: none/pid.18469\nClockID: 0\n"
      "ID: 4\nsignal: 12/00007f0000000001\nnotify: signal/tid.18470\nClockID: 1\n");
  REQUIRE(t.ok());
  REQUIRE(t->size() == 3);
  REQUIRE((*t)[0].id == 0);
  REQUIRE((*t)[0].signo == 10);
  REQUIRE((*t)[0].sigev_value == 0x1234);
  REQUIRE((*t)[0].notify == SIGEV_SIGNAL);
  REQUIRE((*t)[0].clock_id == 1);
  REQUIRE((*t)[1].notify == SIGEV_NONE);
  REQUIRE((*t)[2].notify == (SIGEV_SIGNAL | SIGEV_THREAD_ID));
  REQUIRE((*t)[2].sigev_value == 0x7f0000000001);
  REQUIRE(ParsePosixTimers("").ok());
  REQUIRE_FALSE(ParsePosixTimers("signal: 10/0\n").ok());        // before any ID
  REQUIRE_FALSE(ParsePosixTimers("ID: x\n").ok());
  REQUIRE_FALSE(ParsePosixTimers("ID: 1\nnotify: bogus/pid.1\n").ok());
}

}  // namespace
}  // namespace mosix

namespace mosix {
namespace {

TEST_CASE("madvise advice from the VmFlags of /proc/PID/smaps") {
  auto a = ParseVmAdvice(
      "7f0000000000-7f0000010000 rw-p 00000000 00:00 0 \n"
      "Size:                 64 kB\n"
      "VmFlags: rd wr mr mw me dc ac wf \n"
      "7f0000010000-7f0000020000 rw-p 00000000 00:00 0 \n"
      "Size:                 64 kB\n"
      "VmFlags: rd wr mr mw me ac \n"
      "7f0000020000-7f0000030000 r--p 00000000 fe:00 1234   /usr/lib/x.so\n"
      "VmFlags: rd mr mw me dd hg rr \n");
  REQUIRE(a.ok());
  REQUIRE(a->size() == 2);
  REQUIRE(a->at(0x7f0000000000) == (image::Vma::DONTFORK | image::Vma::WIPEONFORK));
  REQUIRE(a->at(0x7f0000020000) == (image::Vma::DONTDUMP | image::Vma::HUGEPAGE | image::Vma::RANDOM));
  REQUIRE_FALSE(ParseVmAdvice("VmFlags: dc\n").ok());
}

}  // namespace
}  // namespace mosix
