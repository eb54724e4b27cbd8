/* What the agent needs to know of the shim inside a process, exported as the symbol
 * `mosix_shim_info`: the agent finds it in libmosix.so's dynamic symbols, adds the mapping's
 * base, and reads or writes it with ptrace-level memory access. Plain C. */
#ifndef MOSIX_INTERCEPTOR_SHIM_INFO_H_
#define MOSIX_INTERCEPTOR_SHIM_INFO_H_

#include <stdint.h>

#define MOSIX_SHIM_INFO_SYMBOL "mosix_shim_info"
#define MOSIX_SHIM_INFO_VERSION 3

enum mosix_shim_mode {
  MOSIX_MODE_HOME = 0,   /* the program runs at home: the shim does almost nothing */
  MOSIX_MODE_REMOTE = 1, /* away from home: Syscall User Dispatch traps, the table decides */
  MOSIX_MODE_DEPUTY = 2, /* the home process serving its remote part (mosix_deputy_main) */
};

/* mosrun -e: unsupported calls fail with ENOSYS instead of killing the program. */
#define MOSIX_SHIM_ERROR_ON_UNSUPPORTED 1u

struct mosix_shim_info {
  uint32_t version;
  uint32_t mode;
  int32_t home_pid; /* what getpid() answers while away */
  uint32_t flags;
  uint8_t selector; /* Syscall User Dispatch selector: 0 allow, 1 block */
  uint8_t pad[7];
  uint64_t sigsys_handler; /* void (int, siginfo_t*, void*) */
  uint64_t sigreturn;      /* restorer: rt_sigreturn issued from the shim's text */
  uint64_t deputy_entry;   /* void (long link_fd, const uint64_t (*release)[2], long n):
                              frees those {start, end} ranges, then serves; never returns */
  uint64_t program_sigsys[4]; /* the program's own SIGSYS action, kept aside while away */
  uint32_t call_id;
  uint32_t forwarding; /* 1 while a forwarded call waits for its reply */
  /* Bumped by the agent each time the process is restored away from home: a call in flight is
   * sent again on the new link (the deputy answers a repeated call id from its last reply). */
  uint32_t link_epoch;
  /* The deputy's progress, for an agent that brings the process home while it serves: the id
   * of the call it is serving (0: none; set from before the call until its reply is sent),
   * whether it is inside that call's system call now, and the last call it finished. */
  uint32_t serving_id;
  uint32_t in_call;
  uint32_t answered_id;
  /* Whether this side of the link (the remote part, or the deputy) is in the middle of a
   * message: see enum mosix_link_phase and interceptor/link_invariants.h. */
  uint32_t link_phase;
  /* Remote part: the seq (mosix_signal.seq) of the last out-of-band signal its node's agent
   * delivered to it; the agent writes it after the kill (link_invariants.h, I4). */
  uint32_t signals_seen;
};

enum mosix_link_phase {
  MOSIX_LINK_IDLE = 0,      /* no message half sent or half read: the link may be replaced */
  MOSIX_LINK_SENDING = 1,   /* a message may be partly written */
  MOSIX_LINK_RECEIVING = 2, /* a message may be partly read */
};

#endif /* MOSIX_INTERCEPTOR_SHIM_INFO_H_ */
