#include "checkpoint/image_show.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "checkpoint/internal/classify.h"

namespace mosix {
namespace {

std::string Prot(uint32_t p) {
  return absl::StrCat((p & PROT_READ) ? "r" : "-", (p & PROT_WRITE) ? "w" : "-", (p & PROT_EXEC) ? "x" : "-");
}

std::string Size(uint64_t bytes) {
  if (bytes >= (1ull << 30)) return absl::StrFormat("%.1fG", bytes / double(1ull << 30));
  if (bytes >= (1ull << 20)) return absl::StrFormat("%.1fM", bytes / double(1ull << 20));
  if (bytes >= (1ull << 10)) return absl::StrFormat("%.0fK", bytes / 1024.0);
  return absl::StrCat(bytes, "B");
}

std::string KindName(image::Vma::Kind k) {
  std::string s = image::Vma::Kind_Name(k);
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

std::string FdKindName(image::Fd::Kind k) {
  std::string s = image::Fd::Kind_Name(k);
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

// Pages stored for each region, by start address.
std::map<uint64_t, uint64_t> StoredPages(const LoadedImage& img) {
  std::vector<std::pair<uint64_t, uint64_t>> vmas;
  for (const auto& v : img.core().mm().vmas()) vmas.push_back({v.start(), v.end()});
  std::map<uint64_t, uint64_t> out;
  for (const PageChunk& c : img.chunks()) {
    for (const auto& r : c.batch.runs()) {
      auto it = std::upper_bound(vmas.begin(), vmas.end(), std::pair<uint64_t, uint64_t>(r.vaddr(), ~uint64_t{0}));
      if (it != vmas.begin()) out[std::prev(it)->first] += r.npages();
    }
  }
  return out;
}

std::string Json(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string Hex(uint64_t v) { return Json(absl::StrFormat("%#x", v)); }

std::string SigName(int s) {
  const char* n = sigabbrev_np(s);
  return n ? n : absl::StrCat(s);
}

std::string MaskNames(uint64_t mask) {
  std::vector<std::string> names;
  for (int s = 1; s <= 64; ++s) {
    if (mask & (1ull << (s - 1))) names.push_back(SigName(s));
  }
  return names.empty() ? "none" : absl::StrJoin(names, ",");
}

// Names of the pending signals (thread's and process's queues), e.g. "USR2,VTALRM".
std::string PendingNames(const image::Signals& sig) {
  std::vector<std::string> names;
  for (const auto* queue : {&sig.pending(), &sig.shared_pending()}) {
    for (const std::string& raw : *queue) {
      siginfo_t info;
      memcpy(&info, raw.data(), std::min(raw.size(), sizeof info));
      names.push_back(SigName(info.si_signo));
    }
  }
  return names.empty() ? "none" : absl::StrJoin(names, ",");
}

}  // namespace

std::string ImageToText(const LoadedImage& img) {
  const auto& m = img.manifest();
  const auto& c = img.core();
  const auto& p = c.process();
  std::string out;
  time_t created = m.created_unix_ns() / 1000000000;
  char when[64] = "";
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&created));
  absl::StrAppend(&out, "image ", img.path(), ": format ", m.format_version(), ", ", Size(img.file_size()), ", ",
                  m.reason(), " written ", when, " on ", m.hostname(), " (kernel ", m.kernel_release(), ")\n");
  absl::StrAppend(&out, "process: pid ", p.pid(), " (", p.comm(), ") ", p.exe_path(), "\n");
  absl::StrAppend(&out, "  argv:   ", absl::StrJoin(p.argv(), " "), "\n");
  absl::StrAppend(&out, "  cwd:    ", p.cwd(), "   umask ", absl::StrFormat("%03o", p.umask()), "\n");
  absl::StrAppend(&out, "  caught: ", c.cpu().syscall_note(), "\n");
  if (!p.options().checkpoint_file().empty() || p.options().checkpoint_interval_s() > 0) {
    absl::StrAppend(&out, "  mosrun:");
    if (!p.options().checkpoint_file().empty()) absl::StrAppend(&out, " -C ", p.options().checkpoint_file());
    if (p.options().checkpoint_interval_s() > 0) absl::StrAppend(&out, " -A ", p.options().checkpoint_interval_s() / 60);
    absl::StrAppend(&out, " (checkpoint #", p.options().checkpoint_count(), ")\n");
  }
  const auto& r = c.cpu().regs();
  absl::StrAppend(&out, absl::StrFormat("registers: rip %#x  rsp %#x  rax %#x  fs_base %#x  eflags %#x\n", r.rip(),
                                        r.rsp(), r.rax(), r.fs_base(), r.eflags()));
  absl::StrAppend(&out, absl::StrFormat("  fp/vector state: %d bytes of xsave, features %#x\n", c.cpu().xsave().size(),
                                        c.cpu().xfeatures()));
  auto stored = StoredPages(img);
  absl::StrAppend(&out, "memory: ", c.mm().vmas_size(), " regions, ", img.page_count(), " pages stored (",
                  Size(img.page_count() * 4096), "), brk ", absl::StrFormat("%#x", c.mm().brk()), "\n");
  absl::StrAppend(&out, absl::StrFormat("  %-29s %7s %4s %-12s %7s  %s\n", "RANGE", "SIZE", "PROT", "KIND", "STORED", "PATH"));
  for (const auto& v : c.mm().vmas()) {
    absl::StrAppend(&out, absl::StrFormat("  %012x-%012x %7s %4s %-12s %7s  %s\n", v.start(), v.end(),
                                          Size(v.end() - v.start()), Prot(v.prot()) + (v.shared() ? "s" : "p"),
                                          KindName(v.kind()), Size(stored[v.start()] * 4096), v.path()));
  }
  absl::StrAppend(&out, "files: ", c.files().fds_size(), " fds\n");
  std::map<int, int> whole;  // fd -> the fd of its other end, for pipes and socketpairs held whole
  for (const internal::WholePair& p : internal::WholePairs(c.files())) whole[p.first] = p.second, whole[p.second] = p.first;
  for (const auto& f : c.files().fds()) {
    absl::StrAppend(&out, absl::StrFormat("  %4d %-9s %s", f.fd(), FdKindName(f.kind()), f.path()));
    if (f.kind() == image::Fd::REGULAR) absl::StrAppend(&out, absl::StrFormat("  offset %d flags %#o", f.pos(), f.flags()));
    if (f.cloexec()) absl::StrAppend(&out, "  cloexec");
    if (f.kind() == image::Fd::STDIO) absl::StrAppend(&out, "  (from the recovering mosrun)");
    if (f.kind() == image::Fd::ORPHANED && whole.count(f.fd())) {
      absl::StrAppend(&out, "  (comes back whole with fd ", whole[f.fd()], ", its other end, empty)");
    } else if (f.kind() == image::Fd::ORPHANED) {
      absl::StrAppend(&out, "  (comes back with its other end closed, or -O ", f.fd(), "=PATH)");
    }
    if (f.kind() == image::Fd::EVENTFD) {
      absl::StrAppend(&out, "  count ", f.eventfd().count(), f.eventfd().semaphore() ? " semaphore" : "");
    }
    if (f.kind() == image::Fd::SIGNALFD) absl::StrAppend(&out, absl::StrFormat("  mask %#x", f.signalfd().mask()));
    if (f.kind() == image::Fd::EPOLL) {
      absl::StrAppend(&out, "  watching fds");
      for (const auto& t : f.epoll().targets()) absl::StrAppend(&out, absl::StrFormat(" %d (events %#x)", t.fd(), t.events()));
    }
    if (f.kind() == image::Fd::INOTIFY) {
      for (const auto& w : f.inotify().watches()) absl::StrAppend(&out, absl::StrFormat("  watch %d %s (mask %#x)", w.wd(), w.path(), w.mask()));
    }
    if (f.kind() == image::Fd::TIMERFD) {
      const image::TimerFd& t = f.timerfd();
      absl::StrAppend(&out, absl::StrFormat("  clock %d, next in %.3f s, every %.3f s, %d unread", t.clock_id(), t.value_ns() / 1e9,
                                            t.interval_ns() / 1e9, t.ticks()));
    }
    absl::StrAppend(&out, "\n");
  }
  for (const std::string& n : c.process().not_included()) absl::StrAppend(&out, "not in the image: ", n, "\n");
  int handlers = 0;
  std::vector<std::string> caught;
  for (const auto& a : c.signals().actions()) {
    if (a.handler() > 1) caught.push_back(SigName(a.signo()));
    handlers += a.handler() > 1;
  }
  absl::StrAppend(&out, "signals: handlers for ", caught.empty() ? "none" : absl::StrJoin(caught, ","), "; blocked ",
                  MaskNames(c.signals().blocked()), "; pending ", PendingNames(c.signals()), "\n");
  if (!(c.signals().altstack_flags() & SS_DISABLE)) {
    absl::StrAppend(&out, absl::StrFormat("  alternate stack %#x, %d bytes\n", c.signals().altstack_sp(), c.signals().altstack_size()));
  }
  for (const auto& t : c.timers().itimers()) {
    if (t.value_us() == 0 && t.interval_us() == 0) continue;
    const char* names[] = {"real", "virtual", "prof"};
    absl::StrAppend(&out, absl::StrFormat("timer %s: next in %.3fs, every %.3fs\n", names[t.which() % 3],
                                          t.value_us() / 1e6, t.interval_us() / 1e6));
  }
  if (c.rseq().address()) absl::StrAppend(&out, absl::StrFormat("rseq: %#x (%d bytes)\n", c.rseq().address(), c.rseq().length()));
  return out;
}

std::string ImageToJson(const LoadedImage& img) {
  const auto& m = img.manifest();
  const auto& c = img.core();
  const auto& p = c.process();
  std::vector<std::string> argv;
  for (const auto& a : p.argv()) argv.push_back(Json(a));
  std::string out = "{";
  absl::StrAppend(&out, "\"path\":", Json(img.path()), ",\"format_version\":", m.format_version(),
                  ",\"bytes\":", img.file_size(), ",\"reason\":", Json(m.reason()), ",\"hostname\":", Json(m.hostname()),
                  ",\"kernel\":", Json(m.kernel_release()), ",\"created_unix_ns\":", m.created_unix_ns());
  absl::StrAppend(&out, ",\"process\":{\"pid\":", p.pid(), ",\"comm\":", Json(p.comm()), ",\"exe\":", Json(p.exe_path()),
                  ",\"argv\":[", absl::StrJoin(argv, ","), "],\"cwd\":", Json(p.cwd()), ",\"umask\":", p.umask(),
                  ",\"caught\":", Json(c.cpu().syscall_note()), "}");
  const auto& r = c.cpu().regs();
  absl::StrAppend(&out, ",\"registers\":{\"rip\":", Hex(r.rip()), ",\"rsp\":", Hex(r.rsp()), ",\"rax\":", Hex(r.rax()),
                  ",\"fs_base\":", Hex(r.fs_base()), ",\"xsave_bytes\":", c.cpu().xsave().size(),
                  ",\"xfeatures\":", Hex(c.cpu().xfeatures()), "}");
  auto stored = StoredPages(img);
  std::vector<std::string> regions;
  for (const auto& v : c.mm().vmas()) {
    regions.push_back(absl::StrCat("{\"start\":", Hex(v.start()), ",\"end\":", Hex(v.end()), ",\"size\":",
                                   v.end() - v.start(), ",\"prot\":", Json(Prot(v.prot())), ",\"shared\":",
                                   v.shared() ? "true" : "false", ",\"kind\":", Json(KindName(v.kind())),
                                   ",\"stored_pages\":", stored[v.start()], ",\"path\":", Json(v.path()), "}"));
  }
  absl::StrAppend(&out, ",\"memory\":{\"pages\":", img.page_count(), ",\"brk\":", Hex(c.mm().brk()), ",\"regions\":[",
                  absl::StrJoin(regions, ","), "]}");
  std::vector<std::string> fds;
  for (const auto& f : c.files().fds()) {
    fds.push_back(absl::StrCat("{\"fd\":", f.fd(), ",\"kind\":", Json(FdKindName(f.kind())), ",\"path\":", Json(f.path()),
                               ",\"flags\":", f.flags(), ",\"offset\":", f.pos(), ",\"cloexec\":", f.cloexec() ? "true" : "false", "}"));
  }
  absl::StrAppend(&out, ",\"fds\":[", absl::StrJoin(fds, ","), "]");
  std::vector<std::string> handlers;
  for (const auto& a : c.signals().actions()) {
    if (a.handler() > 1) handlers.push_back(Json(SigName(a.signo())));
  }
  std::string pending = PendingNames(c.signals());
  std::vector<std::string> pending_json;
  if (pending != "none") {
    for (absl::string_view n : absl::StrSplit(pending, ',')) pending_json.push_back(Json(std::string(n)));
  }
  absl::StrAppend(&out, ",\"signals\":{\"handlers\":[", absl::StrJoin(handlers, ","), "],\"blocked\":", Hex(c.signals().blocked()),
                  ",\"pending\":[", absl::StrJoin(pending_json, ","), "]}");
  absl::StrAppend(&out, "}\n");
  return out;
}

}  // namespace mosix
