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

namespace mosix::internal {

TEST_CASE("a relative sleep with a rem buffer resumes for the time left") {
  user_regs_struct r = Stopped(SYS_clock_nanosleep, -kErestartRestartBlock);
  r.rdi = 1;        // CLOCK_MONOTONIC
  r.rsi = 0;        // relative
  r.rdx = 0x5000;   // req
  r.r10 = 0x6000;   // rem: the kernel wrote the time left here
  REQUIRE(ResumeSleepFromRemaining(&r));
  REQUIRE(r.rdx == 0x6000);
  REQUIRE(r.rax == SYS_clock_nanosleep);
  REQUIRE(r.rip == 0x1000);
  REQUIRE(static_cast<long>(r.orig_rax) == -1);
  r = Stopped(SYS_nanosleep, -kErestartRestartBlock);
  r.rdi = 0x5000;
  r.rsi = 0x6000;
  REQUIRE(ResumeSleepFromRemaining(&r));
  REQUIRE(r.rdi == 0x6000);
}

TEST_CASE("sleeps without rem, absolute sleeps and other calls are not redirected") {
  user_regs_struct r = Stopped(SYS_nanosleep, -kErestartRestartBlock);
  r.rsi = 0;
  REQUIRE(!ResumeSleepFromRemaining(&r));
  r = Stopped(SYS_clock_nanosleep, -kErestartRestartBlock);
  r.rsi = 1;  // TIMER_ABSTIME
  r.r10 = 0x6000;
  REQUIRE(!ResumeSleepFromRemaining(&r));
  r = Stopped(SYS_poll, -kErestartRestartBlock);
  REQUIRE(!ResumeSleepFromRemaining(&r));
  r = Stopped(SYS_nanosleep, -kErestartSys);
  r.rsi = 0x6000;
  REQUIRE(!ResumeSleepFromRemaining(&r));
  REQUIRE(r.rip == 0x1002);
}

}  // namespace mosix::internal
