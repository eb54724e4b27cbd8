// Injected system calls, RAII: while a RemoteSyscalls lives, the tracee executes the calls we
// ask for; when it dies the tracee's registers, code bytes and signal mask are as before.
//
// The calls run through a `syscall` instruction in the tracee: one given (a restore
// trampoline), the one at rip-2 (the tracee was stopped inside a system call), a 0f 05 pair in
// the vDSO, or, last, one poked over the instruction at rip and put back afterwards. All signals are blocked while
// injecting, so none is delivered (or lost) in the middle; the tracee sees them afterwards.
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "checkpoint/task.h"

namespace mosix {

// The address of a `syscall` instruction (the bytes 0f 05, wherever they fall: a gadget is
// jumped to directly) in [start, end) of the tracee, or NotFound naming `what`.
absl::StatusOr<uint64_t> FindSyscallInstruction(Task* task, uint64_t start, uint64_t end, const std::string& what);

class RemoteSyscalls {
 public:
  // gadget: address of a `syscall` instruction in the tracee, or 0 to find or make one.
  static absl::StatusOr<RemoteSyscalls> Create(Task* task, uint64_t gadget = 0);
  // Injects through a `syscall` in the vDSO only: for work that unmaps the program's own code
  // (parking, deputizing), where a gadget in libc would vanish under the next call.
  static absl::StatusOr<RemoteSyscalls> CreateInVdso(Task* task);

  RemoteSyscalls(RemoteSyscalls&& o) noexcept;
  RemoteSyscalls& operator=(RemoteSyscalls&&) = delete;
  ~RemoteSyscalls();

  // Runs syscall nr in the tracee; returns the kernel's raw result (-errno on failure).
  absl::StatusOr<long> Raw(long nr, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
                           uint64_t a4 = 0, uint64_t a5 = 0, uint64_t a6 = 0);
  // Same, with a failure turned into a Status naming the call and `what`.
  absl::StatusOr<long> Call(const char* name, const std::string& what, long nr, uint64_t a1 = 0,
                            uint64_t a2 = 0, uint64_t a3 = 0, uint64_t a4 = 0, uint64_t a5 = 0,
                            uint64_t a6 = 0);

  // Runs calls one after another in the tracee with one stop at the end, instead of two per
  // call: a small loop is put at `code` (an executable area of the tracee, 64 bytes) and the
  // calls at `table` (writable, 64 bytes a call). Returns each call's raw result.
  struct BatchCall {
    long nr;
    uint64_t args[6];
  };
  absl::StatusOr<std::vector<long>> Batch(uint64_t code, uint64_t table, const std::vector<BatchCall>& calls);

  // A scratch area of at least `size` bytes in the tracee (mapped on first use, unmapped at
  // the end), for the arguments and results of the calls.
  absl::StatusOr<uint64_t> Scratch(size_t size);
  // Uses [addr, addr+size) of the tracee as scratch; it is not unmapped at the end.
  void UseScratch(uint64_t addr, size_t size) {
    scratch_ = addr;
    scratch_size_ = size;
    scratch_owned_ = false;
  }
  // Copies a string (with its NUL) into scratch at offset off and returns its address.
  absl::StatusOr<uint64_t> PutString(const std::string& s, size_t off = 0);

  // The registers the tracee had before; the destructor puts them back. Restore changes them.
  user_regs_struct& saved_regs() { return saved_regs_; }
  // Do not put the registers, code and mask back (the restore sets its own).
  void Forget() { restore_on_exit_ = false; }
  // Forget the scratch mapping (the restore unmaps everything itself).

  Task* task() { return task_; }

 private:
  RemoteSyscalls(Task* task) : task_(task) {}
  absl::Status Finish();

  Task* task_;
  user_regs_struct saved_regs_{};
  uint64_t saved_mask_ = 0;
  uint64_t gadget_ = 0;
  bool poked_ = false;
  uint64_t poked_word_ = 0;
  uint64_t scratch_ = 0;
  size_t scratch_size_ = 0;
  bool scratch_owned_ = true;
  bool restore_on_exit_ = true;
  bool active_ = false;
};

}  // namespace mosix
