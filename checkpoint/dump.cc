#include "checkpoint/dump.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/file_util.h"
#include "base/status.h"
#include "checkpoint/creds.h"
#include "checkpoint/image_format.h"
#include "checkpoint/internal/kernel_abi.h"
#include "checkpoint/internal/classify.h"
#include "checkpoint/internal/syscall_restart.h"
#include "checkpoint/procfs.h"
#include "checkpoint/remote_syscalls.h"
#include "checkpoint/task.h"

namespace mosix {
namespace {

constexpr size_t kPage = 4096;
// Pages go into the image in batches (frames) of at most this many bytes, to a file as to a
// stream: small enough that a 16 MiB process keeps both CPUs busy, large enough that per-frame
// costs vanish. A stream's reader restores a batch only once all of it has come (small batches
// overlap sending and restoring better); a file's writer copies each batch through a buffer of
// its own (ImageWriter), whose pages are fresh memory at each checkpoint, 15 us each on some
// VMs: file batches of 8 MiB made a 16 MiB checkpoint wait 60 ms for its buffers.
constexpr size_t kBatchBytes = 1 << 20;

using internal::KernelSigaction;

absl::Status CheckSingleThreaded(pid_t pid) {
  ASSIGN_OR_RETURN(int threads, internal::CountThreads(pid));
  if (threads > 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("process is multi-threaded (", threads, " threads); only single-threaded processes can be checkpointed"));
  }
  return absl::OkStatus();
}

void FillRegs(const user_regs_struct& r, image::GpRegs* g) {
  g->set_r15(r.r15); g->set_r14(r.r14); g->set_r13(r.r13); g->set_r12(r.r12);
  g->set_rbp(r.rbp); g->set_rbx(r.rbx); g->set_r11(r.r11); g->set_r10(r.r10);
  g->set_r9(r.r9); g->set_r8(r.r8); g->set_rax(r.rax); g->set_rcx(r.rcx);
  g->set_rdx(r.rdx); g->set_rsi(r.rsi); g->set_rdi(r.rdi); g->set_orig_rax(r.orig_rax);
  g->set_rip(r.rip); g->set_cs(r.cs); g->set_eflags(r.eflags); g->set_rsp(r.rsp);
  g->set_ss(r.ss); g->set_fs_base(r.fs_base); g->set_gs_base(r.gs_base); g->set_ds(r.ds);
  g->set_es(r.es); g->set_fs(r.fs); g->set_gs(r.gs);
}

// Mappings, refusing what cannot be stored.
absl::Status DumpVmas(const std::vector<MapEntry>& maps, bool inline_files, const std::set<std::string>& files_there,
                      image::Mm* mm) {
  for (const MapEntry& e : maps) {
    ASSIGN_OR_RETURN(image::Vma::Kind kind, internal::ClassifyVma(e));
    image::Vma* v = mm->add_vmas();
    v->set_start(e.start);
    v->set_end(e.end);
    v->set_prot(e.prot);
    v->set_shared(e.shared);
    v->set_pgoff(e.offset);
    v->set_path(e.path);
    v->set_kind(kind);
    if (kind == image::Vma::FILE_PRIVATE || kind == image::Vma::FILE_SHARED) {
      struct stat st;
      if (::stat(e.path.c_str(), &st) != 0) return ErrnoStatus("stat", e.path);
      v->set_dev(st.st_dev);
      v->set_inode(st.st_ino);
      v->set_file_size(st.st_size);
      v->set_file_mtime_ns(st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
      if (inline_files && !files_there.count(e.path)) {
        v->set_kind(image::Vma::ANON);  // all its pages go into the image (see CollectPages)
        v->set_shared(false);
      }
    }
  }
  return absl::OkStatus();
}

// Which pages of a region go into the image.
bool WantPage(image::Vma::Kind kind, uint64_t pm) {
  switch (kind) {
    case image::Vma::ANON:
    case image::Vma::STACK:
      return (pm & (kPagemapPresent | kPagemapSwapped)) != 0;
    case image::Vma::FILE_PRIVATE:
      // Pages the process wrote (copied on write) are anonymous; clean ones come from the file.
      return (pm & kPagemapSwapped) != 0 || ((pm & kPagemapPresent) && !(pm & kPagemapFileOrShared));
    default:
      return false;
  }
}

// The runs of pages to store, grouped into batches of at most batch_bytes.
absl::StatusOr<std::vector<image::PageBatch>> CollectPages(pid_t pid, const image::Mm& mm, size_t batch_bytes) {
  std::string pagemap_path = absl::StrCat("/proc/", pid, "/pagemap");
  ASSIGN_OR_RETURN(UniqueFd pagemap, OpenFile(pagemap_path, O_RDONLY | O_CLOEXEC));
  std::vector<image::PageBatch> batches(1);
  size_t used = 0;
  auto add_run = [&](uint64_t start, uint64_t npages) {
    while (npages > 0) {
      size_t room = (batch_bytes - used) / kPage;
      if (room == 0) {
        batches.emplace_back();
        used = 0;
        continue;
      }
      uint64_t n = std::min<uint64_t>(room, npages);
      auto* run = batches.back().add_runs();
      run->set_vaddr(start);
      run->set_npages(n);
      used += n * kPage;
      start += n * kPage;
      npages -= n;
    }
  };
  for (const image::Vma& v : mm.vmas()) {
    uint64_t npages = (v.end() - v.start()) / kPage;
    bool all = v.kind() == image::Vma::ANON_SHARED ||
               (v.kind() == image::Vma::ANON && !v.path().empty() && v.path()[0] == '/');
    if (all) {
      // A file's pages stop at its end (beyond it there is nothing to read); an inaccessible
      // region of a file mapping (alignment gaps of libraries) holds nothing the program sees.
      if (v.file_size() > 0) {
        if (v.prot() == 0) continue;
        uint64_t in_file = v.file_size() > v.pgoff() ? (v.file_size() - v.pgoff() + kPage - 1) / kPage : 0;
        npages = std::min(npages, in_file);
      }
      if (npages) add_run(v.start(), npages);
      continue;
    }
    if (v.kind() != image::Vma::ANON && v.kind() != image::Vma::STACK && v.kind() != image::Vma::FILE_PRIVATE) continue;
    // Walk the pagemap in slices so a huge sparse region does not need a huge table.
    constexpr uint64_t kSlice = 1 << 18;
    for (uint64_t first = 0; first < npages; first += kSlice) {
      uint64_t n = std::min(kSlice, npages - first);
      uint64_t base = v.start() + first * kPage;
      ASSIGN_OR_RETURN(std::vector<uint64_t> pm, ReadPagemap(pagemap.get(), base, n));
      uint64_t i = 0;
      while (i < n) {
        if (!WantPage(v.kind(), pm[i])) {
          ++i;
          continue;
        }
        uint64_t j = i;
        while (j < n && WantPage(v.kind(), pm[j])) ++j;
        add_run(base + i * kPage, j - i);
        i = j;
      }
    }
  }
  if (batches.back().runs_size() == 0) batches.pop_back();
  return batches;
}

// Copies the pages of every batch from the (stopped) process straight into the image.
absl::Status DumpPages(Task& task, const std::vector<image::PageBatch>& batches, ImageSink& writer, uint64_t* pages) {
  absl::Status status = writer.WritePageBatches(batches, [&](size_t i, char* dest) -> absl::Status {
    std::vector<RemoteRange> ranges;
    ranges.reserve(batches[i].runs_size());
    for (const auto& r : batches[i].runs()) ranges.push_back({r.vaddr(), r.npages() * kPage});
    return task.ReadRanges(ranges, dest);
  });
  for (const auto& b : batches) {
    for (const auto& r : b.runs()) *pages += r.npages();
  }
  return status;
}

// Kernel state that only the process itself can tell: asked through injected system calls.
absl::Status DumpInjected(RemoteSyscalls& rs, image::Core* core) {
  Task* task = rs.task();
  ASSIGN_OR_RETURN(uint64_t scratch, rs.Scratch(kPage));
  image::Signals* sig = core->mutable_signals();
  // Only the signals the process catches or ignores (from /proc: no injection) have an action
  // worth asking for, and SIGCHLD, whose flags matter even at SIG_DFL (SA_NOCLDWAIT): the
  // others are the default with no flags, which is what a restore leaves them at.
  ASSIGN_OR_RETURN(uint64_t asked, CaughtOrIgnoredSignals(task->pid()));
  asked |= 1ull << (SIGCHLD - 1);
  for (int s = 1; s <= 64; ++s) {
    if (s == SIGKILL || s == SIGSTOP || !(asked & (1ull << (s - 1)))) continue;
    ASSIGN_OR_RETURN(long r, rs.Raw(SYS_rt_sigaction, s, 0, scratch, 8));
    if (r != 0) continue;  // 32 and 33 belong to glibc and may be refused
    ASSIGN_OR_RETURN(KernelSigaction ka, task->Read(RemotePtr<KernelSigaction>(scratch)));
    image::SigAction* a = sig->add_actions();
    a->set_signo(s);
    a->set_handler(ka.handler);
    a->set_flags(ka.flags);
    a->set_restorer(ka.restorer);
    a->set_mask(ka.mask);
  }
  RETURN_IF_ERROR(rs.Call("sigaltstack", "", SYS_sigaltstack, 0, scratch).status());
  ASSIGN_OR_RETURN(stack_t ss, task->Read(RemotePtr<stack_t>(scratch)));
  sig->set_altstack_sp(reinterpret_cast<uint64_t>(ss.ss_sp));
  sig->set_altstack_size(ss.ss_size);
  sig->set_altstack_flags(ss.ss_flags);

  for (int which : {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF}) {
    RETURN_IF_ERROR(rs.Call("getitimer", "", SYS_getitimer, which, scratch).status());
    ASSIGN_OR_RETURN(itimerval it, task->Read(RemotePtr<itimerval>(scratch)));
    image::Itimer* t = core->mutable_timers()->add_itimers();
    t->set_which(which);
    t->set_interval_us(it.it_interval.tv_sec * 1000000LL + it.it_interval.tv_usec);
    t->set_value_us(it.it_value.tv_sec * 1000000LL + it.it_value.tv_usec);
  }
  // POSIX timers: what /proc says of each, and its time left, asked in the process.
  ASSIGN_OR_RETURN(std::vector<PosixTimerInfo> posix_timers, ReadPosixTimers(task->pid()));
  for (const PosixTimerInfo& info : posix_timers) {
    if ((info.notify & ~SIGEV_THREAD_ID) == SIGEV_THREAD) {
      return absl::FailedPreconditionError(absl::StrCat("POSIX timer ", info.id, " notifies by starting a thread: not supported"));
    }
    RETURN_IF_ERROR(rs.Call("timer_gettime", absl::StrCat("timer ", info.id), SYS_timer_gettime, info.id, scratch).status());
    ASSIGN_OR_RETURN(itimerspec its, task->Read(RemotePtr<itimerspec>(scratch)));
    image::PosixTimer* t = core->mutable_timers()->add_posix_timers();
    t->set_id(info.id);
    t->set_clock_id(info.clock_id);
    t->set_signo(info.signo);
    t->set_sigev_value(info.sigev_value);
    t->set_notify(info.notify);
    t->set_interval_ns(its.it_interval.tv_sec * 1000000000LL + its.it_interval.tv_nsec);
    t->set_value_ns(its.it_value.tv_sec * 1000000000LL + its.it_value.tv_nsec);
  }

  ASSIGN_OR_RETURN(long brk, rs.Call("brk", "0", SYS_brk, 0));
  core->mutable_mm()->set_brk(static_cast<uint64_t>(brk));
  ASSIGN_OR_RETURN(long pers, rs.Call("personality", "query", SYS_personality, 0xffffffff));
  core->mutable_process()->set_personality(static_cast<uint32_t>(pers));
  // PR_GET_TID_ADDRESS = 40
  if (rs.Raw(SYS_prctl, 40, scratch).value_or(-1) == 0) {
    ASSIGN_OR_RETURN(uint64_t tidaddr, task->Read(RemotePtr<uint64_t>(scratch)));
    core->mutable_process()->set_clear_child_tid(tidaddr);
  }
  return absl::OkStatus();
}

absl::Status DumpProcess(pid_t pid, image::Core* core) {
  image::Process* p = core->mutable_process();
  p->set_pid(pid);
  std::string proc = absl::StrCat("/proc/", pid);
  ASSIGN_OR_RETURN(std::string comm, ReadFileToString(proc + "/comm"));
  p->set_comm(std::string(absl::StripSuffix(comm, "\n")));
  ASSIGN_OR_RETURN(std::vector<std::string> argv, ReadCmdline(pid));
  for (auto& a : argv) p->add_argv(a);
  ASSIGN_OR_RETURN(std::string exe, ReadLink(proc + "/exe"));
  p->set_exe_path(exe);
  ASSIGN_OR_RETURN(std::string cwd, ReadLink(proc + "/cwd"));
  p->set_cwd(cwd);
  ASSIGN_OR_RETURN(std::string status, ReadFileToString(proc + "/status"));
  ASSIGN_OR_RETURN(std::string umask, StatusField(status, "Umask"));
  p->set_umask(static_cast<uint32_t>(strtoul(umask.c_str(), nullptr, 8)));
  ASSIGN_OR_RETURN(*core->mutable_creds(), ParseCredentials(status));
  ASSIGN_OR_RETURN(ProcStat st, ReadStat(pid));
  p->set_start_time_ticks(st.start_time);
  p->set_nice(st.nice);
  auto children = ReadFileToString(absl::StrCat(proc, "/task/", pid, "/children"));
  if (children.ok()) {
    std::vector<std::string> kids = absl::StrSplit(*children, ' ', absl::SkipWhitespace());
    if (!kids.empty()) {
      p->add_not_included(absl::StrCat("its ", kids.size(), kids.size() == 1 ? " child" : " children", " (pid ",
                                       absl::StrJoin(kids, ", "), "): a recovery has none"));
    }
  }
  if (st.session == pid) {
    p->add_not_included(absl::StrCat("the session it leads (session ", pid, "): a recovery runs in the recovering mosrun's"));
  }
  image::Mm* mm = core->mutable_mm();
  mm->set_start_code(st.start_code);
  mm->set_end_code(st.end_code);
  mm->set_start_data(st.start_data);
  mm->set_end_data(st.end_data);
  mm->set_start_brk(st.start_brk);
  mm->set_start_stack(st.start_stack);
  mm->set_arg_start(st.arg_start);
  mm->set_arg_end(st.arg_end);
  mm->set_env_start(st.env_start);
  mm->set_env_end(st.env_end);
  ASSIGN_OR_RETURN(std::string auxv, ReadFileToString(proc + "/auxv"));
  mm->set_auxv(auxv);

  struct {
    uint64_t head;
    size_t len;
  } robust{};
  uint64_t head_ptr = 0;
  size_t len = 0;
  if (syscall(SYS_get_robust_list, pid, &head_ptr, &len) == 0) {
    robust.head = head_ptr;
    robust.len = len;
  }
  p->set_robust_list_head(robust.head);
  p->set_robust_list_len(robust.len);

  // From /proc (prlimit on another uid's process needs CAP_SYS_RESOURCE, which root lacks here).
  ASSIGN_OR_RETURN(std::vector<Limit> limits, ReadLimits(pid));
  for (size_t res = 0; res < limits.size(); ++res) {
    image::Rlimit* r = core->mutable_rlimits()->add_limits();
    r->set_resource(static_cast<int>(res));
    r->set_cur(limits[res].cur);
    r->set_max(limits[res].max);
  }
  return absl::OkStatus();
}

image::Manifest MakeManifest(const std::string& reason) {
  image::Manifest m;
  m.set_format_version(kImageFormatVersion);
  m.set_writer("mosix 0.1");
  utsname u;
  if (uname(&u) == 0) {
    m.set_hostname(u.nodename);
    m.set_kernel_release(u.release);
    m.set_arch(u.machine);
  }
  m.set_page_size(kPage);
  m.set_created_unix_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count());
  m.set_reason(reason);
  return m;
}

}  // namespace

absl::StatusOr<DumpResult> DumpAttached(Task& task, const DumpOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = task.pid();
  RETURN_IF_ERROR(CheckSingleThreaded(pid));
  image::Core core;
  // Everything that can refuse comes first, so a refusal writes nothing.
  ASSIGN_OR_RETURN(std::vector<MapEntry> maps, ReadMaps(pid));
  RETURN_IF_ERROR(DumpVmas(maps, options.inline_files, options.files_there, core.mutable_mm()));
  ASSIGN_OR_RETURN(auto advice, ReadVmAdvice(pid));
  for (image::Vma& v : *core.mutable_mm()->mutable_vmas()) {
    auto it = advice.find(v.start());
    if (it == advice.end()) continue;
    bool special = v.kind() == image::Vma::VDSO || v.kind() == image::Vma::VVAR || v.kind() == image::Vma::VSYSCALL;
    if (!special) v.set_advice(it->second);
  }
  ASSIGN_OR_RETURN(std::vector<image::Fd> fds, internal::ReadFdTable(pid, options.channel_fd, options.skip_fds,
                                               options.fds_stay_home ? internal::FdFate::kStayHome
                                                                     : internal::FdFate::kReopened));
  for (auto& fd : fds) *core.mutable_files()->add_fds() = fd;

  RETURN_IF_ERROR(DumpProcess(pid, &core));
  core.mutable_process()->set_channel_fd(options.channel_fd);
  *core.mutable_process()->mutable_options() = options.mosix_options;

  user_regs_struct regs;
  RETURN_IF_ERROR(task.GetRegs(&regs));
  image::Cpu* cpu = core.mutable_cpu();
  user_regs_struct live = regs;
  bool resume_sleep = internal::ResumeSleepFromRemaining(&live);
  if (resume_sleep) {
    cpu->set_syscall_note(absl::StrCat("restart ", internal::SyscallName(regs.orig_rax), " for the time left"));
    regs = live;
  } else {
    cpu->set_syscall_note(internal::RewindInterruptedSyscall(&regs));
  }
  FillRegs(regs, cpu->mutable_regs());
  ASSIGN_OR_RETURN(std::string xsave, task.GetXstate());
  uint64_t xfeatures = 0;
  if (xsave.size() >= 472) memcpy(&xfeatures, xsave.data() + 464, 8);
  cpu->set_xsave(xsave);
  cpu->set_xfeatures(xfeatures);

  ASSIGN_OR_RETURN(uint64_t blocked, task.GetSigmask());
  core.mutable_signals()->set_blocked(blocked);
  ASSIGN_OR_RETURN(auto pending, task.PeekPendingSignals(false));
  for (auto& s : pending) {
    // A process away from home caught between a trapped system call (Syscall User Dispatch)
    // and its SIGSYS: the call has not happened. The image re-issues it instead of carrying
    // the signal, so wherever it is restored the call is made (natively at home).
    siginfo_t info;
    memcpy(&info, s.data(), std::min(s.size(), sizeof info));
    constexpr int kSysUserDispatch = 2;
    if (info.si_signo == SIGSYS && info.si_code == kSysUserDispatch) {
      auto* g = cpu->mutable_regs();
      g->set_rip(reinterpret_cast<uint64_t>(info.si_call_addr) - 2);
      g->set_rax(static_cast<uint64_t>(info.si_syscall));
      g->set_orig_rax(static_cast<uint64_t>(-1));
      cpu->set_syscall_note(absl::StrCat("re-issue trapped ", internal::SyscallName(info.si_syscall)));
      continue;
    }
    core.mutable_signals()->add_pending(s);
  }
  ASSIGN_OR_RETURN(auto shared_pending, task.PeekPendingSignals(true));
  for (auto& s : shared_pending) core.mutable_signals()->add_shared_pending(s);
  ASSIGN_OR_RETURN(RseqConfig rseq, task.GetRseq());
  core.mutable_rseq()->set_address(rseq.address);
  core.mutable_rseq()->set_length(rseq.length);
  core.mutable_rseq()->set_signature(rseq.signature);
  core.mutable_rseq()->set_flags(rseq.flags);

  for (const MapEntry& e : maps) {
    if (e.path == "[vdso]") {
      std::string bytes(e.size(), '\0');
      RETURN_IF_ERROR(task.ReadMem(e.start, bytes.data(), bytes.size()));
      core.mutable_mm()->set_vdso(bytes);
    }
  }

  std::unique_ptr<ImageWriter> file;
  ImageSink* sink = options.sink;
  if (!sink) {
    ASSIGN_OR_RETURN(file, ImageWriter::Create(options.path, options.file_owner));
    sink = file.get();
  }
  RETURN_IF_ERROR(sink->WriteManifest(MakeManifest(options.reason)));
  DumpResult result;
  auto inject = [&]() -> absl::Status {
    auto rs = RemoteSyscalls::Create(&task, options.syscall_gadget);
    return rs.ok() ? DumpInjected(*rs, &core) : rs.status();
  };  // registers, code and mask are back as they were after it
  if (sink->CoreMayFollowPages()) {
    // Pages are copied by worker threads while this (the tracer) thread asks the process for
    // the rest of its state; the process is stopped throughout, so both see the same instant.
    absl::Status pages_status;
    const image::Mm mm = core.mm();  // the workers' own copy: `core` is being filled meanwhile
    std::thread pages([&] {
      auto batches = CollectPages(task.pid(), mm, kBatchBytes);
      pages_status = batches.ok() ? DumpPages(task, *batches, *sink, &result.pages) : batches.status();
    });
    absl::Status injected = inject();
    pages.join();
    RETURN_IF_ERROR(injected);
    RETURN_IF_ERROR(pages_status);
    if (options.amend_core) options.amend_core(&core);
    RETURN_IF_ERROR(sink->WriteCore(core));
  } else {
    // A stream: the reader needs the core before the pages.
    RETURN_IF_ERROR(inject());
    ASSIGN_OR_RETURN(std::vector<image::PageBatch> batches, CollectPages(pid, core.mm(), kBatchBytes));
    if (options.amend_core) options.amend_core(&core);
    RETURN_IF_ERROR(sink->WriteCore(core));
    RETURN_IF_ERROR(DumpPages(task, batches, *sink, &result.pages));
  }
  // The live process re-enters its sleep for the time left as well (see ResumeSleepFromRemaining).
  if (resume_sleep) RETURN_IF_ERROR(task.SetRegs(live));
  ASSIGN_OR_RETURN(result.bytes, sink->Finish());

  result.path = options.path;
  result.syscall_note = cpu->syscall_note();
  result.notes = NotIncluded(core);
  // (A timer with an interval and no value is due to be armed again: see restore.cc.)
  for (const image::Itimer& t : core.timers().itimers()) result.itimers_armed |= t.value_us() != 0 || t.interval_us() != 0;
  result.posix_timers = core.timers().posix_timers_size();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

std::vector<std::string> NotIncluded(const image::Core& core) {
  std::vector<std::string> notes;
  std::set<int> whole;
  for (const internal::WholePair& p : internal::WholePairs(core.files())) whole.insert({p.first, p.second});
  for (const image::Fd& fd : core.files().fds()) {
    if (fd.kind() != image::Fd::ORPHANED || whole.count(fd.fd())) continue;
    notes.push_back(absl::StrCat("fd ", fd.fd(), " (", fd.path(), "): its other end is not in the image; a recovery has it ",
                                 "closed (or give -O ", fd.fd(), "=PATH)"));
  }
  for (const std::string& s : core.process().not_included()) notes.push_back(s);
  return notes;
}

absl::StatusOr<DumpResult> Dump(pid_t pid, const DumpOptions& options) {
  // Cheap refusals before the process is even stopped.
  RETURN_IF_ERROR(CheckSingleThreaded(pid));
  ASSIGN_OR_RETURN(Task task, Task::Seize(pid));
  absl::StatusOr<DumpResult> result = DumpAttached(task, options);
  if (options.leave_stopped && result.ok()) ::kill(pid, SIGSTOP);
  absl::Status detached = task.Detach();
  if (result.ok() && !detached.ok()) return detached;
  return result;
}

absl::StatusOr<image::Core> DescribeDeputy(pid_t deputy, const std::vector<int>& skip) {
  image::Core core;
  std::string proc = absl::StrCat("/proc/", deputy);
  ASSIGN_OR_RETURN(std::string cwd, ReadLink(proc + "/cwd"));
  core.mutable_process()->set_cwd(cwd);
  ASSIGN_OR_RETURN(std::string status, ReadFileToString(proc + "/status"));
  ASSIGN_OR_RETURN(std::string umask, StatusField(status, "Umask"));
  core.mutable_process()->set_umask(static_cast<uint32_t>(strtoul(umask.c_str(), nullptr, 8)));
  ASSIGN_OR_RETURN(std::vector<image::Fd> fds, internal::ReadFdTable(deputy, -1, skip, internal::FdFate::kDeputy));
  for (auto& fd : fds) *core.mutable_files()->add_fds() = fd;
  return core;
}

namespace {

// The fd table as the image would hold it, once the rest is found storable.
absl::StatusOr<std::vector<image::Fd>> CheckFromProc(pid_t pid, int channel_fd, internal::FdFate fate) {
  RETURN_IF_ERROR(CheckSingleThreaded(pid));
  ASSIGN_OR_RETURN(std::vector<MapEntry> maps, ReadMaps(pid));
  for (const MapEntry& e : maps) RETURN_IF_ERROR(internal::ClassifyVma(e).status());
  return internal::ReadFdTable(pid, channel_fd, {}, fate);
}

}  // namespace

absl::Status CheckCheckpointable(pid_t pid, int channel_fd) {
  return CheckFromProc(pid, channel_fd, internal::FdFate::kReopened).status();
}

absl::Status CheckMovable(pid_t pid, int channel_fd) {
  ASSIGN_OR_RETURN(std::vector<image::Fd> fds, CheckFromProc(pid, channel_fd, internal::FdFate::kStayHome));
  // A signalfd stays home with the deputy, where a read of it would see the deputy's signals,
  // not the process's (those go to it, away): the program would wait for ever.
  for (const image::Fd& fd : fds) {
    if (fd.path() == "anon_inode:[signalfd]") {
      return absl::FailedPreconditionError(
          absl::StrCat("fd ", fd.fd(), " is a signalfd: its signals are the process's own and it cannot read them away from home"));
    }
  }
  return absl::OkStatus();
}

}  // namespace mosix
