/* mosix-stub: the process an agent starts for a process arriving from its home node. It arms
 * its lifeline (lifeline.h), then only waits, single-threaded, to be rewritten by the agent
 * (ptrace) into the arriving process. Small and static, so that starting one costs a fork and
 * an exec and nothing else. */
#include "agent/lifeline.h" /* (first: it asks for _GNU_SOURCE) */

#include <unistd.h>

int main(void) {
  if (mosix_arm_lifeline() != 0) return 1;
  for (;;) pause();
}
