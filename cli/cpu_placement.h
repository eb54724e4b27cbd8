// Which CPUs each node of an emulated cluster (mosctl localcluster) runs on. A node with a CPU
// quota of F is a machine of F CPUs: F <= 1 is one CPU that runs at F of its speed, not F of
// every CPU of the host. The difference matters to the scheduler: processes of a node that
// share one CPU share its run queue, so their nice values weigh (the cluster has old processes
// yield: agent/decide/aging.h), while spread over two CPUs each runs alone on its own until the
// quota throttles them all alike, whatever their nice.
#pragma once

#include <string>
#include <vector>

namespace mosix::cli {

struct NodeCpus {
  std::vector<int> cpus;  // empty: no quota, every CPU of the host
};

// For each node's quota (0: none), CPUs among `host_cpus`: ceil(F) of them, those with the
// least quota placed on them so far, the biggest nodes placed first (so 0.75, 0.5, 0.25 and 0.25
// on two CPUs fill them as 0.75 + 0.25 and 0.5 + 0.25). `overcommitted` lists, for the caller
// to warn about, each CPU given more than one CPU's worth of quota ("CPU 1: 1.25").
std::vector<NodeCpus> PlaceNodes(const std::vector<double>& quotas, const std::vector<int>& host_cpus,
                                 std::vector<std::string>* overcommitted);

// A cpuset list ("0", "1,3").
std::string CpuList(const std::vector<int>& cpus);

}  // namespace mosix::cli
