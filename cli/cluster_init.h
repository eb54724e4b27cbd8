// mosctl cluster init: the cluster's CA and each node's credentials, made for a cluster map.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "proto/cluster.pb.h"

namespace mosix::cli {

// In dir: ca.crt and ca.key (the CA, made once and kept: run again after adding nodes to the
// map), and for each node of the map dir/NODE/ with ca.crt, node.crt and node.key, made if
// missing. Keys are mode 0600, directories 0700. Returns one line per node made.
absl::StatusOr<std::string> MakeClusterCredentials(const cluster::ClusterMap& map, const std::string& dir);

// `mosctl cluster init MAP [--out DIR]`.
int ClusterCommand(int argc, char** argv);

}  // namespace mosix::cli
