/* The channel between a process under mosrun and its agent: SOCK_SEQPACKET messages, each a
 * header and a payload, so a message is never split or merged. Plain C with fixed-size
 * integers: the shim (no C++ runtime), the recovery stub and the agent all include it. */
#ifndef MOSIX_INTERCEPTOR_CHANNEL_PROTOCOL_H_
#define MOSIX_INTERCEPTOR_CHANNEL_PROTOCOL_H_

#include <stdint.h>

/* The fd number the channel lives on in every process under mosrun. High, so programs do not
 * stumble on it; the shim keeps it from being closed or replaced. */
#define MOSIX_CHANNEL_FD 1021

/* Environment variable naming the agent's channel socket, set by mosrun for the shim. */
#define MOSIX_CHANNEL_ENV "MOSIX_CHANNEL"

#define MOSIX_CHANNEL_MAX_MSG 65536

enum mosix_msg_type {
  MOSIX_MSG_HELLO = 1,   /* shim -> agent: this process runs under mosrun (payload: hello); a
                          * forked child sends it on the channel it inherited from its parent:
                          * the agent knows the sender by SCM_CREDENTIALS */
  MOSIX_MSG_RESTORE = 2, /* stub -> agent: make me the process of this image (payload: text) */
  MOSIX_MSG_ERROR = 3,   /* agent -> stub/shim: a one-line error (payload: text) */
  MOSIX_MSG_OK = 4,      /* agent -> shim: acknowledged */
  MOSIX_MSG_SIGNAL = 5,  /* deputy -> agent: deliver this signal to my remote part (mosix_signal) */
  MOSIX_MSG_WAIT_END = 6, /* deputy -> agent: my link closed; tell me how my remote part ended */
  MOSIX_MSG_END = 7,     /* agent -> deputy: how it ended (mosix_end) */
  MOSIX_MSG_GO_HOME = 8, /* deputy -> agent: bring my process home (mosix_go_home); an ERROR back
                          * if that cannot be done, nothing otherwise */
  MOSIX_MSG_REGISTER = 10, /* mosrun -> agent: register me, I exec the program next (payload:
                            * mosix_register, then its strings); OK (mosix_registered) or
                            * ERROR back */
  MOSIX_MSG_REATTACH = 9, /* first message on a channel a restarted agent gave a running process
                           * (it injects the connection): the same program, a new channel
                           * (payload: mosix_hello). No reply. */
};

struct mosix_signal {
  int32_t signo;
  uint32_t seq; /* the deputy's count of signals it sent out of band (link_invariants.h, I4) */
};

struct mosix_end {
  int32_t status; /* exit status, when signo is 0 */
  int32_t signo;  /* death by this signal; -1: unknown (the remote part is lost) */
};

struct mosix_msg_header {
  uint32_t type;
  uint32_t len; /* payload bytes after the header */
};

struct mosix_go_home {
  int64_t nr; /* the call it comes home to make: after an exec, the new program goes back */
};

struct mosix_hello {
  int32_t pid;
  uint32_t version; /* MOSIX_CHANNEL_VERSION */
};

#define MOSIX_CHANNEL_VERSION 2

/* The payload of the OK that answers a REGISTER (an older agent's OK has none: flags 0). */
struct mosix_registered {
  uint32_t flags; /* MOSIX_REGISTERED_* */
};
/* The agent does not see the kernel's forks (its fork watch): a child forked under mosrun must
 * greet it itself. mosrun then sets MOSIX_GREET_FORKS_ENV=1 for the shim. */
#define MOSIX_REGISTERED_GREET_FORKS 1u
#define MOSIX_GREET_FORKS_ENV "MOSIX_GREET_FORKS"

/* REGISTER payload: this, then NUL-ended strings: the checkpoint file ("" for none), the node
 * to start on ("" for home), then argc strings of argv. */
struct mosix_register {
  uint32_t version; /* MOSIX_CHANNEL_VERSION */
  uint32_t argc;
  double checkpoint_interval_s;
  uint32_t flags;     /* MOSIX_REGISTER_* */
  uint32_t memory_mb; /* -m MB: the memory it will need (0: not said) */
};
#define MOSIX_REGISTER_KEEP_HOME 1u /* -h */
#define MOSIX_REGISTER_LOCKED 2u    /* -L */
#define MOSIX_REGISTER_BEST 4u      /* -b */
#define MOSIX_REGISTER_MAX_ARGC 65536

/* RESTORE payload: the image path, NUL, then zero or more "FD=PATH" strings, each NUL-ended. */

#endif /* MOSIX_INTERCEPTOR_CHANNEL_PROTOCOL_H_ */
