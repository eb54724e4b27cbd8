/* The stub's end of its lifeline (MOSIX_LIFELINE_FD, interceptor/forward_protocol.h): armed to
 * kill the process the moment the last write end closes, whoever the process becomes: the
 * agent's, and the lifeline keeper's while the guest runs (agent/process/lifeline_keeper.h).
 * Plain C: the static stub and mosixd --stub both call it, before they wait to be rewritten. */
#ifndef MOSIX_AGENT_LIFELINE_H_
#define MOSIX_AGENT_LIFELINE_H_

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "interceptor/forward_protocol.h"

/* Returns 0 when armed and the agent is there; -1 when it could not be armed or the agent is
 * already gone (the stub then exits: nobody would ever rewrite it). The owner is recorded as
 * this process's credentials now (root's, in a stub): the signal still reaches the process
 * once it runs as the image's owner. */
static inline int mosix_arm_lifeline(void) {
  int flags = fcntl(MOSIX_LIFELINE_FD, F_GETFL);
  if (flags < 0) return -1;
  if (fcntl(MOSIX_LIFELINE_FD, F_SETSIG, SIGKILL) != 0) return -1;
  if (fcntl(MOSIX_LIFELINE_FD, F_SETOWN, getpid()) != 0) return -1;
  if (fcntl(MOSIX_LIFELINE_FD, F_SETFL, flags | O_ASYNC) != 0) return -1;
  struct pollfd p = {MOSIX_LIFELINE_FD, POLLIN, 0};
  if (poll(&p, 1, 0) != 0) return -1; /* its write end is closed already */
  return 0;
}

#endif /* MOSIX_AGENT_LIFELINE_H_ */
