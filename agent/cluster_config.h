// The cluster map: read, validated, and asked about.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "proto/cluster.pb.h"

namespace mosix::agent {

// Parses a cluster map in protobuf text format and checks it: node names unique and non-empty,
// addresses of the form host:port, this_node one of the nodes. Errors name the file and what.
absl::StatusOr<cluster::ClusterMap> ParseClusterMap(const std::string& text, const std::string& where);
absl::StatusOr<cluster::ClusterMap> LoadClusterMap(const std::string& path);

// The map of a one-node cluster named after this host, with no TCP listener.
cluster::ClusterMap SingleNodeMap();

const cluster::Node* FindNode(const cluster::ClusterMap& map, const std::string& name);

}  // namespace mosix::agent
