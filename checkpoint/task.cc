#include "checkpoint/task.h"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/file_util.h"
#include "base/status.h"
#include "checkpoint/internal/syscall_restart.h"
#include "checkpoint/procfs.h"

namespace mosix {
namespace {

// Not in glibc 2.36's <sys/ptrace.h>.
constexpr int kPtraceGetRseqConfiguration = 0x420f;
constexpr int kPtracePeekSiginfo = 0x4209;
constexpr unsigned kPeekSiginfoShared = 1;
struct PtraceRseqConfiguration {
  uint64_t rseq_abi_pointer;
  uint32_t rseq_abi_size;
  uint32_t signature;
  uint32_t flags;
  uint32_t pad;
};
struct PtracePeekSiginfoArgs {
  uint64_t off;
  uint32_t flags;
  int32_t nr;
};

constexpr size_t kXstateMax = 1 << 16;

char ProcState(pid_t pid) {
  auto stat = ReadFileToString(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return '?';
  size_t paren = stat->rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat->size()) return '?';
  return (*stat)[paren + 2];
}

}  // namespace

std::string DescribePid(pid_t pid) {
  auto comm = ReadFileToString(absl::StrCat("/proc/", pid, "/comm"));
  if (!comm.ok()) return absl::StrCat("pid ", pid);
  return absl::StrCat("pid ", pid, " (", absl::StripSuffix(*comm, "\n"), ")");
}

absl::StatusOr<Task> Task::Seize(pid_t pid) {
  if (pid <= 0) return absl::InvalidArgumentError(absl::StrCat("invalid pid ", pid));
  if (::kill(pid, 0) != 0) {
    if (errno == ESRCH) return absl::NotFoundError(absl::StrCat("no process with pid ", pid));
  }
  Task task(pid);
  task.was_job_stopped_ = ProcState(pid) == 'T';
  if (::ptrace(PTRACE_SEIZE, pid, nullptr, PTRACE_O_TRACESYSGOOD) != 0) {
    return ErrnoStatus("ptrace(SEIZE)", DescribePid(pid));
  }
  task.attached_ = true;
  RETURN_IF_ERROR(task.Interrupt());
  RETURN_IF_ERROR(task.UndoStopEintr());
  int fd = ::open(absl::StrCat("/proc/", pid, "/mem").c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", absl::StrCat("/proc/", pid, "/mem"));
  task.mem_fd_.reset(fd);
  return task;
}

Task::Task(Task&& o) noexcept
    : pid_(o.pid_),
      attached_(std::exchange(o.attached_, false)),
      was_job_stopped_(o.was_job_stopped_),
      call_rewound_(o.call_rewound_),
      mem_fd_(std::move(o.mem_fd_)) {}

Task::~Task() {
  if (attached_) (void)Detach();
}

absl::Status Task::Interrupt() {
  if (::ptrace(PTRACE_INTERRUPT, pid_, nullptr, nullptr) != 0) {
    return ErrnoStatus("ptrace(INTERRUPT)", DescribePid(pid_));
  }
  return WaitForStop(/*want_syscall_stop=*/false);
}

// Waits for the stop we asked for. A signal arriving meanwhile is passed on to the tracee
// (it would have got it without us); a job-control stop is noted and the wait goes on.
absl::Status Task::WaitForStop(bool want_syscall_stop) {
  for (;;) {
    ASSIGN_OR_RETURN(int status, WaitForStopStatus());
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    if (want_syscall_stop && sig == (SIGTRAP | 0x80)) return absl::OkStatus();
    if (event == PTRACE_EVENT_STOP) {
      if (!want_syscall_stop) return absl::OkStatus();
      // A job-control stop in the middle of our work: remember it, go on.
      if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) was_job_stopped_ = true;
      if (::ptrace(PTRACE_SYSCALL, pid_, nullptr, nullptr) != 0) return ErrnoStatus("ptrace(SYSCALL)", DescribePid(pid_));
      continue;
    }
    if (!want_syscall_stop && sig == (SIGTRAP | 0x80)) {
      // A stale syscall stop; keep going to the interrupt.
      if (::ptrace(PTRACE_CONT, pid_, nullptr, nullptr) != 0) return ErrnoStatus("ptrace(CONT)", DescribePid(pid_));
      continue;
    }
    // Signal-delivery-stop: deliver it as the kernel would have.
    int req = want_syscall_stop ? PTRACE_SYSCALL : PTRACE_CONT;
    if (::ptrace(static_cast<__ptrace_request>(req), pid_, nullptr, reinterpret_cast<void*>(static_cast<long>(sig))) != 0) {
      return ErrnoStatus("ptrace(CONT)", DescribePid(pid_));
    }
  }
}

absl::StatusOr<int> Task::WaitForStopStatus() {
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, __WALL);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("waitpid", DescribePid(pid_));
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      attached_ = false;
      return absl::AbortedError(absl::StrCat(
          "pid ", pid_, WIFEXITED(status) ? " exited with status " : " was killed by signal ",
          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), " while traced"));
    }
    if (WIFSTOPPED(status)) return status;
  }
}

absl::Status Task::RunToTrap() {
  if (::ptrace(PTRACE_CONT, pid_, nullptr, nullptr) != 0) return ErrnoStatus("ptrace(CONT)", DescribePid(pid_));
  for (;;) {
    ASSIGN_OR_RETURN(int status, WaitForStopStatus());
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    int deliver = 0;
    if (event == PTRACE_EVENT_STOP) {
      if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) was_job_stopped_ = true;
    } else if (sig == SIGTRAP) {
      return absl::OkStatus();
    } else if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) {
      return absl::InternalError(absl::StrCat("injected code faulted in ", DescribePid(pid_), " (signal ", sig, ")"));
    } else if (sig != (SIGTRAP | 0x80)) {
      deliver = sig;  // as the kernel would have
    }
    if (::ptrace(PTRACE_CONT, pid_, nullptr, reinterpret_cast<void*>(static_cast<long>(deliver))) != 0) {
      return ErrnoStatus("ptrace(CONT)", DescribePid(pid_));
    }
  }
}

absl::Status Task::StepSyscall() {
  if (::ptrace(PTRACE_SYSCALL, pid_, nullptr, nullptr) != 0) {
    return ErrnoStatus("ptrace(SYSCALL)", DescribePid(pid_));
  }
  return WaitForStop(/*want_syscall_stop=*/true);
}

absl::Status Task::UndoStopEintr() {
  user_regs_struct regs;
  RETURN_IF_ERROR(GetRegs(&regs));
  if (static_cast<long>(regs.rax) != -EINTR || static_cast<long>(regs.orig_rax) < 0) return absl::OkStatus();
  // A signal that is pending and not blocked would have made the EINTR: then it is real.
  ASSIGN_OR_RETURN(bool deliverable, HasDeliverableSignal(pid_));
  if (!internal::UndoStopEintr(&regs, deliverable)) return absl::OkStatus();
  call_rewound_ = true;
  return SetRegs(regs);
}

absl::Status Task::GetRegs(user_regs_struct* regs) {
  if (::ptrace(PTRACE_GETREGS, pid_, nullptr, regs) != 0) return ErrnoStatus("ptrace(GETREGS)", DescribePid(pid_));
  return absl::OkStatus();
}

absl::Status Task::SetRegs(const user_regs_struct& regs) {
  if (::ptrace(PTRACE_SETREGS, pid_, nullptr, &regs) != 0) return ErrnoStatus("ptrace(SETREGS)", DescribePid(pid_));
  return absl::OkStatus();
}

absl::StatusOr<std::string> Task::GetXstate() {
  std::string buf(kXstateMax, '\0');
  iovec iov{buf.data(), buf.size()};
  if (::ptrace(PTRACE_GETREGSET, pid_, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) != 0) {
    return ErrnoStatus("ptrace(GETREGSET, NT_X86_XSTATE)", DescribePid(pid_));
  }
  buf.resize(iov.iov_len);
  return buf;
}

absl::Status Task::SetXstate(const std::string& xsave) {
  std::string copy = xsave;
  iovec iov{copy.data(), copy.size()};
  if (::ptrace(PTRACE_SETREGSET, pid_, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) != 0) {
    return ErrnoStatus("ptrace(SETREGSET, NT_X86_XSTATE)", DescribePid(pid_));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Task::GetSigmask() {
  uint64_t mask = 0;
  if (::ptrace(PTRACE_GETSIGMASK, pid_, reinterpret_cast<void*>(sizeof mask), &mask) != 0) {
    return ErrnoStatus("ptrace(GETSIGMASK)", DescribePid(pid_));
  }
  return mask;
}

absl::Status Task::SetSigmask(uint64_t mask) {
  if (::ptrace(PTRACE_SETSIGMASK, pid_, reinterpret_cast<void*>(sizeof mask), &mask) != 0) {
    return ErrnoStatus("ptrace(SETSIGMASK)", DescribePid(pid_));
  }
  return absl::OkStatus();
}

absl::StatusOr<RseqConfig> Task::GetRseq() {
  PtraceRseqConfiguration conf{};
  if (::ptrace(static_cast<__ptrace_request>(kPtraceGetRseqConfiguration), pid_,
               reinterpret_cast<void*>(sizeof conf), &conf) < 0) {
    return ErrnoStatus("ptrace(GET_RSEQ_CONFIGURATION)", DescribePid(pid_));
  }
  return RseqConfig{conf.rseq_abi_pointer, conf.rseq_abi_size, conf.signature, conf.flags};
}

absl::StatusOr<std::vector<std::string>> Task::PeekPendingSignals(bool shared) {
  std::vector<std::string> out;
  for (uint64_t off = 0;; ++off) {
    siginfo_t si;
    PtracePeekSiginfoArgs args{off, shared ? kPeekSiginfoShared : 0, 1};
    long n = ::ptrace(static_cast<__ptrace_request>(kPtracePeekSiginfo), pid_, &args, &si);
    if (n < 0) return ErrnoStatus("ptrace(PEEKSIGINFO)", DescribePid(pid_));
    if (n == 0) break;
    out.emplace_back(reinterpret_cast<const char*>(&si), sizeof si);
  }
  return out;
}

absl::Status Task::MemFallback(uint64_t addr, void* buf, size_t len, bool write) {
  char* p = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t n = write ? ::pwrite(mem_fd_.get(), p, len, static_cast<off_t>(addr))
                      : ::pread(mem_fd_.get(), p, len, static_cast<off_t>(addr));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return ErrnoStatus(n < 0 ? errno : EIO, write ? "write" : "read",
                         absl::StrFormat("/proc/%d/mem at %#x", pid_, addr));
    }
    p += n;
    addr += n;
    len -= n;
  }
  return absl::OkStatus();
}

absl::Status Task::ReadMem(uint64_t addr, void* buf, size_t len) {
  return ReadRanges({{addr, len}}, buf);
}

absl::Status Task::WriteMem(uint64_t addr, const void* buf, size_t len) {
  return WriteRanges({{addr, len}}, buf);
}

namespace {

// Moves ranges with process_vm_readv/writev in IOV_MAX batches; returns how many bytes
// moved in total before the first short transfer.
template <bool kWrite>
absl::Status TransferRanges(pid_t pid, const std::vector<RemoteRange>& ranges, char* local,
                            const std::function<absl::Status(uint64_t, char*, size_t)>& fallback) {
  constexpr size_t kBatch = 1024;
  size_t i = 0;
  std::vector<iovec> remote;
  remote.reserve(kBatch);
  while (i < ranges.size()) {
    remote.clear();
    size_t total = 0;
    size_t j = i;
    for (; j < ranges.size() && remote.size() < kBatch; ++j) {
      remote.push_back({reinterpret_cast<void*>(ranges[j].addr), ranges[j].len});
      total += ranges[j].len;
    }
    iovec lv{local, total};
    ssize_t n = kWrite ? ::process_vm_writev(pid, &lv, 1, remote.data(), remote.size(), 0)
                       : ::process_vm_readv(pid, &lv, 1, remote.data(), remote.size(), 0);
    if (n < 0) n = 0;
    if (static_cast<size_t>(n) == total) {
      local += total;
      i = j;
      continue;
    }
    // Partial: skip what moved, push the range that stopped it through /proc/PID/mem.
    size_t done = n;
    while (done >= ranges[i].len) {
      done -= ranges[i].len;
      local += ranges[i].len;
      ++i;
    }
    RETURN_IF_ERROR(fallback(ranges[i].addr + done, local + done, ranges[i].len - done));
    local += ranges[i].len;
    ++i;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Task::ReadRanges(const std::vector<RemoteRange>& ranges, void* buf) {
  return TransferRanges<false>(pid_, ranges, static_cast<char*>(buf),
                               [this](uint64_t a, char* p, size_t n) { return MemFallback(a, p, n, false); });
}

absl::Status Task::WriteRanges(const std::vector<RemoteRange>& ranges, const void* buf) {
  return TransferRanges<true>(pid_, ranges, const_cast<char*>(static_cast<const char*>(buf)),
                              [this](uint64_t a, char* p, size_t n) { return MemFallback(a, p, n, true); });
}

absl::Status Task::Detach() {
  if (!attached_) return absl::OkStatus();
  attached_ = false;
  if (::ptrace(PTRACE_DETACH, pid_, nullptr, nullptr) != 0) {
    return ErrnoStatus("ptrace(DETACH)", DescribePid(pid_));
  }
  if (was_job_stopped_) ::kill(pid_, SIGSTOP);
  return absl::OkStatus();
}

void Task::Kill() {
  ::kill(pid_, SIGKILL);
  if (attached_) {
    int status;
    // The tracer must collect the death before the real parent can reap it.
    while (::waitpid(pid_, &status, __WALL) < 0 && errno == EINTR) {
    }
  }
  attached_ = false;
}

}  // namespace mosix
