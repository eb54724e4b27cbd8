#include "checkpoint/remote_syscalls.h"

#include <sys/mman.h>
#include <sys/syscall.h>

#include <cstring>

#include "absl/strings/str_format.h"
#include "base/status.h"
#include "checkpoint/procfs.h"

namespace mosix {
namespace {

constexpr uint16_t kSyscallInsn = 0x050f;  // 0f 05, little endian

uint64_t FindVdsoSyscall(Task* task) {
  auto maps = ReadMaps(task->pid());
  if (!maps.ok()) return 0;
  for (const MapEntry& e : *maps) {
    if (e.path != "[vdso]" || !(e.prot & PROT_EXEC)) continue;
    return FindSyscallInstruction(task, e.start, e.end, "the vDSO").value_or(0);
  }
  return 0;
}

}  // namespace

absl::StatusOr<uint64_t> FindSyscallInstruction(Task* task, uint64_t start, uint64_t end, const std::string& what) {
  std::string bytes(end - start, '\0');
  RETURN_IF_ERROR(task->ReadMem(start, bytes.data(), bytes.size()));
  size_t at = bytes.find("\x0f\x05");
  if (at == std::string::npos) return absl::NotFoundError(absl::StrCat("no syscall instruction in ", what));
  return start + at;
}

absl::StatusOr<RemoteSyscalls> RemoteSyscalls::Create(Task* task, uint64_t gadget) {
  RemoteSyscalls rs(task);
  RETURN_IF_ERROR(task->GetRegs(&rs.saved_regs_));
  ASSIGN_OR_RETURN(rs.saved_mask_, task->GetSigmask());
  RETURN_IF_ERROR(task->SetSigmask(~0ull));
  rs.active_ = true;
  if (gadget != 0) {
    rs.gadget_ = gadget;
    return rs;
  }
  uint64_t rip = rs.saved_regs_.rip;
  uint16_t before = 0;
  if (rip >= 2 && task->ReadMem(rip - 2, &before, 2).ok() && before == kSyscallInsn) {
    rs.gadget_ = rip - 2;
    return rs;
  }
  // Any 0f 05 byte pair in executable memory works: we jump straight to it and stop at the
  // syscall's exit, before anything after it runs. The vDSO always has some, and using it
  // leaves the program's own text untouched.
  if (uint64_t vdso = FindVdsoSyscall(task); vdso != 0) {
    rs.gadget_ = vdso;
    return rs;
  }
  ASSIGN_OR_RETURN(rs.poked_word_, task->Read(RemotePtr<uint64_t>(rip)));
  uint64_t word = (rs.poked_word_ & ~0xffffull) | kSyscallInsn;
  RETURN_IF_ERROR(task->Write(RemotePtr<uint64_t>(rip), word));
  rs.poked_ = true;
  rs.gadget_ = rip;
  return rs;
}

absl::StatusOr<RemoteSyscalls> RemoteSyscalls::CreateInVdso(Task* task) {
  uint64_t gadget = FindVdsoSyscall(task);
  if (gadget == 0) return absl::FailedPreconditionError(absl::StrCat(DescribePid(task->pid()), " has no vDSO with a syscall instruction"));
  return Create(task, gadget);
}

RemoteSyscalls::RemoteSyscalls(RemoteSyscalls&& o) noexcept
    : task_(o.task_),
      saved_regs_(o.saved_regs_),
      saved_mask_(o.saved_mask_),
      gadget_(o.gadget_),
      poked_(o.poked_),
      poked_word_(o.poked_word_),
      scratch_(o.scratch_),
      scratch_size_(o.scratch_size_),
      scratch_owned_(o.scratch_owned_),
      restore_on_exit_(o.restore_on_exit_),
      active_(std::exchange(o.active_, false)) {}

RemoteSyscalls::~RemoteSyscalls() {
  if (active_) (void)Finish();
}

absl::Status RemoteSyscalls::Finish() {
  active_ = false;
  if (!restore_on_exit_) return absl::OkStatus();
  absl::Status status;
  if (scratch_ != 0 && scratch_owned_) {
    auto r = Raw(SYS_munmap, scratch_, scratch_size_);
    if (!r.ok()) status.Update(r.status());
    scratch_ = 0;
  }
  if (poked_) status.Update(task_->Write(RemotePtr<uint64_t>(saved_regs_.rip), poked_word_));
  status.Update(task_->SetRegs(saved_regs_));
  status.Update(task_->SetSigmask(saved_mask_));
  return status;
}

absl::StatusOr<long> RemoteSyscalls::Raw(long nr, uint64_t a1, uint64_t a2, uint64_t a3,
                                         uint64_t a4, uint64_t a5, uint64_t a6) {
  user_regs_struct regs = saved_regs_;
  regs.rip = gadget_;
  regs.rax = nr;
  regs.orig_rax = static_cast<uint64_t>(-1);  // no syscall-restart handling on resume
  regs.rdi = a1;
  regs.rsi = a2;
  regs.rdx = a3;
  regs.r10 = a4;
  regs.r8 = a5;
  regs.r9 = a6;
  RETURN_IF_ERROR(task_->SetRegs(regs));
  RETURN_IF_ERROR(task_->StepSyscall());  // syscall-enter
  RETURN_IF_ERROR(task_->StepSyscall());  // syscall-exit
  RETURN_IF_ERROR(task_->GetRegs(&regs));
  return static_cast<long>(regs.rax);
}

}  // namespace mosix

// The batch loop, copied into the tracee (position-independent): r12 points at the table of
// {nr, a1..a6, result} (8 words a call), r13 is the count; it ends on an int3.
asm(".pushsection .rodata\n"
    ".globl mosix_batch_code\n.hidden mosix_batch_code\n"
    "mosix_batch_code:\n"
    "1: test %r13, %r13\n"
    "   jz 2f\n"
    "   mov (%r12), %rax\n"
    "   mov 8(%r12), %rdi\n"
    "   mov 16(%r12), %rsi\n"
    "   mov 24(%r12), %rdx\n"
    "   mov 32(%r12), %r10\n"
    "   mov 40(%r12), %r8\n"
    "   mov 48(%r12), %r9\n"
    "   syscall\n"
    "   mov %rax, 56(%r12)\n"
    "   add $64, %r12\n"
    "   dec %r13\n"
    "   jmp 1b\n"
    "2: int3\n"
    ".globl mosix_batch_code_end\n.hidden mosix_batch_code_end\n"
    "mosix_batch_code_end:\n"
    ".popsection\n");
extern "C" const unsigned char mosix_batch_code[];
extern "C" const unsigned char mosix_batch_code_end[];

namespace mosix {

absl::StatusOr<std::vector<long>> RemoteSyscalls::Batch(uint64_t code, uint64_t table, const std::vector<BatchCall>& calls) {
  std::vector<long> results;
  if (calls.empty()) return results;
  RETURN_IF_ERROR(task_->WriteMem(code, mosix_batch_code, static_cast<size_t>(mosix_batch_code_end - mosix_batch_code)));
  std::vector<uint64_t> words(calls.size() * 8, 0);
  for (size_t i = 0; i < calls.size(); ++i) {
    words[i * 8] = static_cast<uint64_t>(calls[i].nr);
    for (int k = 0; k < 6; ++k) words[i * 8 + 1 + k] = calls[i].args[k];
  }
  RETURN_IF_ERROR(task_->WriteMem(table, words.data(), words.size() * 8));
  user_regs_struct regs = saved_regs_;
  regs.rip = code;
  regs.r12 = table;
  regs.r13 = calls.size();
  regs.orig_rax = static_cast<uint64_t>(-1);
  RETURN_IF_ERROR(task_->SetRegs(regs));
  RETURN_IF_ERROR(task_->RunToTrap());
  RETURN_IF_ERROR(task_->ReadMem(table, words.data(), words.size() * 8));
  for (size_t i = 0; i < calls.size(); ++i) results.push_back(static_cast<long>(words[i * 8 + 7]));
  return results;
}

absl::StatusOr<long> RemoteSyscalls::Call(const char* name, const std::string& what, long nr,
                                          uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                                          uint64_t a5, uint64_t a6) {
  ASSIGN_OR_RETURN(long r, Raw(nr, a1, a2, a3, a4, a5, a6));
  if (r < 0 && r > -4096) {
    return ErrnoStatus(static_cast<int>(-r), absl::StrCat(name, " in ", DescribePid(task_->pid())), what);
  }
  return r;
}

absl::StatusOr<uint64_t> RemoteSyscalls::Scratch(size_t size) {
  size = (size + 4095) & ~size_t{4095};
  if (scratch_ != 0 && scratch_size_ >= size) return scratch_;
  if (!scratch_owned_) {
    return absl::ResourceExhaustedError(absl::StrFormat("scratch of %d bytes needed, %d given", size, scratch_size_));
  }
  if (scratch_ != 0) {
    RETURN_IF_ERROR(Call("munmap", "scratch", SYS_munmap, scratch_, scratch_size_).status());
    scratch_ = 0;
  }
  ASSIGN_OR_RETURN(long addr, Call("mmap", "scratch", SYS_mmap, 0, size, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS, static_cast<uint64_t>(-1), 0));
  scratch_ = static_cast<uint64_t>(addr);
  scratch_size_ = size;
  return scratch_;
}

absl::StatusOr<uint64_t> RemoteSyscalls::PutString(const std::string& s, size_t off) {
  ASSIGN_OR_RETURN(uint64_t base, Scratch(off + s.size() + 1));
  RETURN_IF_ERROR(task_->WriteMem(base + off, s.c_str(), s.size() + 1));
  return base + off;
}

}  // namespace mosix
