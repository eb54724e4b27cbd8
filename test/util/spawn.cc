#include "test/util/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace mosix::testing {

std::string Runfile(const std::string& path) {
  const char* dir = getenv("TEST_SRCDIR");
  if (dir) return std::string(dir) + "/mosix/" + path;
  return path;
}

std::string MakeTempDir(const std::string& name) {
  const char* base = getenv("TEST_TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/" + name + "." + std::to_string(getpid());
  std::string cmd = "rm -rf '" + dir + "' && mkdir -p '" + dir + "'";
  if (system(cmd.c_str()) != 0) abort();
  return dir;
}

namespace {

Child Fork(const std::vector<std::string>* argv, const std::string& out_path, bool stdin_pipe,
           const std::vector<std::string>& env, int extra_fd, int extra_at) {
  int p[2] = {-1, -1};
  if (stdin_pipe && pipe2(p, O_CLOEXEC) != 0) abort();
  pid_t pid = fork();
  if (pid == 0) {
    int in = stdin_pipe ? p[0] : open("/dev/null", O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    if (extra_fd >= 0) {
      dup2(extra_fd, extra_at);
      syscall(SYS_close_range, 3, extra_at - 1, 0);
      syscall(SYS_close_range, extra_at + 1, ~0u, 0);
    } else {
      syscall(SYS_close_range, 3, ~0u, 0);
    }
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    if (!argv) {
      for (;;) pause();
    }
    std::vector<char*> args;
    for (const auto& a : *argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  Child c;
  c.pid = pid;
  if (stdin_pipe) {
    close(p[0]);
    c.stdin_fd = p[1];
  }
  return c;
}

}  // namespace

Child Spawn(const std::vector<std::string>& argv, const std::string& out_path, bool stdin_pipe,
            const std::vector<std::string>& env) {
  return Fork(&argv, out_path, stdin_pipe, env, -1, -1);
}

Child SpawnBlank(const std::string& out_path, bool stdin_pipe, int extra_fd, int extra_at) {
  Child c = Fork(nullptr, out_path, stdin_pipe, {}, extra_fd, extra_at);
  // Only once it waits in pause() has it finished setting up its stdio.
  if (!WaitForSyscall(c.pid, SYS_pause)) abort();
  return c;
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool WaitForText(const std::string& path, const std::string& text, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (ReadAll(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool WaitForSyscall(pid_t pid, long nr, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::string want = std::to_string(nr) + " ";
  while (std::chrono::steady_clock::now() < end) {
    if (ReadAll("/proc/" + std::to_string(pid) + "/syscall").rfind(want, 0) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

int Reap(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return status;
}

void Touch(const std::string& path) { close(open(path.c_str(), O_WRONLY | O_CREAT, 0644)); }

}  // namespace mosix::testing
