#include "cli/cluster_init.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <set>

#include <google/protobuf/text_format.h>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/net.h"
#include "base/status.h"
#include "security/certs.h"

namespace mosix::cli {
namespace {

absl::Status WriteNew(const std::string& path, const std::string& data, mode_t mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return ErrnoStatus("open", tmp);
  absl::Status s = WriteAll(fd, data.data(), data.size(), tmp);
  ::fchmod(fd, mode);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoStatus("rename", tmp);
  return s;
}


}  // namespace

absl::StatusOr<std::string> MakeClusterCredentials(const cluster::ClusterMap& map, const std::string& dir) {
  if (map.nodes().empty()) return absl::InvalidArgumentError("the cluster map has no nodes");
  RETURN_IF_ERROR(MakeDirs(dir, 0700));
  std::string ca_crt = dir + "/ca.crt", ca_key = dir + "/ca.key";
  security::KeyAndCert ca;
  std::string report;
  auto cert = ReadFileToString(ca_crt);
  auto key = ReadFileToString(ca_key);
  if (cert.ok() && key.ok()) {
    ca = {*key, *cert};
  } else {
    std::string name = map.this_node().empty() ? map.nodes(0).name() : map.this_node();
    ASSIGN_OR_RETURN(ca, security::MakeCa(absl::StrCat("of ", map.nodes_size(), " nodes, made on ", name)));
    RETURN_IF_ERROR(WriteNew(ca_key, ca.key_pem, 0600));
    RETURN_IF_ERROR(WriteNew(ca_crt, ca.cert_pem, 0644));
    absl::StrAppend(&report, "CA: ", ca_crt, " (its key ", ca_key, " signs new nodes: keep it safe)\n");
  }
  std::set<std::string> names;
  for (const cluster::Node& n : map.nodes()) {
    if (n.name().empty() || !names.insert(n.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat("the cluster map names node '", n.name(), "' twice or not at all"));
    }
    std::string node_dir = absl::StrCat(dir, "/", n.name());
    if (::access((node_dir + "/node.key").c_str(), F_OK) == 0) continue;
    ASSIGN_OR_RETURN(security::KeyAndCert kc, security::MakeNodeCert(ca, n.name(), HostPart(n.address())));
    RETURN_IF_ERROR(MakeDirs(node_dir, 0700));
    RETURN_IF_ERROR(WriteNew(node_dir + "/ca.crt", ca.cert_pem, 0644));
    RETURN_IF_ERROR(WriteNew(node_dir + "/node.crt", kc.cert_pem, 0644));
    RETURN_IF_ERROR(WriteNew(node_dir + "/node.key", kc.key_pem, 0600));
    absl::StrAppend(&report, "node ", n.name(), ": ", node_dir, "/ (copy to that node's tls_dir, default /etc/mosix/tls)\n");
  }
  return report;
}

int ClusterCommand(int argc, char** argv) {
  auto usage = [] {
    fprintf(stderr, "usage: mosctl cluster init MAP [--out DIR]   (DIR defaults to ./mosix-credentials)\n");
    return 2;
  };
  if (argc < 2 || strcmp(argv[0], "init") != 0) return usage();
  std::string map_path = argv[1], out = "mosix-credentials";
  for (int i = 2; i < argc; ++i) {
    if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
      out = argv[++i];
    } else {
      return usage();
    }
  }
  auto text = ReadFileToString(map_path);
  if (!text.ok()) {
    fprintf(stderr, "mosctl: cannot read %s: %s\n", map_path.c_str(), std::string(text.status().message()).c_str());
    return 1;
  }
  cluster::ClusterMap map;
  if (!google::protobuf::TextFormat::ParseFromString(*text, &map)) {
    fprintf(stderr, "mosctl: %s is not a cluster map (text format of proto/cluster.proto)\n", map_path.c_str());
    return 1;
  }
  auto made = MakeClusterCredentials(map, out);
  if (!made.ok()) {
    fprintf(stderr, "mosctl: %s\n", std::string(made.status().message()).c_str());
    return 1;
  }
  fputs(made->empty() ? "every node of the map has its credentials already\n" : made->c_str(), stdout);
  return 0;
}

}  // namespace mosix::cli
