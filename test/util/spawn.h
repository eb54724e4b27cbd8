// Test helpers: start a program with only stdio open, wait for its output, find runfiles.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace mosix::testing {

// $TEST_SRCDIR/mosix/<path> under bazel, else <path> from the workspace root.
std::string Runfile(const std::string& path);
// A fresh directory under $TEST_TMPDIR (or /tmp).
std::string MakeTempDir(const std::string& name);

struct Child {
  pid_t pid = -1;
  int stdin_fd = -1;  // our end of its stdin pipe, or -1 (stdin is /dev/null)
};

// Forks and execs argv with stdout and stderr to out_path and fds 3.. closed; env entries
// ("NAME=value") are added to its environment.
Child Spawn(const std::vector<std::string>& argv, const std::string& out_path, bool stdin_pipe = false,
            const std::vector<std::string>& env = {});
// Forks a child that only waits, with fds 3.. closed (but extra_fd, given to it as fd
// extra_at): a target to restore into.
Child SpawnBlank(const std::string& out_path, bool stdin_pipe = false, int extra_fd = -1, int extra_at = -1);
// Polls until the file contains `text` (deadline: 60 s). Returns whether it appeared.
bool WaitForText(const std::string& path, const std::string& text, double seconds = 60);
// Polls /proc/PID/syscall until the process sits in system call nr (deadline: 60 s).
bool WaitForSyscall(pid_t pid, long nr, double seconds = 60);
// waitpid; returns the raw status.
int Reap(pid_t pid);
std::string ReadAll(const std::string& path);
void Touch(const std::string& path);

}  // namespace mosix::testing
