// How a thread caught inside a system call is rewound so that, once restored, it re-enters
// the call as the kernel would have restarted it. Internal to checkpoint/.
#pragma once

#include <sys/user.h>

#include <string>

namespace mosix::internal {

// Kernel-internal return codes a stopped thread can show in rax (include/linux/errno.h).
constexpr long kErestartSys = 512;
constexpr long kErestartNoIntr = 513;
constexpr long kErestartNoHand = 514;
constexpr long kErestartRestartBlock = 516;

// Whether a stopped thread's rax says its system call was interrupted with nothing done.
inline bool IsRestartReturn(long rax) {
  return rax == -kErestartSys || rax == -kErestartNoIntr || rax == -kErestartNoHand || rax == -kErestartRestartBlock;
}

// Rewinds regs (in place) when the thread was stopped on its way out of an interrupted
// system call; returns a note for the image ("running", "restart read", ...).
//
// ERESTART_RESTARTBLOCK (relative sleeps, poll with a timeout) would resume through
// restart_syscall(2), whose saved state lives in the kernel and does not survive: the
// original call is re-entered with its original arguments instead. The shim turns relative
// sleeps into absolute deadlines, so for programs under mosrun this is exact.
std::string RewindInterruptedSyscall(user_regs_struct* regs);

// A relative sleep (nanosleep, or clock_nanosleep without TIMER_ABSTIME) that was given a
// `rem` buffer and caught on its way to restart_syscall: the kernel has just written the time
// left into rem. Rewrites regs (the unrewound ones) to re-enter the same call with req := rem,
// which sleeps exactly the rest; returns false (regs untouched) for anything else. Applied to
// the live process too, so it never waits in restart_syscall, whose state lives in the kernel
// and could not be saved by a later checkpoint.
bool ResumeSleepFromRemaining(user_regs_struct* regs);

// Calls that the kernel ends with a plain EINTR, not a restart code, when a tracer merely stops
// the thread (PTRACE_INTERRUPT), as after SIGSTOP/SIGCONT (signal(7)): sigtimedwait, epoll
// waits, semop. Caught so with no signal it could have been for, such a call is rewound to be
// made again (regs in place); returns whether it was.
bool UndoStopEintr(user_regs_struct* regs, bool signal_deliverable);

// The name of a system call number, for messages ("syscall 999" when unknown).
std::string SyscallName(long nr);

}  // namespace mosix::internal
