#include "interceptor/syscall_table.h"

#include <sys/syscall.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include <catch2/catch.hpp>

namespace mosix::shim {

TEST_CASE("every system call of this architecture has a row, named as the kernel names it") {
  std::ifstream header("/usr/include/x86_64-linux-gnu/asm/unistd_64.h");
  REQUIRE(header.good());
  std::regex def("#define __NR_(\\w+) (\\d+)");
  std::string line;
  int seen = 0;
  while (std::getline(header, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, def)) continue;
    long nr = std::stol(m[2]);
    const SyscallEntry* e = LookupSyscall(nr);
    INFO("syscall " << nr << " " << m[1]);
    REQUIRE(e != nullptr);
    REQUIRE(std::string(e->name) == m[1].str());
    ++seen;
  }
  REQUIRE(seen > 350);
  REQUIRE(static_cast<size_t>(seen) == kSyscallTableSize);
}

TEST_CASE("rows are in number order, unique, and well formed") {
  std::set<int> nrs;
  for (size_t i = 0; i < kSyscallTableSize; ++i) {
    const SyscallEntry& e = kSyscallTable[i];
    INFO(e.name);
    REQUIRE(nrs.insert(e.nr).second);
    if (i > 0) REQUIRE(kSyscallTable[i - 1].nr < e.nr);
    REQUIRE(e.policy <= kLocalWait);
    for (const ArgSpec& a : e.args) {
      if (a.kind == kIn || a.kind == kOut || a.kind == kIovIn || a.kind == kIovOut) {
        REQUIRE((a.len == kFixed || a.len < 6));
        if (a.len < 6) REQUIRE(e.args[a.len].kind == kInt);
      }
      if (a.kind == kInOut) REQUIRE(a.len == kFixed);
      if (a.kind == kOutLen) {
        REQUIRE(a.len < 6);
        REQUIRE(e.args[a.len].kind == kInOut);  // the socklen_t, in and out
        REQUIRE(a.fixed > 0);
      }
      if (a.kind == kOutElems) {
        REQUIRE(a.len < 6);
        REQUIRE(e.args[a.len].kind == kInt);
        REQUIRE(a.fixed > 0);
      }
    }
    if (e.policy == kUnsupported) REQUIRE(std::strlen(e.note) > 0);
  }
}

TEST_CASE("the policies the deputy design depends on") {
  REQUIRE(LookupSyscall(SYS_read)->policy == kForward);
  REQUIRE(LookupSyscall(SYS_read)->args[1].kind == kOut);
  REQUIRE(LookupSyscall(SYS_write)->args[1].kind == kIn);
  REQUIRE(LookupSyscall(SYS_openat)->args[1].kind == kPath);
  REQUIRE(LookupSyscall(SYS_mmap)->policy == kLocal);
  REQUIRE(LookupSyscall(SYS_getpid)->policy == kVirtual);
  REQUIRE(LookupSyscall(SYS_getppid)->policy == kForward);
  REQUIRE(LookupSyscall(SYS_rt_sigreturn)->policy == kLocal);
  // Waits a signal must interrupt run outside the shim's handler (link_invariants.h, I4).
  for (long nr : {SYS_pause, SYS_nanosleep, SYS_clock_nanosleep, SYS_rt_sigsuspend, SYS_rt_sigtimedwait, SYS_futex,
                  SYS_restart_syscall}) {
    REQUIRE(LookupSyscall(nr)->policy == kLocalWait);
  }
  // Children and new programs are made at home: the process comes home first.
  for (long nr : {SYS_clone, SYS_fork, SYS_vfork, SYS_execve, SYS_clone3}) REQUIRE(LookupSyscall(nr)->policy == kHome);
  REQUIRE(LookupSyscall(SYS_io_setup)->policy == kUnsupported);
  REQUIRE(LookupSyscall(-1) == nullptr);
  REQUIRE(LookupSyscall(kMaxSyscall + 1) == nullptr);
}

}  // namespace mosix::shim
