#include "checkpoint/internal/syscall_restart.h"

#include <sys/syscall.h>

#include <catch2/catch.hpp>

namespace mosix::internal {

user_regs_struct Stopped(long nr, long ret) {
  user_regs_struct r{};
  r.orig_rax = static_cast<uint64_t>(nr);
  r.rax = static_cast<uint64_t>(ret);
  r.rip = 0x1002;
  return r;
}

TEST_CASE("an interrupted call is rewound onto its syscall instruction") {
  for (long code : {kErestartSys, kErestartNoIntr, kErestartNoHand, kErestartRestartBlock}) {
    user_regs_struct r = Stopped(SYS_read, -code);
    std::string note = RewindInterruptedSyscall(&r);
    REQUIRE(r.rax == SYS_read);
    REQUIRE(r.rip == 0x1000);
    REQUIRE(static_cast<long>(r.orig_rax) == -1);
    REQUIRE(note == "restart read");
  }
}

TEST_CASE("a finished call, EINTR, or user code is left alone") {
  user_regs_struct r = Stopped(SYS_read, 5);
  REQUIRE(RewindInterruptedSyscall(&r) == "returning from read");
  REQUIRE(r.rip == 0x1002);
  r = Stopped(SYS_read, -4);
  RewindInterruptedSyscall(&r);
  REQUIRE(r.rip == 0x1002);
  r = Stopped(-1, 0);
  REQUIRE(RewindInterruptedSyscall(&r) == "running");
}

TEST_CASE("restart_syscall without its kernel state ends in EINTR") {
  user_regs_struct r = Stopped(SYS_restart_syscall, -kErestartRestartBlock);
  RewindInterruptedSyscall(&r);
  REQUIRE(static_cast<long>(r.rax) == -4);
  REQUIRE(r.rip == 0x1002);
}

}  // namespace mosix::internal
