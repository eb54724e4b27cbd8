// Developer tool: the checkpointer without the agent.
//   ckpt_tool dump PID FILE       checkpoint PID into FILE (it keeps running)
//   ckpt_tool restore FILE        recover FILE as a child of this tool; exits as it does
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "checkpoint/dump.h"
#include "checkpoint/image_format.h"
#include "checkpoint/restore.h"
#include "checkpoint/task.h"

namespace {

int Fail(const absl::Status& s) {
  fprintf(stderr, "ckpt_tool: %s\n", std::string(s.message()).c_str());
  return 1;
}

int Restore(const char* path) {
  auto image = mosix::LoadImage(path);
  if (!image.ok()) return Fail(image.status());
  mosix::RestoreOptions options;
  if (auto s = mosix::CheckRestorable(**image, options); !s.ok()) return Fail(s);
  pid_t child = fork();
  if (child == 0) {
    for (;;) pause();
  }
  auto task = mosix::Task::Seize(child);
  if (!task.ok()) return Fail(task.status());
  auto s = mosix::Restore(*task, **image, options);
  if (!s.ok()) {
    kill(child, SIGKILL);
    return Fail(s);
  }
  int status;
  while (waitpid(child, &status, 0) < 0) {
  }
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "ckpt_tool: recovered process killed by signal %d\n", WTERMSIG(status));
    return 128 + WTERMSIG(status);
  }
  return WEXITSTATUS(status);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "dump") == 0) {
    mosix::DumpOptions options;
    options.path = argv[3];
    auto r = mosix::Dump(atoi(argv[2]), options);
    if (!r.ok()) return Fail(r.status());
    printf("%s: %lu bytes, %lu pages, %.3f s, %s\n", r->path.c_str(), (unsigned long)r->bytes,
           (unsigned long)r->pages, r->seconds, r->syscall_note.c_str());
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "restore") == 0) return Restore(argv[2]);
  fprintf(stderr, "usage: ckpt_tool dump PID FILE | restore FILE\n");
  return 2;
}
