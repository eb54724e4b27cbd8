#include "checkpoint/internal/syscall_restart.h"

#include <sys/syscall.h>

#include "absl/strings/str_cat.h"

namespace mosix::internal {

std::string SyscallName(long nr) {
  switch (nr) {
    case SYS_read: return "read";
    case SYS_write: return "write";
    case SYS_readv: return "readv";
    case SYS_writev: return "writev";
    case SYS_pread64: return "pread64";
    case SYS_nanosleep: return "nanosleep";
    case SYS_clock_nanosleep: return "clock_nanosleep";
    case SYS_pause: return "pause";
    case SYS_poll: return "poll";
    case SYS_ppoll: return "ppoll";
    case SYS_select: return "select";
    case SYS_pselect6: return "pselect6";
    case SYS_wait4: return "wait4";
    case SYS_waitid: return "waitid";
    case SYS_futex: return "futex";
    case SYS_rt_sigsuspend: return "rt_sigsuspend";
    case SYS_rt_sigtimedwait: return "rt_sigtimedwait";
    case SYS_epoll_wait: return "epoll_wait";
    case SYS_epoll_pwait: return "epoll_pwait";
    case SYS_accept: return "accept";
    case SYS_accept4: return "accept4";
    case SYS_recvfrom: return "recvfrom";
    case SYS_restart_syscall: return "restart_syscall";
    default: return absl::StrCat("syscall ", nr);
  }
}

bool ResumeSleepFromRemaining(user_regs_struct* regs) {
  long nr = static_cast<long>(regs->orig_rax);
  if (static_cast<long>(regs->rax) != -kErestartRestartBlock) return false;
  constexpr uint64_t kTimerAbstime = 1;
  if (nr == SYS_nanosleep && regs->rsi != 0) {
    regs->rdi = regs->rsi;
  } else if (nr == SYS_clock_nanosleep && !(regs->rsi & kTimerAbstime) && regs->r10 != 0) {
    regs->rdx = regs->r10;
  } else {
    return false;
  }
  regs->rax = static_cast<uint64_t>(nr);
  regs->rip -= 2;
  regs->orig_rax = static_cast<uint64_t>(-1);
  return true;
}

bool UndoStopEintr(user_regs_struct* regs, bool signal_deliverable) {
  long nr = static_cast<long>(regs->orig_rax);
  if (signal_deliverable || static_cast<long>(regs->rax) != -4 /* EINTR */) return false;
  switch (nr) {
    case SYS_rt_sigtimedwait:
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
    case 441:  // epoll_pwait2
    case SYS_semop:
    case SYS_semtimedop:
      break;
    default:
      return false;
  }
  regs->rax = static_cast<uint64_t>(nr);
  regs->rip -= 2;
  regs->orig_rax = static_cast<uint64_t>(-1);
  return true;
}

std::string RewindInterruptedSyscall(user_regs_struct* regs) {
  long nr = static_cast<long>(regs->orig_rax);
  long ret = static_cast<long>(regs->rax);
  if (nr < 0) return "running";
  switch (-ret) {
    case kErestartSys:
    case kErestartNoIntr:
    case kErestartNoHand:
    case kErestartRestartBlock:
      break;
    default:
      return absl::StrCat("returning from ", SyscallName(nr));
  }
  if (nr == SYS_restart_syscall) {
    // Already inside a restarted call whose original is unknown: let it end with EINTR,
    // which is what the kernel itself does when the restart block is gone.
    regs->rax = static_cast<uint64_t>(-4);
    regs->orig_rax = static_cast<uint64_t>(-1);
    return "restart_syscall interrupted (EINTR)";
  }
  regs->rax = static_cast<uint64_t>(nr);
  regs->rip -= 2;  // back onto the `syscall` instruction
  regs->orig_rax = static_cast<uint64_t>(-1);
  return absl::StrCat("restart ", SyscallName(nr));
}

}  // namespace mosix::internal
