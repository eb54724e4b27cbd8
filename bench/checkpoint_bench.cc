// Checkpoint and recovery time and throughput for 16 MiB, 256 MiB and 1 GiB of dense, touched
// memory, with the image on tmpfs (/dev/shm). Each figure is the median of REPS runs; every
// recovered process checks all of its memory before the run counts.
//
//   bazel run //bench:checkpoint_bench [-- SIZES_MIB...]
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "checkpoint/dump.h"
#include "checkpoint/image_format.h"
#include "checkpoint/restore.h"
#include "checkpoint/task.h"
#include "test/util/spawn.h"

namespace {

constexpr int kReps = 3;

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

[[noreturn]] void Die(const std::string& what) {
  fprintf(stderr, "checkpoint_bench: %s\n", what.c_str());
  exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<long> sizes = {16, 256, 1024};
  if (argc > 1) {
    sizes.clear();
    for (int i = 1; i < argc; ++i) sizes.push_back(atol(argv[i]));
  }
  std::string dense = mosix::testing::Runfile("test/programs/dense");
  std::string dir = mosix::testing::MakeTempDir("bench");
  std::string image = "/dev/shm/mosix-bench.img";
  printf("| touched memory | checkpoint | checkpoint MB/s | recovery | recovery MB/s | image size |\n");
  printf("|---|---|---|---|---|---|\n");
  for (long mib : sizes) {
    std::string ctl = dir + "/" + std::to_string(mib);
    mkdir(ctl.c_str(), 0755);
    std::string out = ctl + "/out";
    auto child = mosix::testing::Spawn({dense, std::to_string(mib), ctl}, out);
    if (!mosix::testing::WaitForText(out, "ready", 300)) Die("dense program did not start");
    std::vector<double> dumps, restores;
    uint64_t bytes = 0;
    for (int r = 0; r < kReps; ++r) {
      unlink(image.c_str());
      mosix::DumpOptions o;
      o.path = image;
      auto t0 = std::chrono::steady_clock::now();
      auto res = mosix::Dump(child.pid, o);
      if (!res.ok()) Die(std::string(res.status().message()));
      dumps.push_back(Seconds(t0));
      bytes = res->bytes;
    }
    kill(child.pid, SIGKILL);
    mosix::testing::Reap(child.pid);
    mosix::testing::Touch(ctl + "/finish");
    for (int r = 0; r < kReps; ++r) {
      std::string rout = ctl + "/restored." + std::to_string(r);
      auto blank = mosix::testing::SpawnBlank(rout);
      auto task = mosix::Task::Seize(blank.pid);
      if (!task.ok()) Die(std::string(task.status().message()));
      auto t0 = std::chrono::steady_clock::now();
      auto img = mosix::LoadImage(image);  // maps and verifies every checksum
      if (!img.ok()) Die(std::string(img.status().message()));
      absl::Status s = mosix::Restore(*task, **img, mosix::RestoreOptions());
      if (!s.ok()) Die(std::string(s.message()));
      restores.push_back(Seconds(t0));
      int status = mosix::testing::Reap(blank.pid);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Die("recovered process found its memory wrong: " + mosix::testing::ReadAll(rout));
    }
    unlink(image.c_str());
    double mb = mib * 1048576.0 / 1e6;
    printf("| %ld MiB | %.3f s | %.0f | %.3f s | %.0f | %.1f MiB |\n", mib, Median(dumps), mb / Median(dumps),
           Median(restores), mb / Median(restores), bytes / 1048576.0);
    fflush(stdout);
  }
  return 0;
}
