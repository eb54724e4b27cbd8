// A traced process: a thin, Status-returning wrapper over ptrace(2) and the memory calls.
//
// Task::Seize attaches with PTRACE_SEIZE, interrupts, and waits until the tracee is in a
// ptrace-stop. While a Task exists the tracee stays stopped between the operations we ask
// for; the destructor detaches (PTRACE_DETACH) unless Release() or Kill() was called.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/fd.h"
#include "checkpoint/remote_ptr.h"

namespace mosix {

struct RseqConfig {
  uint64_t address = 0;
  uint32_t length = 0;
  uint32_t signature = 0;
  uint32_t flags = 0;
};

// One piece of a scatter/gather memory transfer.
struct RemoteRange {
  uint64_t addr;
  size_t len;
};

class Task {
 public:
  // Attaches to pid and stops it. Refuses a pid that does not exist or cannot be traced.
  static absl::StatusOr<Task> Seize(pid_t pid);

  Task(Task&& o) noexcept;
  Task& operator=(Task&&) = delete;
  Task(const Task&) = delete;
  ~Task();

  pid_t pid() const { return pid_; }
  // True when the tracee was in a job-control stop (Ctrl-Z) when we seized it.
  bool was_job_stopped() const { return was_job_stopped_; }

  absl::Status GetRegs(user_regs_struct* regs);
  // Our stop made a waiting call fail with EINTR (internal::UndoStopEintr): it is made again
  // instead, so that neither the process going on nor an image of it sees the EINTR.
  absl::Status UndoStopEintr();
  // Whether UndoStopEintr rewound a call when this task was seized (it was inside that call,
  // with nothing done).
  bool call_rewound() const { return call_rewound_; }
  absl::Status SetRegs(const user_regs_struct& regs);
  // The whole NT_X86_XSTATE area.
  absl::StatusOr<std::string> GetXstate();
  absl::Status SetXstate(const std::string& xsave);
  absl::StatusOr<uint64_t> GetSigmask();
  absl::Status SetSigmask(uint64_t mask);
  absl::StatusOr<RseqConfig> GetRseq();
  // Pending signals' siginfo: shared (process-wide) or this thread's queue.
  absl::StatusOr<std::vector<std::string>> PeekPendingSignals(bool shared);

  // Bulk memory: process_vm_readv/writev, falling back to /proc/PID/mem (which also reaches
  // pages whose protection forbids the access) for what they could not move.
  absl::Status ReadMem(uint64_t addr, void* buf, size_t len);
  absl::Status WriteMem(uint64_t addr, const void* buf, size_t len);
  // Scatter/gather: local buffer is contiguous, remote side is ranges (in order).
  absl::Status ReadRanges(const std::vector<RemoteRange>& ranges, void* buf);
  absl::Status WriteRanges(const std::vector<RemoteRange>& ranges, const void* buf);
  template <typename T>
  absl::StatusOr<T> Read(RemotePtr<T> p) {
    T v;
    absl::Status s = ReadMem(p.addr(), &v, sizeof v);
    if (!s.ok()) return s;
    return v;
  }
  template <typename T>
  absl::Status Write(RemotePtr<T> p, const T& v) {
    return WriteMem(p.addr(), &v, sizeof v);
  }

  // Resumes to the next syscall-enter or syscall-exit stop (PTRACE_SYSCALL). A job-control
  // stop on the way is remembered (and redone after detaching), not reported.
  absl::Status StepSyscall();
  // Resumes until the tracee stops again after PTRACE_INTERRUPT.
  absl::Status Interrupt();
  // Resumes (PTRACE_CONT) until the tracee executes an int3 (its SIGTRAP is not delivered).
  // A fault on the way (SIGSEGV, SIGBUS, SIGILL, SIGFPE) is an error, not delivered either.
  absl::Status RunToTrap();

  // Detaches, leaving the tracee running (or stopped again if it was job-stopped).
  absl::Status Detach();
  // Kills the tracee (SIGKILL) and reaps nothing: its parent does.
  void Kill();

 private:
  explicit Task(pid_t pid) : pid_(pid) {}
  absl::Status WaitForStop(bool want_syscall_stop);
  // The next ptrace stop's wait status; Aborted if the tracee ended instead.
  absl::StatusOr<int> WaitForStopStatus();
  absl::Status MemFallback(uint64_t addr, void* buf, size_t len, bool write);

  pid_t pid_ = -1;
  bool attached_ = false;
  bool was_job_stopped_ = false;
  bool call_rewound_ = false;
  UniqueFd mem_fd_;
};

// A short description of a pid for messages: "pid 123 (python3)".
std::string DescribePid(pid_t pid);

}  // namespace mosix
