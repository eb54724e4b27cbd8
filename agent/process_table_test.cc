#include "agent/process_table.h"

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include <catch2/catch.hpp>

namespace mosix::agent {

TEST_CASE("registered processes can be acquired once at a time") {
  ProcessTable table;
  ProcessEntry e;
  e.pid = getpid();
  e.argv = {"self"};
  REQUIRE(table.Register(e).ok());
  auto a = table.Acquire(getpid());
  REQUIRE(a.ok());
  REQUIRE(absl::IsAborted(table.Acquire(getpid()).status()));  // busy: worth retrying
  a->options.set_checkpoint_count(3);
  table.Release(*a);
  auto b = table.Acquire(getpid());
  REQUIRE(b.ok());
  REQUIRE(b->options.checkpoint_count() == 3);
  table.Release(*b);
}

TEST_CASE("unknown and vanished pids are errors, and are reaped") {
  ProcessTable table;
  REQUIRE(absl::IsNotFound(table.Acquire(999999999).status()));
  ProcessEntry gone;
  gone.pid = 999999999;
  REQUIRE(absl::IsNotFound(table.Register(gone)));
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  ProcessEntry e;
  e.pid = child;
  REQUIRE(table.Register(e).ok());
  REQUIRE(table.Snapshot().size() == 1);
  kill(child, SIGKILL);
  int status;
  waitpid(child, &status, 0);
  table.Reap();
  REQUIRE(table.Snapshot().empty());
  REQUIRE(absl::IsNotFound(table.Acquire(child).status()));
}

TEST_CASE("periodic checkpoints come due after their interval") {
  ProcessTable table;
  ProcessEntry e;
  e.pid = getpid();
  e.options.set_checkpoint_interval_s(60);
  REQUIRE(table.Register(e).ok());
  auto now = std::chrono::steady_clock::now();
  REQUIRE(table.Due(now).empty());
  REQUIRE(table.Due(now + std::chrono::seconds(61)).size() == 1);
  auto a = table.Acquire(getpid());
  REQUIRE(table.Due(now + std::chrono::seconds(61)).empty());  // busy
  table.Release(*a);
}

TEST_CASE("the channel fd survives re-registration") {
  ProcessTable table;
  ProcessEntry e;
  e.pid = getpid();
  REQUIRE(table.Register(e).ok());
  table.SetChannel(getpid(), 17);
  REQUIRE(table.Register(e).ok());
  REQUIRE(table.Snapshot()[0].channel_fd == 17);
}

}  // namespace mosix::agent

namespace mosix::agent {

TEST_CASE("an exec while a move holds the entry is not undone when the move gives it back") {
  ProcessTable table;
  ProcessEntry e;
  e.pid = getpid();
  e.argv = {"bash"};
  REQUIRE(table.Register(e).ok());
  table.SetChannel(getpid(), 17);  // the first hello: nothing forgotten
  auto held = table.Acquire(getpid());
  REQUIRE(held.ok());
  held->shim_info = 0x1000;  // learnt by the move, of the old program
  held->state = ProcState::kHome;
  table.SetChannel(getpid(), 18, {"remote_probe", "/tmp/x"});  // it exec'd meanwhile
  table.Release(*held);
  ProcessEntry now = table.Snapshot()[0];
  REQUIRE(now.shim_info == 0);  // to be found anew in the new program
  REQUIRE(now.argv == std::vector<std::string>{"remote_probe", "/tmp/x"});
  REQUIRE(now.state == ProcState::kHome);  // what the move did stays
  REQUIRE(now.channel_fd == 18);
}

}  // namespace mosix::agent

namespace mosix::agent {

TEST_CASE("the end of a remote part is told to its deputy, never the end of an undone copy") {
  ProcessTable table;
  ProcessEntry e;
  e.pid = getpid();
  e.state = ProcState::kRemote;
  e.where = "node2";
  e.remote_pid = 100;
  REQUIRE(table.Register(e).ok());
  REQUIRE(!table.WaitForEnd(getpid(), 9));  // the deputy asks; nothing ended yet
  REQUIRE(!table.RecordEnd(getpid(), "node2", 99, 0));  // a copy whose move was undone
  REQUIRE(!table.WaitForEnd(getpid(), 9));
  REQUIRE(!table.RecordEnd(getpid(), "node3", 100, 0));  // another node cannot end it
  REQUIRE(!table.WaitForEnd(getpid(), 9));
  auto fd = table.RecordEnd(getpid(), "node2", 100, 7 << 8);
  REQUIRE(fd.has_value());
  REQUIRE(*fd == 9);
}

TEST_CASE("an end reported while a move holds the entry is told once the move gives it back") {
  ProcessTable table;
  ProcessEntry e;
  e.pid = getpid();
  REQUIRE(table.Register(e).ok());
  auto held = table.Acquire(getpid());
  REQUIRE(held.ok());
  // The move: the process arrives as pid 200 over there and ends at once; its deputy asks.
  REQUIRE(!table.RecordEnd(getpid(), "", 200, 3 << 8));
  REQUIRE(!table.WaitForEnd(getpid(), 11));
  held->state = ProcState::kRemote;
  held->remote_pid = 200;
  table.Release(*held);
  auto end = table.EndToTell(getpid());
  REQUIRE(end.has_value());
  REQUIRE(end->first == 11);
  REQUIRE(end->second == 3 << 8);
}

}  // namespace mosix::agent

namespace mosix::agent {
namespace {

TEST_CASE("a process's record keeps what the decisions need across a restart") {
  ProcessEntry e;
  e.pid = 4242;
  e.start_time = 7;
  e.argv = {"job"};
  e.state = ProcState::kRemote;
  e.where = "node3";
  e.remote_pid = 99;
  e.shim_info = 0x1000;  // (a record away says where its shim is)
  e.moves = 3;
  e.RememberLeft("node1", std::chrono::steady_clock::now());
  e.RememberLeft("node2", std::chrono::steady_clock::now());
  e.options.set_locked(true);
  e.options.set_memory_mb(512);
  auto back = FromRecord(ToRecord(e));
  REQUIRE(back.ok());
  REQUIRE(back->moves == 3);
  REQUIRE(back->left.size() == 2);
  REQUIRE(back->left[0].node == "node1");
  REQUIRE(back->left[1].node == "node2");
  REQUIRE(back->options.locked());
  REQUIRE(back->options.memory_mb() == 512);
  REQUIRE(back->left[1].at != std::chrono::steady_clock::time_point{});
}

}  // namespace
}  // namespace mosix::agent

namespace mosix::agent {

TEST_CASE("the nodes a process left are kept newest last, each once, a few") {
  ProcessEntry e;
  auto t = std::chrono::steady_clock::now();
  for (const char* node : {"node1", "node2", "node3", "node1", "node4", "node5"}) e.RememberLeft(node, t);
  REQUIRE(e.left.size() == kNodesLeftKept);
  std::vector<std::string> names;
  for (const auto& l : e.left) names.push_back(l.node);
  REQUIRE(names == std::vector<std::string>{"node3", "node1", "node4", "node5"});
}

TEST_CASE("a child's hello makes an entry only once it has lived a while, or when asked for") {
  ProcessTable table;
  auto now = std::chrono::steady_clock::now();
  auto spawn = [] {
    pid_t child = fork();
    if (child == 0) {
      pause();
      _exit(0);
    }
    return child;
  };
  pid_t a = spawn(), b = spawn(), c = spawn();
  REQUIRE(table.Greet(a, 40));
  REQUIRE(table.Greet(b, 41));
  REQUIRE(table.Greet(c, 42));
  REQUIRE(table.Snapshot().empty());  // noted only
  // One that ends before its time costs nothing and leaves nothing.
  table.ChannelClosed(42);
  table.AdoptNewborns(now + kNewbornAge * 10);
  auto all = table.Snapshot();
  REQUIRE(all.size() == 2);
  // Asked for (a move, a signal, mosps on it), a newborn is an entry at once; it is its
  // channel's, and a second hello from it is its next program.
  ProcessTable asked;
  REQUIRE(asked.Greet(a, 40));
  REQUIRE(asked.Knows(a));
  REQUIRE(asked.Get(a)->channel_fd == 40);
  REQUIRE_FALSE(asked.Greet(a, 43));
  REQUIRE(asked.Acquire(a).ok());
  // A newborn that ended while noted is no entry.
  REQUIRE(asked.Greet(b, 44));
  kill(b, SIGKILL);
  waitpid(b, nullptr, 0);
  REQUIRE_FALSE(asked.Knows(b));
  REQUIRE(asked.Snapshot().size() == 1);
  for (pid_t p : {a, c}) {
    kill(p, SIGKILL);
    waitpid(p, nullptr, 0);
  }
}

// A child that waits in pause() until the test ends.
struct PausedChild {
  PausedChild() : pid(fork()) {
    if (pid == 0) {
      pause();
      _exit(0);
    }
  }
  ~PausedChild() {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  pid_t pid;
};

TEST_CASE("a fork by a process it knows makes a newborn, and so does a fork by a newborn; others' do not") {
  ProcessTable table;
  ProcessEntry e;
  e.pid = getpid();
  REQUIRE(table.Register(e).ok());
  REQUIRE_FALSE(table.Empty());
  PausedChild a, b, c;
  // a is ours; b is a's child (as the kernel says, in the same batch); c is a stranger's.
  REQUIRE(table.Forked({{getpid(), a.pid}, {a.pid, b.pid}, {getppid(), c.pid}}) == 2);
  REQUIRE(table.Snapshot().size() == 1);  // noted only
  REQUIRE(table.Knows(a.pid));
  REQUIRE(table.Knows(b.pid));
  REQUIRE_FALSE(table.Knows(c.pid));
  REQUIRE(table.Get(a.pid)->channel_borrowed);
  // Found in /proc instead: c is this test's child too.
  ProcessTable scanned;
  REQUIRE(scanned.Register(e).ok());
  REQUIRE(scanned.FindChildren(ParentsInProc()) >= 3);
  REQUIRE(scanned.Knows(c.pid));
  REQUIRE(ProcessTable().Empty());
}

TEST_CASE("a fork read after its parent ended is still its: the parent counts a while after it ends") {
  ProcessTable table;
  auto far = std::chrono::steady_clock::now() + kNewbornAge * 10;
  // An entry reaped, and a newborn found gone, before their forks were read.
  auto end = [](PausedChild& c) {
    kill(c.pid, SIGKILL);
    waitpid(c.pid, nullptr, 0);
  };
  PausedChild entry, newborn, child1, child2, stranger;
  ProcessEntry e;
  e.pid = entry.pid;
  REQUIRE(table.Register(e).ok());
  REQUIRE(table.Greet(newborn.pid, -1));
  end(entry);
  end(newborn);
  table.Reap();
  table.AdoptNewborns(far);
  REQUIRE(table.Snapshot().empty());
  REQUIRE_FALSE(table.Empty());  // (it listens on a while: late forks of theirs are its own)
  REQUIRE(table.Forked({{entry.pid, child1.pid}, {newborn.pid, child2.pid}, {getpid(), stranger.pid}}) == 2);
  REQUIRE(table.Knows(child1.pid));
  REQUIRE(table.Knows(child2.pid));
  REQUIRE_FALSE(table.Knows(stranger.pid));
}

TEST_CASE("a forked child greets on its parent's channel: it borrows it until it is given its own") {
  ProcessTable table;
  PausedChild kid;
  pid_t child = kid.pid;
  REQUIRE(table.Greet(child, -1));  // (on the channel it inherited)
  REQUIRE(table.Knows(child));
  ProcessEntry e = *table.Get(child);
  REQUIRE(e.channel_fd == -1);
  REQUIRE(e.channel_borrowed);
  REQUIRE(e.HasChannel());  // it has a shim: it may be moved and checkpointed
  REQUIRE(e.ChannelFdInProcess() == MOSIX_CHANNEL_FD);  // (never part of an image)
  // Its first move gives it one of its own; the mover waits until the channel server has it.
  auto own = [](const ProcessEntry& now) { return now.channel_fd >= 0; };
  REQUIRE(table.AwaitEntry(child, own, absl::Milliseconds(10))->channel_fd == -1);
  auto held = table.Acquire(child);
  REQUIRE(held.ok());
  std::thread server([&] { table.Reattach(child, 50); });
  REQUIRE(table.AwaitEntry(child, own, absl::Seconds(30))->channel_fd == 50);
  server.join();
  table.Release(*held);  // (the held copy still says borrowed: the table's word stands)
  e = *table.Get(child);
  REQUIRE(e.channel_fd == 50);
  REQUIRE_FALSE(e.channel_borrowed);
  // A program it execs greets on a channel of its own: a new program.
  uint32_t program = e.program;
  (void)table.SetChannel(child, 51);
  REQUIRE(table.Get(child)->program == program + 1);
}

TEST_CASE("a borrowed channel's next program is a new program too") {
  ProcessTable table;
  PausedChild kid;
  pid_t child = kid.pid;
  REQUIRE(table.Greet(child, -1));
  REQUIRE(table.Knows(child));
  uint32_t program = table.Get(child)->program;
  (void)table.SetChannel(child, 52);
  ProcessEntry e = *table.Get(child);
  REQUIRE(e.program == program + 1);
  REQUIRE(e.channel_fd == 52);
  REQUIRE_FALSE(e.channel_borrowed);
}

TEST_CASE("a channel is in use while its process is away, frozen or held, not while it runs at home") {
  ProcessTable table;
  ProcessEntry e;
  e.pid = getpid();
  e.channel_fd = 7;
  REQUIRE(table.Register(e).ok());
  REQUIRE(table.ChannelsInUse().empty());
  auto held = table.Acquire(getpid());
  REQUIRE(held.ok());
  REQUIRE(table.ChannelsInUse() == std::set<int>{7});  // a move or a checkpoint holds it
  held->state = ProcState::kRemote;
  held->where = "node2";
  table.Release(*held);
  REQUIRE(table.ChannelsInUse() == std::set<int>{7});  // its deputy speaks on it
  held = table.Acquire(getpid());
  REQUIRE(held.ok());
  held->state = ProcState::kHome;
  table.Release(*held);
  REQUIRE(table.ChannelsInUse().empty());
}

}  // namespace mosix::agent
