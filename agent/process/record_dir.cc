#include "agent/process/record_dir.h"

#include <dirent.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"

namespace mosix::agent {

absl::Status RecordDir::Open() { return MakeDirs(dir_, 0700); }

std::string RecordDir::PathOf(pid_t pid) const { return absl::StrCat(dir_, "/", pid); }

absl::Status RecordDir::Write(pid_t pid, const google::protobuf::MessageLite& record) {
  std::string bytes;
  if (!record.SerializeToString(&bytes)) return absl::InternalError(absl::StrCat("cannot encode the record of pid ", pid));
  return WriteFileAtomically(PathOf(pid), bytes, 0600);
}

void RecordDir::Remove(pid_t pid) { ::unlink(PathOf(pid).c_str()); }

std::vector<std::pair<pid_t, std::string>> RecordDir::ReadAll(size_t max_bytes, std::vector<std::string>* skipped) {
  std::vector<std::pair<pid_t, std::string>> out;
  DIR* d = ::opendir(dir_.c_str());
  if (!d) return out;
  std::vector<std::string> names;
  while (dirent* de = ::readdir(d)) {
    if (de->d_name[0] != '.') names.emplace_back(de->d_name);
  }
  ::closedir(d);
  for (const std::string& name : names) {
    std::string path = absl::StrCat(dir_, "/", name);
    int pid = 0;
    if (!absl::SimpleAtoi(name, &pid) || pid <= 0) {  // (a file a crash left half written, or a stranger)
      ::unlink(path.c_str());
      continue;
    }
    auto bytes = ReadFileToString(path);
    if (!bytes.ok() || bytes->size() > max_bytes) {
      skipped->push_back(absl::StrCat(path, ": ", bytes.ok() ? "too big" : bytes.status().message()));
      ::unlink(path.c_str());
      continue;
    }
    out.emplace_back(pid, std::move(*bytes));
  }
  return out;
}

}  // namespace mosix::agent
