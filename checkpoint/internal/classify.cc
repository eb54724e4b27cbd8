#include "checkpoint/internal/classify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/fd.h"
#include "base/file_util.h"
#include "base/status.h"
#include "checkpoint/internal/unix_sockets.h"

namespace mosix::internal {

absl::StatusOr<image::Vma::Kind> ClassifyVma(const MapEntry& e) {
  auto refuse = [&](absl::string_view why) {
    return absl::FailedPreconditionError(absl::StrFormat("%s at %#x-%#x", why, e.start, e.end));
  };
  if (e.path == "[vdso]") return image::Vma::VDSO;
  if (e.path == "[vvar]" || e.path == "[vvar_vclock]") return image::Vma::VVAR;
  if (e.path == "[vsyscall]") return image::Vma::VSYSCALL;
  if (e.path == "[stack]") return image::Vma::STACK;
  if (absl::StartsWith(e.path, "/SYSV")) return refuse("SysV shared memory segment");
  bool anon = e.path.empty() || e.path[0] == '[';
  if (e.shared) {
    if (absl::StartsWith(e.path, "/dev/zero") || e.path == "[anon_shmem]") return image::Vma::ANON_SHARED;
    if (anon) return refuse(absl::StrCat("shared mapping ", e.path));
    if (e.prot & PROT_WRITE) return refuse(absl::StrCat("writable MAP_SHARED mapping of ", e.path));
    if (absl::EndsWith(e.path, " (deleted)")) return refuse(absl::StrCat("shared mapping of deleted file ", e.path));
    return image::Vma::FILE_SHARED;
  }
  if (anon) return image::Vma::ANON;
  // A private mapping of a file that is gone (or a memfd) keeps all its pages in the image.
  if (absl::EndsWith(e.path, " (deleted)") || absl::StartsWith(e.path, "/memfd:")) return image::Vma::ANON;
  return image::Vma::FILE_PRIVATE;
}

namespace {

// A number of fdinfo's "key:" line (StatusField: the same "Key: value" lines as status).
absl::StatusOr<uint64_t> FdInfoNumber(const std::string& text, const std::string& key, int base) {
  auto v = StatusField(text, key);
  uint64_t n = 0;
  bool ok = v.ok() && (base == 16 ? absl::SimpleHexAtoi(*v, &n) : absl::SimpleAtoi(*v, &n));
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("fdinfo has no readable '", key, "'"));
  return n;
}

// "(seconds, nanoseconds)" of a timerfd's fdinfo, in ns.
absl::StatusOr<uint64_t> FdInfoTime(const std::string& text, const std::string& key) {
  auto field = StatusField(text, key);
  absl::string_view v = field.ok() ? absl::string_view(*field) : absl::string_view();
  uint64_t s = 0, ns = 0;
  if (field.ok() && absl::ConsumePrefix(&v, "(") && absl::ConsumeSuffix(&v, ")")) {
    std::vector<absl::string_view> parts = absl::StrSplit(v, ',');
    if (parts.size() == 2 && absl::SimpleAtoi(absl::StripAsciiWhitespace(parts[0]), &s) &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(parts[1]), &ns) && s < (1ull << 32)) {
      return s * 1000000000ull + ns;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("fdinfo has no readable '", key, "'"));
}

}  // namespace

absl::StatusOr<bool> ParseKernelFd(const std::string& target, const std::string& info, image::Fd* e,
                                   KernelFdRefs* refs) {
  if (target == "anon_inode:[eventfd]") {
    ASSIGN_OR_RETURN(uint64_t count, FdInfoNumber(info, "eventfd-count", 16));
    e->set_kind(image::Fd::EVENTFD);
    e->mutable_eventfd()->set_count(count);
    e->mutable_eventfd()->set_semaphore(FdInfoNumber(info, "eventfd-semaphore", 10).value_or(0) != 0);
    return true;
  }
  if (target == "anon_inode:[signalfd]") {
    ASSIGN_OR_RETURN(uint64_t mask, FdInfoNumber(info, "sigmask", 16));
    e->set_kind(image::Fd::SIGNALFD);
    e->mutable_signalfd()->set_mask(mask);
    return true;
  }
  if (target == "anon_inode:[timerfd]") {
    ASSIGN_OR_RETURN(uint64_t clock, FdInfoNumber(info, "clockid", 10));
    ASSIGN_OR_RETURN(uint64_t ticks, FdInfoNumber(info, "ticks", 10));
    ASSIGN_OR_RETURN(uint64_t value, FdInfoTime(info, "it_value"));
    ASSIGN_OR_RETURN(uint64_t interval, FdInfoTime(info, "it_interval"));
    e->set_kind(image::Fd::TIMERFD);
    image::TimerFd* t = e->mutable_timerfd();
    t->set_clock_id(static_cast<int32_t>(clock));
    t->set_ticks(ticks);
    t->set_value_ns(value);
    t->set_interval_ns(interval);
    return true;
  }
  if (target == "anon_inode:[eventpoll]") {
    e->set_kind(image::Fd::EPOLL);
    image::Epoll* ep = e->mutable_epoll();
    for (absl::string_view line : absl::StrSplit(info, '\n')) {
      if (!absl::StartsWith(line, "tfd:")) continue;
      // "tfd: %8d events: %8x data: %16llx  pos:%lli ino:%lx sdev:%x"
      std::vector<absl::string_view> w = absl::StrSplit(line, ' ', absl::SkipEmpty());
      int32_t fd = -1;
      uint32_t events = 0;
      uint64_t data = 0, ino = 0;
      if (w.size() < 8 || w[0] != "tfd:" || w[2] != "events:" || w[4] != "data:" || !absl::SimpleAtoi(w[1], &fd) ||
          !absl::SimpleHexAtoi(w[3], &events) || !absl::SimpleHexAtoi(w[5], &data) || !absl::StartsWith(w[7], "ino:") ||
          !absl::SimpleHexAtoi(w[7].substr(4), &ino)) {
        return absl::InvalidArgumentError(absl::StrCat("unreadable epoll entry '", line, "'"));
      }
      image::Epoll::Target* t = ep->add_targets();
      t->set_fd(fd);
      t->set_events(events);
      t->set_data(data);
      if (refs) refs->inodes.push_back(ino);
    }
    return true;
  }
  if (target == "anon_inode:inotify") {
    e->set_kind(image::Fd::INOTIFY);
    std::vector<std::pair<image::Inotify::Watch, KernelFdRefs::Handle>> watches;
    for (absl::string_view line : absl::StrSplit(info, '\n')) {
      if (!absl::ConsumePrefix(&line, "inotify ")) continue;
      // "wd:%x ino:%lx sdev:%x mask:%x ignored_mask:%x fhandle-bytes:%x fhandle-type:%x f_handle:%02x..."
      std::map<absl::string_view, absl::string_view> f;
      for (absl::string_view word : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
        std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(word, absl::MaxSplits(':', 1));
        f[kv.first] = kv.second;
      }
      uint32_t wd = 0, mask = 0, dev = 0, type = 0;
      uint64_t ino = 0;
      std::string handle = absl::HexStringToBytes(f["f_handle"]);
      if (!absl::SimpleHexAtoi(f["wd"], &wd) || !absl::SimpleHexAtoi(f["mask"], &mask) || !absl::SimpleHexAtoi(f["sdev"], &dev) ||
          !absl::SimpleHexAtoi(f["fhandle-type"], &type) || !absl::SimpleHexAtoi(f["ino"], &ino) || wd == 0 || wd > INT32_MAX || f["f_handle"].empty() ||
          handle.size() * 2 != f["f_handle"].size()) {
        return absl::InvalidArgumentError(absl::StrCat("unreadable inotify watch '", line, "'"));
      }
      image::Inotify::Watch w;
      w.set_wd(static_cast<int32_t>(wd));
      w.set_mask(mask);
      watches.push_back({w, KernelFdRefs::Handle{dev, ino, static_cast<int>(type), handle}});
    }
    std::sort(watches.begin(), watches.end(), [](const auto& a, const auto& b) { return a.first.wd() < b.first.wd(); });
    for (auto& [w, h] : watches) {
      *e->mutable_inotify()->add_watches() = w;
      if (refs) refs->handles.push_back(std::move(h));
    }
    return true;
  }
  return false;
}

namespace {

// The path of the file (dev, ino) among pid's open files and its cwd, if it is one of them.
std::optional<std::string> PathAmongOpenFiles(pid_t pid, dev_t dev, uint64_t ino) {
  std::vector<std::string> links = {absl::StrCat("/proc/", pid, "/cwd")};
  if (auto fds = ListFds(pid); fds.ok()) {
    for (int fd : *fds) links.push_back(absl::StrCat("/proc/", pid, "/fd/", fd));
  }
  for (const std::string& link : links) {
    struct stat st;
    if (::stat(link.c_str(), &st) != 0 || st.st_dev != dev || st.st_ino != ino) continue;
    auto path = ReadLink(link);
    if (path.ok() && !path->empty() && (*path)[0] == '/' && !absl::EndsWith(*path, " (deleted)")) return *path;
  }
  return std::nullopt;
}

// By open_by_handle_at, on a mount of the file's filesystem as pid sees its mounts.
absl::StatusOr<std::string> PathByHandle(pid_t pid, const KernelFdRefs::Handle& h) {
  std::string mountinfo_path = absl::StrCat("/proc/", pid, "/mountinfo");
  ASSIGN_OR_RETURN(std::string mountinfo, ReadFileToString(mountinfo_path));
  std::string dev = absl::StrCat(h.kernel_dev >> 20, ":", h.kernel_dev & 0xfffff);
  std::optional<std::string> mount_point;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n')) {
    std::vector<absl::string_view> w = absl::StrSplit(line, ' ');
    if (w.size() > 4 && w[2] == dev) {
      std::string unescaped;
      if (!absl::CUnescape(w[4], &unescaped)) continue;  // (\040 for a blank, ...)
      mount_point = unescaped;
      break;
    }
  }
  if (!mount_point) return absl::NotFoundError(absl::StrCat("no mount of device ", dev, " in ", mountinfo_path));
  std::string root = absl::StrCat("/proc/", pid, "/root", *mount_point);
  UniqueFd mount_fd(::open(root.c_str(), O_RDONLY | O_CLOEXEC));  // (not O_PATH: open_by_handle_at refuses it)
  if (!mount_fd.valid()) return ErrnoStatus("open", root);
  std::string buf(sizeof(file_handle) + h.bytes.size(), '\0');
  auto* fh = reinterpret_cast<file_handle*>(buf.data());
  fh->handle_bytes = static_cast<unsigned>(h.bytes.size());
  fh->handle_type = h.type;
  memcpy(fh->f_handle, h.bytes.data(), h.bytes.size());
  UniqueFd file(::open_by_handle_at(mount_fd.get(), fh, O_PATH | O_CLOEXEC));
  if (!file.valid() && errno == ESTALE) return absl::NotFoundError(absl::StrCat("a file on ", *mount_point, " is gone"));
  if (!file.valid()) return ErrnoStatus("open_by_handle_at", absl::StrCat("a file on ", *mount_point));
  ASSIGN_OR_RETURN(std::string path, ReadLink(absl::StrCat("/proc/self/fd/", file.get())));
  if (absl::EndsWith(path, " (deleted)")) return absl::NotFoundError(absl::StrCat(path, ": the file is gone"));
  return path;
}

}  // namespace

absl::StatusOr<std::string> PathOfHandle(pid_t pid, const KernelFdRefs::Handle& h) {
  auto by_handle = PathByHandle(pid, h);
  if (by_handle.ok() || absl::IsNotFound(by_handle.status())) return by_handle;
  if (auto open = PathAmongOpenFiles(pid, makedev(h.kernel_dev >> 20, h.kernel_dev & 0xfffff), h.ino)) return *open;
  return by_handle.status();
}

absl::StatusOr<std::vector<image::Fd>> ReadFdTable(pid_t pid, int channel_fd, const std::vector<int>& skip,
                                                   FdFate fate) {
  ASSIGN_OR_RETURN(std::vector<int> fds, ListFds(pid));
  std::vector<image::Fd> out;
  std::optional<std::map<uint64_t, UnixSocket>> unix_sockets;
  for (int fd : fds) {
    if (fd == channel_fd || std::find(skip.begin(), skip.end(), fd) != skip.end()) continue;
    std::string link_path = absl::StrCat("/proc/", pid, "/fd/", fd);
    auto target = ReadLink(link_path);
    if (!target.ok()) {
      if (absl::IsNotFound(target.status())) continue;  // closed meanwhile
      return target.status();
    }
    ASSIGN_OR_RETURN(std::string info_text, ReadFileToString(absl::StrCat("/proc/", pid, "/fdinfo/", fd)));
    ASSIGN_OR_RETURN(FdInfo info, ParseFdInfo(info_text));
    image::Fd e;
    e.set_fd(fd);
    e.set_path(*target);
    e.set_flags(info.flags & ~O_CLOEXEC);
    e.set_cloexec((info.flags & O_CLOEXEC) != 0);
    e.set_pos(info.pos);
    if (fate == FdFate::kStayHome) {
      e.set_kind(image::Fd::HOME);
      out.push_back(e);
      continue;
    }
    if (fd <= 2) {
      e.set_kind(image::Fd::STDIO);
      out.push_back(e);
      continue;
    }
    bool kept_home = false;
    auto refuse = [&](absl::string_view what) {
      if (fate == FdFate::kDeputy) {
        kept_home = true;
        return absl::OkStatus();
      }
      return absl::FailedPreconditionError(absl::StrCat("fd ", fd, " is ", what, " (", *target, ")"));
    };
    bool pipe_or_socket = absl::StartsWith(*target, "pipe:") || absl::StartsWith(*target, "socket:");
    struct stat st;
    if (!pipe_or_socket && ::stat(link_path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) pipe_or_socket = true;
    if (pipe_or_socket && (fate == FdFate::kReopened || fate == FdFate::kDeputy)) {
      // Its other end stays behind (a job runner's pipe, a peer's socket): it comes back as if
      // that end had closed (see image::Fd::ORPHANED). Unless the process holds that end too:
      // a pipe's is the same pipe:[inode]; a Unix socket's peer, sock_diag says.
      e.set_kind(image::Fd::ORPHANED);
      uint64_t ino = 0;
      absl::string_view name = *target;
      if (absl::ConsumePrefix(&name, "socket:[") && absl::ConsumeSuffix(&name, "]") && absl::SimpleAtoi(name, &ino)) {
        if (!unix_sockets) {
          auto listed = ListUnixSockets();  // (once, and only for a process holding a socket)
          unix_sockets = listed.ok() ? std::move(*listed) : std::map<uint64_t, UnixSocket>{};
        }
        auto it = unix_sockets->find(ino);
        if (it != unix_sockets->end()) {
          e.set_socket_type(it->second.type);
          if (it->second.peer_ino != 0) e.set_peer(absl::StrCat("socket:[", it->second.peer_ino, "]"));
        }
      }
      out.push_back(e);
      continue;
    }
    if (absl::StartsWith(*target, "pipe:")) RETURN_IF_ERROR(refuse("an open pipe"));
    if (absl::StartsWith(*target, "socket:")) RETURN_IF_ERROR(refuse("an open socket"));
    if (absl::StartsWith(*target, "anon_inode:")) {
      KernelFdRefs refs;
      auto known = ParseKernelFd(*target, info_text, &e, &refs);
      if (!known.ok()) return absl::FailedPreconditionError(absl::StrCat("fd ", fd, " (", *target, "): ", known.status().message()));
      for (int i = 0; *known && i < e.epoll().targets_size(); ++i) {
        // What it watches comes back by fd number: that number must still be that file (an
        // fd dup'd, added, then closed leaves the epoll watching a file under another number).
        int watched = e.epoll().targets(i).fd();
        struct stat ws;
        if (::stat(absl::StrCat("/proc/", pid, "/fd/", watched).c_str(), &ws) != 0 || ws.st_ino != refs.inodes[i]) {
          RETURN_IF_ERROR(refuse(absl::StrCat("an epoll watching a file that is no longer open as fd ", watched)));
          *known = false;
        }
      }
      for (int i = 0; *known && i < e.inotify().watches_size(); ++i) {
        auto path = PathOfHandle(pid, refs.handles[i]);
        if (!path.ok()) {
          RETURN_IF_ERROR(refuse(absl::StrCat("an inotify watching a file not found again (", path.status().message(), ")")));
          *known = false;
        } else {
          e.mutable_inotify()->mutable_watches(i)->set_path(*path);
        }
      }
      if (*known) {
        out.push_back(e);
        continue;
      }
      RETURN_IF_ERROR(refuse("a kernel object that a recovery cannot make again"));
    }
    if ((*target)[0] != '/') RETURN_IF_ERROR(refuse("not a file"));
    if (absl::EndsWith(*target, " (deleted)")) RETURN_IF_ERROR(refuse("a deleted file"));
    if (!kept_home && ::stat(link_path.c_str(), &st) != 0) return ErrnoStatus("stat", link_path);
    if (kept_home) {
      e.set_kind(image::Fd::HOME);
    } else if (S_ISREG(st.st_mode)) {
      e.set_kind(image::Fd::REGULAR);
    } else if (S_ISDIR(st.st_mode)) {
      e.set_kind(image::Fd::DIRECTORY);
    } else if (S_ISCHR(st.st_mode)) {
      e.set_kind(image::Fd::CHARDEV);
    } else if (S_ISFIFO(st.st_mode)) {
      RETURN_IF_ERROR(refuse("a named pipe"));
    } else {
      RETURN_IF_ERROR(refuse("an unsupported file type"));
    }
    if (kept_home) e.set_kind(image::Fd::HOME);
    out.push_back(e);
  }
  return out;
}

std::vector<WholePair> WholePairs(const image::Files& files) {
  std::map<std::string, std::pair<int, int>> pipes;  // path -> read fd, write fd
  std::map<std::string, const image::Fd*> sockets;    // path -> its first fd
  for (const image::Fd& e : files.fds()) {
    if (e.kind() != image::Fd::ORPHANED) continue;
    if (absl::StartsWith(e.path(), "pipe:")) {
      auto& pair = pipes.try_emplace(e.path(), -1, -1).first->second;
      int& slot = (e.flags() & O_ACCMODE) == O_RDONLY ? pair.first : pair.second;
      if (slot < 0) slot = e.fd();
    } else if (absl::StartsWith(e.path(), "socket:") && !e.peer().empty()) {
      sockets.try_emplace(e.path(), &e);
    }
  }
  std::vector<WholePair> out;
  for (const auto& [path, ends] : pipes) {
    if (ends.first >= 0 && ends.second >= 0) out.push_back({ends.first, ends.second, false});
  }
  for (const auto& [path, e] : sockets) {
    auto peer = sockets.find(e->peer());
    if (peer == sockets.end() || peer->second->peer() != path || e->fd() > peer->second->fd()) continue;
    out.push_back({e->fd(), peer->second->fd(), true});
  }
  return out;
}

absl::StatusOr<int> CountThreads(pid_t pid) {
  std::string dir = absl::StrCat("/proc/", pid, "/task");
  DIR* d = opendir(dir.c_str());
  if (!d) return ErrnoStatus("opendir", dir);
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n;
}

}  // namespace mosix::internal
