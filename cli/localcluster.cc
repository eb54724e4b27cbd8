#include "cli/localcluster.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/file_util.h"
#include "base/paths.h"
#include "base/status.h"
#include "cli/cluster_init.h"
#include "cli/cpu_placement.h"
#include "proto/cluster.pb.h"

namespace mosix::cli {
namespace {

constexpr char kProg[] = "mosctl localcluster";
constexpr char kCgroupRoot[] = "/sys/fs/cgroup/cpu";
constexpr char kMemCgroupRoot[] = "/sys/fs/cgroup/memory";
constexpr char kCpusetRoot[] = "/sys/fs/cgroup/cpuset";

int Die(const std::string& msg, int code = 1) {
  fprintf(stderr, "%s: %s\n", kProg, msg.c_str());
  return code;
}

std::string BaseDir() {
  const char* d = getenv("MOSIX_LOCALCLUSTER_DIR");
  return d && *d ? d : "/run/mosix-localcluster";
}

std::string NodeDir(int k) { return absl::StrCat(BaseDir(), "/node", k); }

// The cluster's cgroup under a controller's root: one per cluster directory, so two clusters
// (tests) never share one. Its nodes' cgroups are in it.
std::string ClusterCgroup(const char* root) {
  std::string base = BaseDir();
  return absl::StrCat(root, "/mosix-", base.substr(base.find_last_of('/') + 1));
}

// CPU (cpu controller), memory (memory controller, beside it) and the CPUs a node with a quota
// runs on (cpuset controller; cpu_placement.h).
std::string CgroupParent() { return ClusterCgroup(kCgroupRoot); }
std::string MemCgroupParent() { return ClusterCgroup(kMemCgroupRoot); }
std::string CpusetParent() { return ClusterCgroup(kCpusetRoot); }
std::string NodeCgroup(int k) { return absl::StrCat(CgroupParent(), "/node", k); }
std::string NodeMemCgroup(int k) { return absl::StrCat(MemCgroupParent(), "/node", k); }
std::string NodeCpuset(int k) { return absl::StrCat(CpusetParent(), "/node", k); }

absl::Status WriteFile(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("open", path);
  absl::Status s = WriteAll(fd, data.data(), data.size(), path);
  ::close(fd);
  return s;
}

// Puts pid in node k's cgroups (CPU; memory and cpuset where the node has them).
absl::Status JoinNode(int k, pid_t pid) {
  std::string me = std::to_string(pid);
  if (auto s = WriteFile(NodeCgroup(k) + "/cgroup.procs", me); !s.ok()) return s;
  for (const std::string& cg : {NodeMemCgroup(k), NodeCpuset(k)}) {
    if (::access(cg.c_str(), F_OK) != 0) continue;
    if (auto s = WriteFile(cg + "/cgroup.procs", me); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// The CPUs this process may run on.
std::vector<int> HostCpus() {
  std::vector<int> out;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) out.push_back(c);
  }
  return out;
}

// The mosixd next to this mosctl (installed) or in the Bazel tree; MOSIX_MOSIXD overrides.
std::string MosixdPath() { return FindBesideExecutable("MOSIX_MOSIXD", {"mosixd", "../agent/mosixd"}, X_OK, "mosixd"); }

// Nodes of the running cluster: node1..nodeN with a pid file.
std::vector<int> Nodes() {
  std::vector<int> out;
  for (int k = 1; k < 255; ++k) {
    struct stat st;
    if (::stat(NodeDir(k).c_str(), &st) != 0) break;
    out.push_back(k);
  }
  return out;
}

// The agent's pid if it is alive and is a mosixd.
pid_t AgentPid(int k) {
  auto text = ReadFileToString(NodeDir(k) + "/pid");
  int pid;
  if (!text.ok() || !absl::SimpleAtoi(absl::StripTrailingAsciiWhitespace(*text), &pid) || pid <= 0) return -1;
  auto comm = ReadFileToString(absl::StrCat("/proc/", pid, "/comm"));
  if (!comm.ok() || absl::StripTrailingAsciiWhitespace(*comm) != "mosixd") return -1;
  return pid;
}

// The agent binds its client socket only after everything else is set up.
bool AgentListens(const std::string& socket) {
  struct stat st;
  return ::stat(socket.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// In the forked child: its own cgroup, mount namespace, /tmp and state dir, then mosixd.
[[noreturn]] void StartAgent(int k, const std::string& mosixd) {
  std::string dir = NodeDir(k);
  auto fail = [&](const char* what) {
    dprintf(2, "%s: node%d: %s: %s\n", kProg, k, what, strerror(errno));
    _exit(1);
  };
  setsid();
  if (!JoinNode(k, getpid()).ok()) fail("joining the node's cgroups");
  if (unshare(CLONE_NEWNS) != 0) fail("unshare(CLONE_NEWNS)");
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail("making / private");
  if (mount((dir + "/tmp").c_str(), "/tmp", nullptr, MS_BIND, nullptr) != 0) fail("bind-mounting /tmp");
  if (mount((dir + "/state").c_str(), "/var/lib/mosix", nullptr, MS_BIND, nullptr) != 0) fail("bind-mounting /var/lib/mosix");
  int log = ::open((dir + "/mosixd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  int null = ::open("/dev/null", O_RDONLY);
  dup2(null, 0);
  dup2(log, 1);
  dup2(log, 2);
  // Nothing else of the caller's: an agent started from a script or a job runner must not keep
  // its pipes open (a reader there would never see their end).
  syscall(SYS_close_range, 3, ~0u, 0);
  setenv("MOSIX_SOCKET", (dir + "/mosixd.sock").c_str(), 1);
  setenv("MOSIX_STATE_DIR", "/var/lib/mosix", 1);
  std::string config = dir + "/config.textproto";
  execl(mosixd.c_str(), "mosixd", "--config", config.c_str(), nullptr);
  fail("exec mosixd");
  _exit(1);  // (fail does not return; the compiler cannot see that through the lambda)
}

int Down(bool quiet);

int Up(int argc, char** argv) {
  int n = 0, port = 7700;
  bool insecure = false;
  std::vector<double> quotas;
  std::vector<uint64_t> mem_limits;
  int metrics_port = 0;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--nodes" && i + 1 < argc) {
      if (!absl::SimpleAtoi(argv[++i], &n) || n < 1 || n > 250) return Die("--nodes wants 1..250", 2);
    } else if (a == "--port" && i + 1 < argc) {
      if (!absl::SimpleAtoi(argv[++i], &port) || port < 1 || port > 65535) return Die("--port wants 1..65535", 2);
    } else if (a == "--insecure") {
      insecure = true;  // a trusted network: no TLS between the agents
    } else if (a == "--cpu-quota" && i + 1 < argc) {
      for (absl::string_view q : absl::StrSplit(argv[++i], ',')) {
        double v;
        if (!absl::SimpleAtod(q, &v) || v <= 0) return Die(absl::StrCat("--cpu-quota: '", q, "' is not a positive number of CPUs"), 2);
        quotas.push_back(v);
      }
    } else if (a == "--mem-limit" && i + 1 < argc) {
      for (absl::string_view m : absl::StrSplit(argv[++i], ',')) {
        uint64_t v;
        if (!absl::SimpleAtoi(m, &v)) return Die(absl::StrCat("--mem-limit: '", m, "' is not a number of MB (0: no limit)"), 2);
        mem_limits.push_back(v);
      }
    } else if (a == "--metrics-port" && i + 1 < argc) {
      if (!absl::SimpleAtoi(argv[++i], &metrics_port) || metrics_port < 1 || metrics_port > 65535) return Die("--metrics-port wants 1..65535", 2);
    } else {
      return Die(absl::StrCat("unknown argument '", a, "'"), 2);
    }
  }
  if (n == 0) return Die("up needs --nodes N", 2);
  if (quotas.size() > static_cast<size_t>(n)) return Die("more --cpu-quota values than nodes", 2);
  if (mem_limits.size() > static_cast<size_t>(n)) return Die("more --mem-limit values than nodes", 2);
  bool memory_controller = ::access(kMemCgroupRoot, F_OK) == 0;
  if (!mem_limits.empty() && !memory_controller) return Die(absl::StrCat("--mem-limit: no cgroup-v1 memory controller at ", kMemCgroupRoot));
  for (int k : Nodes()) {
    if (AgentPid(k) > 0) return Die(absl::StrCat("a local cluster is already up in ", BaseDir(), " (mosctl localcluster down first)"));
  }
  (void)Down(/*quiet=*/true);  // leftovers of a cluster that died
  struct stat st;
  if (::stat(kCgroupRoot, &st) != 0) return Die(absl::StrCat("no cgroup-v1 cpu controller at ", kCgroupRoot));
  if (auto s = MakeDirs("/var/lib/mosix", 0755); !s.ok()) return Die(std::string(s.message()));
  if (auto s = MakeDirs(CgroupParent(), 0755); !s.ok()) return Die(std::string(s.message()));
  if (memory_controller) {
    if (auto s = MakeDirs(MemCgroupParent(), 0755); !s.ok()) return Die(std::string(s.message()));
  }
  // Nodes with a CPU quota run on CPUs of their own (cpu_placement.h), where there is a cpuset
  // controller. A cpuset needs its CPUs and memory nodes before it takes tasks.
  std::vector<NodeCpus> placement;
  std::string mems;
  // Node k's CPUs ("" when it is not pinned).
  auto cpus_of = [&placement](int k) {
    return static_cast<size_t>(k) <= placement.size() ? CpuList(placement[k - 1].cpus) : std::string();
  };
  if (auto root_mems = ReadFileToString(absl::StrCat(kCpusetRoot, "/cpuset.mems")); root_mems.ok() && !quotas.empty()) {
    mems = std::string(absl::StripAsciiWhitespace(*root_mems));
    std::vector<std::string> over;
    placement = PlaceNodes(quotas, HostCpus(), &over);
    if (!over.empty()) {
      fprintf(stderr, "%s: more CPU quota than CPUs (%s): those nodes get less than their quotas\n", kProg,
              absl::StrJoin(over, ", ").c_str());
    }
    std::string parent = CpusetParent();
    auto all = ReadFileToString(absl::StrCat(kCpusetRoot, "/cpuset.cpus"));
    if (auto s = MakeDirs(parent, 0755); !s.ok()) return Die(std::string(s.message()));
    if (!all.ok()) return Die(std::string(all.status().message()));
    if (auto s = WriteFile(parent + "/cpuset.cpus", std::string(absl::StripAsciiWhitespace(*all))); !s.ok()) return Die(std::string(s.message()));
    if (auto s = WriteFile(parent + "/cpuset.mems", mems); !s.ok()) return Die(std::string(s.message()));
  }

  // Every user reaches the nodes' sockets; the credentials below stay root's.
  if (auto s = MakeDirs(BaseDir(), 0755); !s.ok()) return Die(std::string(s.message()));
  ::chmod(BaseDir().c_str(), 0755);
  std::string map;
  cluster::ClusterMap nodes;
  for (int k = 1; k <= n; ++k) {
    // (One machine: the nodes' CPUs are alike, speed 1; they differ by their CPU quotas.)
    absl::StrAppend(&map, "nodes { name: \"node", k, "\" address: \"127.0.0.", k, ":", port, "\" speed: 1",
                    metrics_port ? absl::StrCat(" metrics_address: \"127.0.0.", k, ":", metrics_port, "\"") : "", " }\n");
    cluster::Node* node = nodes.add_nodes();
    node->set_name(absl::StrCat("node", k));
    node->set_address(absl::StrCat("127.0.0.", k, ":", port));
  }
  if (insecure) {
    absl::StrAppend(&map, "insecure: true\n");
  } else {
    // The cluster's own CA and a certificate per node, as `mosctl cluster init` makes them.
    auto made = MakeClusterCredentials(nodes, BaseDir() + "/tls");
    if (!made.ok()) return Die(std::string(made.status().message()));
  }
  std::string mosixd = MosixdPath();
  std::vector<pid_t> children;
  for (int k = 1; k <= n; ++k) {
    std::string dir = NodeDir(k);
    for (const char* sub : {"/tmp", "/state"}) {
      if (auto s = MakeDirs(dir + sub, 0755); !s.ok()) return Die(std::string(s.message()));
    }
    ::chmod((dir + "/tmp").c_str(), 01777);
    std::string tls = insecure ? "" : absl::StrCat("tls_dir: \"", BaseDir(), "/tls/node", k, "\"\n");
    // Each node is its cgroup: its CPU quota is its CPUs, its tasks its load.
    if (auto s = WriteFile(dir + "/config.textproto", absl::StrCat("this_node: \"node", k, "\"\n", tls, "node_is_cgroup: true\n", map));
        !s.ok()) {
      return Die(std::string(s.message()));
    }
    std::string cg = NodeCgroup(k);
    if (auto s = MakeDirs(cg, 0755); !s.ok()) return Die(std::string(s.message()));
    double quota = static_cast<size_t>(k) <= quotas.size() ? quotas[k - 1] : 0;
    (void)WriteFile(cg + "/cpu.cfs_period_us", "100000");
    if (auto s = WriteFile(cg + "/cpu.cfs_quota_us", quota > 0 ? std::to_string(static_cast<long>(quota * 100000)) : "-1"); !s.ok()) {
      return Die(std::string(s.message()));
    }
    if (std::string cpus = cpus_of(k); !cpus.empty()) {
      std::string cs = NodeCpuset(k);
      if (auto s = MakeDirs(cs, 0755); !s.ok()) return Die(std::string(s.message()));
      if (auto s = WriteFile(cs + "/cpuset.cpus", cpus); !s.ok()) return Die(std::string(s.message()));
      if (auto s = WriteFile(cs + "/cpuset.mems", mems); !s.ok()) return Die(std::string(s.message()));
    }
    if (memory_controller) {
      std::string mcg = NodeMemCgroup(k);
      if (auto s = MakeDirs(mcg, 0755); !s.ok()) return Die(std::string(s.message()));
      uint64_t mb = static_cast<size_t>(k) <= mem_limits.size() ? mem_limits[k - 1] : 0;
      if (auto s = WriteFile(mcg + "/memory.limit_in_bytes", mb > 0 ? std::to_string(mb << 20) : "-1"); !s.ok()) {
        return Die(std::string(s.message()));
      }
    }
    pid_t pid = fork();
    if (pid < 0) return Die(absl::StrCat("fork: ", strerror(errno)));
    if (pid == 0) StartAgent(k, mosixd);
    children.push_back(pid);
    (void)WriteFile(dir + "/pid", std::to_string(pid) + "\n");
  }
  // Wait until every agent listens (a generous deadline; they start in milliseconds).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (int k = 1; k <= n; ++k) {
    std::string sock = NodeDir(k) + "/mosixd.sock";
    while (!AgentListens(sock)) {
      int status;
      bool died = waitpid(children[k - 1], &status, WNOHANG) == children[k - 1];
      if (died || std::chrono::steady_clock::now() > deadline) {
        auto log = ReadFileToString(NodeDir(k) + "/mosixd.log");
        (void)Down(/*quiet=*/true);
        return Die(absl::StrCat("node", k, " did not start: ", log.ok() ? std::string(absl::StripTrailingAsciiWhitespace(*log)) : "no log"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  for (int k = 1; k <= n; ++k) {
    double quota = static_cast<size_t>(k) <= quotas.size() ? quotas[k - 1] : 0;
    uint64_t mb = static_cast<size_t>(k) <= mem_limits.size() ? mem_limits[k - 1] : 0;
    std::string cpus = cpus_of(k);
    printf("node%d  127.0.0.%d:%d  pid %d  cpu %s  memory %s  MOSIX_SOCKET=%s/mosixd.sock\n", k, k, port, AgentPid(k),
           quota <= 0 ? "unlimited" : absl::StrCat(quota, cpus.empty() ? "" : absl::StrCat(" (CPU ", cpus, ")")).c_str(),
           mb > 0 ? absl::StrCat(mb, " MB").c_str() : "unlimited",
           NodeDir(k).c_str());
  }
  return 0;
}

// node "nodeK" of the running cluster, as K; 0 (after saying why) if there is none.
int NodeNumber(const std::string& node) {
  int k;
  if (!absl::StartsWith(node, "node") || !absl::SimpleAtoi(node.substr(4), &k) || k < 1) {
    Die(absl::StrCat("no node '", node, "' (nodes are node1..nodeN)"));
    return 0;
  }
  struct stat st;
  if (::stat(NodeDir(k).c_str(), &st) != 0) {
    Die(absl::StrCat("no node '", node, "' in the local cluster in ", BaseDir()));
    return 0;
  }
  return k;
}

// Stops node k's agent: SIGTERM (it stops as it would on a real machine), or SIGKILL (a crash),
// and waits until it is gone. The node's other processes (its users' programs) go on.
int StopNode(int k, bool crash) {
  pid_t pid = AgentPid(k);
  if (pid < 0) return Die(absl::StrCat("node", k, "'s agent is not running"));
  kill(pid, crash ? SIGKILL : SIGTERM);
  // (Stopping, it first sends its guests home: give it time.)
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(crash ? 30 : 90);
  while (AgentPid(k) == pid && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (AgentPid(k) == pid) {
    kill(pid, SIGKILL);
    while (AgentPid(k) == pid) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  printf("node%d: agent (pid %d) %s\n", k, pid, crash ? "killed" : "stopped");
  return 0;
}

// Starts node k's agent again, as `up` started it (same address, state and /tmp).
int StartNode(int k) {
  if (AgentPid(k) > 0) return Die(absl::StrCat("node", k, "'s agent is already running (pid ", AgentPid(k), ")"));
  std::string sock = NodeDir(k) + "/mosixd.sock";
  ::unlink(sock.c_str());  // (the one the stopped agent left: its listening is awaited below)
  pid_t pid = fork();
  if (pid < 0) return Die(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) StartAgent(k, MosixdPath());
  (void)WriteFile(NodeDir(k) + "/pid", std::to_string(pid) + "\n");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!AgentListens(sock)) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid || std::chrono::steady_clock::now() > deadline) {
      return Die(absl::StrCat("node", k, " did not start; see ", NodeDir(k), "/mosixd.log"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  printf("node%d: agent started (pid %d)\n", k, pid);
  return 0;
}

int NodeCommand(const std::string& cmd, int argc, char** argv) {
  bool crash = argc == 2 && strcmp(argv[1], "--kill") == 0;
  if (argc < 1 || argc > 2 || (argc == 2 && (!crash || cmd == "start"))) {
    return Die(absl::StrCat("usage: mosctl localcluster ", cmd, " NODE", cmd == "start" ? "" : " [--kill]"), 2);
  }
  int k = NodeNumber(argv[0]);
  if (k == 0) return 1;
  if (cmd == "stop") return StopNode(k, crash);
  if (cmd == "start") return StartNode(k);
  if (AgentPid(k) > 0) {  // (restart: a node whose agent is down is only started)
    int stopped = StopNode(k, crash);
    if (stopped != 0) return stopped;
  }
  return StartNode(k);
}

int Exec(int argc, char** argv) {
  if (argc < 3 || strcmp(argv[1], "--") != 0) return Die("usage: mosctl localcluster exec NODE -- CMD [ARGS...]", 2);
  std::string node = argv[0];
  int k;
  if (!absl::StartsWith(node, "node") || !absl::SimpleAtoi(node.substr(4), &k)) return Die(absl::StrCat("no node '", node, "' (nodes are node1..nodeN)"));
  pid_t agent = AgentPid(k);
  if (agent < 0) return Die(absl::StrCat("node '", node, "' is not up in ", BaseDir()));
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, "/");
  std::string ns = absl::StrCat("/proc/", agent, "/ns/mnt");
  int fd = ::open(ns.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNS) != 0) return Die(absl::StrCat("cannot enter ", ns, ": ", strerror(errno)));
  ::close(fd);
  if (chdir(cwd) != 0 && chdir("/") != 0) return Die(absl::StrCat("cannot enter ", cwd, " or / in ", node, ": ", strerror(errno)));
  if (auto s = JoinNode(k, getpid()); !s.ok()) return Die(std::string(s.message()));
  setenv("MOSIX_SOCKET", (NodeDir(k) + "/mosixd.sock").c_str(), 1);
  execvp(argv[2], argv + 2);
  return Die(absl::StrCat("cannot run '", argv[2], "': ", strerror(errno)), errno == ENOENT ? 127 : 126);
}

// Stops agents, then whatever still runs in the nodes' cgroups; removes cgroups and dirs.
int Down(bool quiet) {
  std::vector<int> nodes = Nodes();
  for (int k : nodes) {
    pid_t pid = AgentPid(k);
    if (pid > 0) kill(pid, SIGTERM);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int k : nodes) {
    pid_t pid;
    while ((pid = AgentPid(k)) > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (pid > 0) kill(pid, SIGKILL);
  }
  int left = 0;
  for (int k : nodes) {
    std::string cg = NodeCgroup(k);
    for (int round = 0; round < 100; ++round) {
      auto procs = ReadFileToString(cg + "/cgroup.procs");
      if (!procs.ok() || absl::StripAsciiWhitespace(*procs).empty()) break;
      for (absl::string_view p : absl::StrSplit(*procs, '\n', absl::SkipEmpty())) {
        int pid;
        if (absl::SimpleAtoi(p, &pid)) kill(pid, SIGKILL);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (::rmdir(cg.c_str()) != 0 && errno != ENOENT) ++left;
    if (::rmdir(NodeMemCgroup(k).c_str()) != 0 && errno != ENOENT) ++left;
    if (::rmdir(NodeCpuset(k).c_str()) != 0 && errno != ENOENT) ++left;
  }
  if (::rmdir(CgroupParent().c_str()) != 0 && errno != ENOENT) ++left;
  if (::rmdir(MemCgroupParent().c_str()) != 0 && errno != ENOENT) ++left;
  if (::rmdir(CpusetParent().c_str()) != 0 && errno != ENOENT) ++left;
  std::string rm = absl::StrCat("rm -rf '", BaseDir(), "'");
  if (system(rm.c_str()) != 0) ++left;
  if (!quiet) {
    if (left) return Die("some cgroups or files could not be removed");
    printf("local cluster in %s is down (%zu nodes)\n", BaseDir().c_str(), nodes.size());
  }
  return left ? 1 : 0;
}

int Status() {
  std::vector<int> nodes = Nodes();
  if (nodes.empty()) {
    printf("no local cluster in %s\n", BaseDir().c_str());
    return 1;
  }
  for (int k : nodes) {
    pid_t pid = AgentPid(k);
    printf("node%d  %s  MOSIX_SOCKET=%s/mosixd.sock\n", k, pid > 0 ? absl::StrCat("up, pid ", pid).c_str() : "DOWN",
           NodeDir(k).c_str());
  }
  return 0;
}

}  // namespace

int LocalCluster(int argc, char** argv) {
  if (argc < 1) return Die("usage: mosctl localcluster up|exec|down|status|stop|start|restart ...", 2);
  if (geteuid() != 0) return Die("must run as root (it makes mount namespaces and cgroups)");
  std::string cmd = argv[0];
  if (cmd == "up") return Up(argc - 1, argv + 1);
  if (cmd == "exec") return Exec(argc - 1, argv + 1);
  if (cmd == "down") return Down(false);
  if (cmd == "status") return Status();
  if (cmd == "stop" || cmd == "start" || cmd == "restart") return NodeCommand(cmd, argc - 1, argv + 1);
  return Die(absl::StrCat("unknown subcommand '", cmd, "' (up, exec, down, status, stop, start, restart)"), 2);
}

}  // namespace mosix::cli
