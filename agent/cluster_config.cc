#include "agent/cluster_config.h"

#include <unistd.h>

#include <set>

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status.h"

namespace mosix::agent {
namespace {

// Collects the parser's complaints instead of printing them.
class Collector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (first.empty()) first = absl::StrCat("line ", line + 1, " column ", column + 1, ": ", message);
  }
  std::string first;
};

bool ValidAddress(const std::string& a) {
  size_t colon = a.rfind(':');
  int port;
  return colon != std::string::npos && colon > 0 && absl::SimpleAtoi(a.substr(colon + 1), &port) && port > 0 &&
         port < 65536;
}

}  // namespace

absl::StatusOr<cluster::ClusterMap> ParseClusterMap(const std::string& text, const std::string& where) {
  cluster::ClusterMap map;
  google::protobuf::TextFormat::Parser parser;
  Collector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &map)) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", errors.first.empty() ? "unreadable" : errors.first));
  }
  auto bad = [&](const std::string& why) { return absl::InvalidArgumentError(absl::StrCat(where, ": ", why)); };
  if (map.nodes().empty()) return bad("no nodes");
  std::set<std::string> names, addresses;
  for (const cluster::Node& n : map.nodes()) {
    if (n.name().empty()) return bad("a node has no name");
    if (!names.insert(n.name()).second) return bad(absl::StrCat("node ", n.name(), " appears twice"));
    if (!addresses.insert(n.address()).second) return bad(absl::StrCat("node ", n.name(), ": address ", n.address(), " is another node's too"));
    if (!ValidAddress(n.address())) return bad(absl::StrCat("node ", n.name(), ": address '", n.address(), "' is not host:port"));
    if (n.speed() < 0) return bad(absl::StrCat("node ", n.name(), ": negative speed"));
  }
  if (map.this_node().empty()) return bad("this_node is not set");
  if (!names.count(map.this_node())) return bad(absl::StrCat("this_node '", map.this_node(), "' is not one of the nodes"));
  return map;
}

absl::StatusOr<cluster::ClusterMap> LoadClusterMap(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseClusterMap(text, path);
}

cluster::ClusterMap SingleNodeMap() {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  cluster::ClusterMap map;
  map.set_this_node(host);
  map.add_nodes()->set_name(host);
  return map;
}

const cluster::Node* FindNode(const cluster::ClusterMap& map, const std::string& name) {
  for (const cluster::Node& n : map.nodes()) {
    if (n.name() == name) return &n;
  }
  return nullptr;
}

}  // namespace mosix::agent
