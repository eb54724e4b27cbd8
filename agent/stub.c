/* mosix-stub: the process an agent starts for a process arriving from its home node. It only
 * waits, single-threaded, to be rewritten by the agent (ptrace) into the arriving process.
 * Small and static, so that starting one costs a fork and an exec and nothing else. */
#include <unistd.h>

int main(void) {
  for (;;) pause();
}
