#include "checkpoint/creds.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <algorithm>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/file_util.h"
#include "base/status.h"
#include "checkpoint/procfs.h"

namespace mosix {
namespace {

absl::Status BadStatus(const std::string& what) {
  return absl::DataLossError(absl::StrCat("unreadable ", what, " line in a process's status"));
}

absl::Status FourIds(const std::string& text, const char* key, uint32_t out[4]) {
  ASSIGN_OR_RETURN(std::string line, StatusField(text, key));
  std::vector<std::string> parts = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (parts.size() != 4) return BadStatus(key);
  for (int i = 0; i < 4; ++i) {
    if (!absl::SimpleAtoi(parts[i], &out[i])) return BadStatus(key);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Hex(const std::string& text, const char* key) {
  ASSIGN_OR_RETURN(std::string v, StatusField(text, key));
  uint64_t out = 0;
  if (!absl::SimpleHexAtoi(v, &out)) return BadStatus(key);
  return out;
}

}  // namespace

absl::StatusOr<image::Credentials> ParseCredentials(const std::string& text) {
  image::Credentials c;
  uint32_t u[4], g[4];
  RETURN_IF_ERROR(FourIds(text, "Uid", u));
  RETURN_IF_ERROR(FourIds(text, "Gid", g));
  c.set_uid(u[0]);
  c.set_euid(u[1]);
  c.set_suid(u[2]);
  c.set_fsuid(u[3]);
  c.set_gid(g[0]);
  c.set_egid(g[1]);
  c.set_sgid(g[2]);
  c.set_fsgid(g[3]);
  ASSIGN_OR_RETURN(std::string groups, StatusField(text, "Groups"));
  for (absl::string_view s : absl::StrSplit(groups, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
    uint32_t gid;
    if (!absl::SimpleAtoi(s, &gid)) return BadStatus("Groups");
    c.add_groups(gid);
  }
  ASSIGN_OR_RETURN(uint64_t inh, Hex(text, "CapInh"));
  ASSIGN_OR_RETURN(uint64_t prm, Hex(text, "CapPrm"));
  ASSIGN_OR_RETURN(uint64_t eff, Hex(text, "CapEff"));
  ASSIGN_OR_RETURN(uint64_t bnd, Hex(text, "CapBnd"));
  c.set_cap_inheritable(inh);
  c.set_cap_permitted(prm);
  c.set_cap_effective(eff);
  c.set_cap_bounding(bnd);
  if (auto amb = Hex(text, "CapAmb"); amb.ok()) c.set_cap_ambient(*amb);
  if (auto nnp = StatusField(text, "NoNewPrivs"); nnp.ok()) c.set_no_new_privs(*nnp == "1");
  return c;
}

absl::StatusOr<image::Credentials> ReadCredentials(pid_t pid) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(absl::StrCat("/proc/", pid, "/status")));
  auto c = ParseCredentials(text);
  if (!c.ok()) return Annotate(c.status(), absl::StrCat("pid ", pid));
  return c;
}

bool MayControl(uid_t uid, const image::Credentials& t) { return uid == 0 || uid == t.uid() || uid == t.suid(); }

FsIdentity FileIdentity(const image::Credentials& c) {
  return FsIdentity{c.fsuid(), c.fsgid(), {c.groups().begin(), c.groups().end()}};
}

bool SingleIdentity(const image::Credentials& c) {
  return c.uid() == c.euid() && c.uid() == c.suid() && c.uid() == c.fsuid() && c.gid() == c.egid() && c.gid() == c.sgid() &&
         c.gid() == c.fsgid();
}

absl::Status TakeIdentity(RemoteSyscalls& rs, uint64_t scratch, const image::Credentials& want, Identity identity) {
  pid_t pid = rs.task()->pid();
  if (identity == Identity::kImageOwner) {
    std::vector<gid_t> groups(want.groups().begin(), want.groups().end());
    if (groups.size() > 4096) return absl::InvalidArgumentError("image lists more than 4096 supplementary groups");
    ASSIGN_OR_RETURN(image::Credentials before, ReadCredentials(pid));
    std::vector<gid_t> had(before.groups().begin(), before.groups().end()), sorted = groups;
    std::sort(had.begin(), had.end());
    std::sort(sorted.begin(), sorted.end());
    bool same_ids = before.uid() == want.uid() && before.euid() == want.euid() && before.suid() == want.suid() &&
                    before.fsuid() == want.fsuid() && before.gid() == want.gid() && before.egid() == want.egid() &&
                    before.sgid() == want.sgid() && before.fsgid() == want.fsgid();
    if (!same_ids || had != sorted) {  // (a no-op change may be refused, in a user namespace)
      if (!groups.empty()) RETURN_IF_ERROR(rs.task()->WriteMem(scratch, groups.data(), groups.size() * sizeof(gid_t)));
      RETURN_IF_ERROR(rs.Call("setgroups", "", SYS_setgroups, groups.size(), scratch).status());
      RETURN_IF_ERROR(rs.Call("setresgid", "", SYS_setresgid, want.gid(), want.egid(), want.sgid()).status());
      (void)rs.Raw(SYS_setfsgid, want.fsgid());
      RETURN_IF_ERROR(rs.Call("setresuid", "", SYS_setresuid, want.uid(), want.euid(), want.suid()).status());
      (void)rs.Raw(SYS_setfsuid, want.fsuid());
    }
    // A change of uids from 0 drops every capability; an owner that is root keeps no more
    // than the image had (and than the stub had: capset cannot add).
    ASSIGN_OR_RETURN(image::Credentials now, ReadCredentials(pid));
    uint64_t prm = now.cap_permitted() & want.cap_permitted();
    uint64_t eff = prm & want.cap_effective();
    uint64_t inh = now.cap_inheritable() & want.cap_inheritable();
    if (prm != now.cap_permitted() || eff != now.cap_effective() || inh != now.cap_inheritable()) {
      __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
      __user_cap_data_struct data[2] = {
          {static_cast<uint32_t>(eff), static_cast<uint32_t>(prm), static_cast<uint32_t>(inh)},
          {static_cast<uint32_t>(eff >> 32), static_cast<uint32_t>(prm >> 32), static_cast<uint32_t>(inh >> 32)}};
      RETURN_IF_ERROR(rs.task()->WriteMem(scratch, &header, sizeof header));
      RETURN_IF_ERROR(rs.task()->WriteMem(scratch + 64, data, sizeof data));
      RETURN_IF_ERROR(rs.Call("capset", "", SYS_capset, scratch, scratch + 64).status());
    }
    (void)rs.Raw(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    // Changing uids made it undumpable: its owner could not trace it or read its /proc.
    RETURN_IF_ERROR(rs.Call("prctl(PR_SET_DUMPABLE)", "", SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0).status());
  }
  if (want.no_new_privs()) {
    RETURN_IF_ERROR(rs.Call("prctl(PR_SET_NO_NEW_PRIVS)", "", SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0).status());
  }
  if (identity != Identity::kImageOwner) return absl::OkStatus();
  ASSIGN_OR_RETURN(image::Credentials got, ReadCredentials(pid));
  bool same = got.uid() == want.uid() && got.euid() == want.euid() && got.suid() == want.suid() &&
              got.fsuid() == want.fsuid() && got.gid() == want.gid() && got.egid() == want.egid() &&
              got.sgid() == want.sgid() && got.fsgid() == want.fsgid();
  if (!same || (got.cap_permitted() & ~want.cap_permitted()) != 0) {
    return absl::InternalError(absl::StrCat("pid ", pid, " did not take on the credentials of uid ", want.uid()));
  }
  return absl::OkStatus();
}

absl::Status SetRlimits(RemoteSyscalls& rs, uint64_t code, uint64_t table, uint64_t scratch, const image::Rlimits& limits) {
  const int n = limits.limits_size();
  if (n == 0) return absl::OkStatus();
  if (n > RLIM_NLIMITS) return absl::DataLossError("image has more resource limits than there are");
  std::vector<RemoteSyscalls::BatchCall> get;
  for (int i = 0; i < n; ++i) {
    int res = limits.limits(i).resource();
    if (res < 0 || res >= RLIM_NLIMITS) return absl::DataLossError(absl::StrCat("image has an unknown resource limit ", res));
    get.push_back({SYS_prlimit64, {0, static_cast<uint64_t>(res), 0, scratch + i * sizeof(rlimit64), 0, 0}});
  }
  ASSIGN_OR_RETURN(std::vector<long> got, rs.Batch(code, table, get));
  std::vector<rlimit64> cur(n);
  RETURN_IF_ERROR(rs.task()->ReadMem(scratch, cur.data(), n * sizeof(rlimit64)));
  std::vector<rlimit64> want(n);
  std::vector<RemoteSyscalls::BatchCall> set;
  for (int i = 0; i < n; ++i) {
    if (got[i] < 0) return ErrnoStatus(static_cast<int>(-got[i]), "prlimit", absl::StrCat("resource ", limits.limits(i).resource()));
    uint64_t max = std::min<uint64_t>(limits.limits(i).max(), cur[i].rlim_max);
    want[i] = {std::min<uint64_t>(limits.limits(i).cur(), max), max};
    set.push_back({SYS_prlimit64, {0, static_cast<uint64_t>(limits.limits(i).resource()), scratch + i * sizeof(rlimit64), 0, 0, 0}});
  }
  RETURN_IF_ERROR(rs.task()->WriteMem(scratch, want.data(), n * sizeof(rlimit64)));
  ASSIGN_OR_RETURN(got, rs.Batch(code, table, set));
  for (int i = 0; i < n; ++i) {
    if (got[i] < 0) return ErrnoStatus(static_cast<int>(-got[i]), "prlimit", absl::StrCat("resource ", limits.limits(i).resource()));
  }
  return absl::OkStatus();
}

}  // namespace mosix
