// mosctl localcluster: an emulated cluster of N nodes on this machine, for tests and the demo.
// Each node is a mosixd on its own loopback address (127.0.0.K), in its own mount namespace
// (private /tmp and /var/lib/mosix) and its own cgroup-v1 CPU group (optional quota).
#pragma once

namespace mosix::cli {

// argv after "localcluster": up|exec|down|status|stop|start|restart ...; returns the exit status.
// stop/start/restart NODE stop and start one node's agent (for tests, and faults tried by hand).
int LocalCluster(int argc, char** argv);

}  // namespace mosix::cli
