// The syscall policy of a process whose user context runs away from its home node: one row of
// data per system call (name, policy, how each argument is marshalled, a note), never a switch.
// Plain data with no constructors: the shim uses it from a signal handler.
#ifndef MOSIX_INTERCEPTOR_SYSCALL_TABLE_H_
#define MOSIX_INTERCEPTOR_SYSCALL_TABLE_H_

#include <stddef.h>
#include <stdint.h>

namespace mosix::shim {

enum Policy : uint8_t {
  kLocal = 0,        // run where the process is: memory, signals, time, scheduling
  kForward = 1,      // run at home by the deputy: files, fds, pids, the terminal, identity
  kVirtual = 2,      // answered by the shim itself (getpid is the home pid, kill of self, ...)
  kUnsupported = 3,  // MOSIX's rule: kill with a message, or ENOSYS under mosrun -e
  kHome = 4,         // made at home: the process is brought home first and makes it there
  kLocalWait = 5,    // run where the process is, natively after the SIGSYS handler returns,
                     // with the program's signal mask: a wait that signals must interrupt
};

enum ArgKind : uint8_t {
  kNone = 0,
  kInt,      // passed as is (numbers, flags, fds: fds are the home's)
  kPath,     // NUL-terminated string sent home
  kIn,       // buffer sent home; its size is args[len] or `fixed`
  kOut,      // buffer filled at home; capacity args[len] (the result tells how much came back)
             // or `fixed` bytes (all of it, when the call succeeded); NULL passes through
  kInOut,    // fixed-size struct sent home and brought back
  kIovIn,    // iovec array of args[len] entries, contents sent home
  kIovOut,   // iovec array of args[len] entries, filled at home (result bytes, in order)
  kOutElems, // array filled at home: capacity args[len] elements of `fixed` bytes each, the
             // result counts the elements that came back (epoll_wait's events)
  kOutLen,   // filled at home, at most `fixed` bytes; its room is what the socklen_t that
             // args[len] points to says on entry (a socket address, a socket option): no
             // more than that is written into the caller's buffer
};

constexpr uint8_t kFixed = 0xff;  // ArgSpec::len when the size is `fixed`

struct ArgSpec {
  uint8_t kind;
  uint8_t len;     // index of the length argument, or kFixed
  uint16_t fixed;  // size in bytes when len == kFixed
};

struct SyscallEntry {
  uint16_t nr;
  uint8_t policy;
  ArgSpec args[6];
  // In the row itself, not pointers: a table of pointers is relocated, page by page, in every
  // process that loads the shim (five pages written at each program's start).
  char name[24];
  char note[72];
};

extern const SyscallEntry kSyscallTable[];
extern const size_t kSyscallTableSize;

// The highest number the table knows; anything above is unsupported.
constexpr long kMaxSyscall = 511;

// The row for nr, or nullptr. O(1) after the first call (which builds a static index).
const SyscallEntry* LookupSyscall(long nr);

// Calls whose argument layout depends on a command (ioctl's request, fcntl's cmd): one row
// per command whose third argument points to something, with the command in `key`.
struct CommandVariant {
  uint16_t nr;
  uint32_t key;
  SyscallEntry entry;
};
extern const CommandVariant kCommandVariants[];
extern const size_t kCommandVariantsSize;

// The row that describes nr(args) as it is made: a command variant where there is one, the
// plain row otherwise. An ioctl request without a row is nullptr (its argument's layout is
// unknown: it cannot be forwarded). Both ends of the link use it, so they agree.
const SyscallEntry* EntryForCall(long nr, const long args[6]);

}  // namespace mosix::shim

#endif  // MOSIX_INTERCEPTOR_SYSCALL_TABLE_H_
