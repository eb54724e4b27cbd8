/* The link between a process away from home (its shim, in remote mode) and its deputy at home:
 * a byte stream (TCP across nodes) of framed messages. Plain C, fixed-size integers. */
#ifndef MOSIX_INTERCEPTOR_FORWARD_PROTOCOL_H_
#define MOSIX_INTERCEPTOR_FORWARD_PROTOCOL_H_

#include <stdint.h>

/* The deputy's end of the link, in the home process. The remote end is MOSIX_CHANNEL_FD. */
#define MOSIX_LINK_FD 1020
/* Away from home: the node agent's log, where the shim says why a remote part ends when it can
 * no longer tell its home (the program's own fds are all at home). Never part of an image. */
#define MOSIX_DIAG_FD 1019
/* Away from home: the read end of a pipe whose only write end the node agent holds. Armed
 * (F_SETSIG SIGKILL, O_ASYNC) while the process is a stub being restored, and while it waits,
 * stopped, to be ended after it left: such a copy never outlives its node's agent. Disarmed
 * while it runs: a guest outlives its agent, and the next one takes it back. Never part of
 * an image. */
#define MOSIX_LIFELINE_FD 1018

/* How long each side of a link whose agent stopped waits for a restarted agent to give it a new
 * one (link_invariants.h, I5), in seconds; the node agent ends a guest unlinked for longer. */
#define MOSIX_RELINK_WAIT_S 30

#define MOSIX_FWD_MAGIC 0x4d465744u /* "DWFM" */
/* Largest payload of one message; bigger reads are short reads, bigger writes are split. */
#define MOSIX_FWD_MAX_DATA (1u << 20)
#define MOSIX_FWD_MAX_MSG (MOSIX_FWD_MAX_DATA + 4096)

enum mosix_fwd_type {
  MOSIX_FWD_CALL = 1,   /* remote -> deputy: execute a system call (mosix_fwd_call + data) */
  MOSIX_FWD_RETURN = 2, /* deputy -> remote: its result (mosix_fwd_return + out data) */
  MOSIX_FWD_EXIT = 3,   /* remote -> deputy: exit_group(status) was called (mosix_fwd_exit), with
                         * a call id; the deputy answers a RETURN (ret 0) of that id, then ends
                         * as told. The remote part ends only after that answer (I6). */
  MOSIX_FWD_HOME = 4,   /* remote -> deputy: bring me home, to make a call that is made there (fork,
                         * exec, ...); payload: the call's number (int64). No reply: the process
                         * is restored into the deputy and makes the call itself. A RETURN
                         * (-errno) if it cannot be. */
};

struct mosix_fwd_header {
  uint32_t magic;
  uint32_t type;
  uint32_t len; /* bytes after this header */
  uint32_t id;  /* call id: a reply carries its call's id */
};

struct mosix_fwd_call {
  int64_t nr;
  int64_t args[6];
  uint32_t null_mask; /* bit i: pointer argument i was NULL (nothing marshalled for it) */
  uint32_t signals_seen; /* the last out-of-band signal (mosix_signal.seq) the remote part's
                          * node delivered to it before this call (link_invariants.h, I4) */
  /* then, for each argument in order: kPath: u32 length + bytes (with the NUL); kIn/kInOut:
   * the bytes; kIovIn: u64 lengths[count] then the bytes; kIovOut: u64 lengths[count]. */
};

struct mosix_fwd_return {
  int64_t ret;      /* the kernel's result at home (-errno on failure) */
  uint64_t signals; /* signals that reached the deputy while it ran the call (bit n-1 = signal n):
                     * the remote part raises them before it returns, so an interrupted call and
                     * the signal that interrupted it arrive together */
  uint32_t outband; /* nonzero: the call was not made, because out-of-band signals up to this
                     * seq were sent to the remote part before it began: it waits for them,
                     * lets them be handled, and makes the call again (ret is -EINTR) */
  uint32_t pad;
  /* then, for each kOut/kInOut/kIovOut argument in order, its bytes (see syscall_table.h) */
};

struct mosix_fwd_exit {
  int32_t status; /* exit status, when signal is 0 */
  int32_t signal; /* or death by this signal */
};

/* The deputy's exit status when its remote part vanished without a word (node or agent gone). */
#define MOSIX_EXIT_LOST 112

#endif /* MOSIX_INTERCEPTOR_FORWARD_PROTOCOL_H_ */
