#include "checkpoint/shim_locator.h"

#include <elf.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cstring>
#include <map>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/file_util.h"
#include "base/status.h"
#include "interceptor/shim_info.h"

namespace mosix {

namespace {

absl::StatusOr<uint64_t> ReadDynamicSymbol(const std::string& path, const std::string& name) {
  ASSIGN_OR_RETURN(std::string elf, ReadFileToString(path));
  auto bad = [&](const char* why) { return absl::DataLossError(absl::StrCat(path, ": ", why)); };
  if (elf.size() < sizeof(Elf64_Ehdr) || memcmp(elf.data(), ELFMAG, SELFMAG) != 0) return bad("not an ELF file");
  Elf64_Ehdr eh;
  memcpy(&eh, elf.data(), sizeof eh);
  if (eh.e_shoff == 0 || eh.e_shoff + uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr) > elf.size()) return bad("no section table");
  std::vector<Elf64_Shdr> sh(eh.e_shnum);
  memcpy(sh.data(), elf.data() + eh.e_shoff, eh.e_shnum * sizeof(Elf64_Shdr));
  for (const Elf64_Shdr& s : sh) {
    if (s.sh_type != SHT_DYNSYM || s.sh_link >= sh.size()) continue;
    const Elf64_Shdr& str = sh[s.sh_link];
    if (s.sh_offset + s.sh_size > elf.size() || str.sh_offset + str.sh_size > elf.size()) return bad("truncated");
    for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= s.sh_size; off += sizeof(Elf64_Sym)) {
      Elf64_Sym sym;
      memcpy(&sym, elf.data() + s.sh_offset + off, sizeof sym);
      if (sym.st_name >= str.sh_size || sym.st_shndx == SHN_UNDEF) continue;
      const char* n = elf.data() + str.sh_offset + sym.st_name;
      if (strnlen(n, str.sh_size - sym.st_name) == name.size() && name == n) return sym.st_value;
    }
  }
  return absl::NotFoundError(absl::StrCat(path, " has no symbol ", name));
}

}  // namespace

absl::StatusOr<uint64_t> DynamicSymbol(const std::string& path, const std::string& name) {
  // Remembered per file identity: every first move of a process asks, with the process stopped.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("stat", path);
  using Key = std::tuple<std::string, std::string, dev_t, ino_t, off_t, int64_t>;
  Key key{path, name, st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec};
  static absl::Mutex mu;
  static auto* known = new std::map<Key, uint64_t>();
  {
    absl::MutexLock lock(&mu);
    auto it = known->find(key);
    if (it != known->end()) return it->second;
  }
  ASSIGN_OR_RETURN(uint64_t value, ReadDynamicSymbol(path, name));
  absl::MutexLock lock(&mu);
  (*known)[key] = value;
  return value;
}

absl::StatusOr<ShimLocation> LocateShim(pid_t pid) {
  ASSIGN_OR_RETURN(std::vector<MapEntry> maps, ReadMaps(pid));
  ShimLocation loc;
  for (size_t i = 0; i < maps.size(); ++i) {
    const MapEntry& e = maps[i];
    if (!absl::EndsWith(e.path, "/libmosix.so")) continue;
    if (loc.path.empty()) {
      loc.path = e.path;
      loc.base = e.start - e.offset;
    }
    loc.mappings.push_back(e);
    if (e.prot & PROT_EXEC) {
      loc.text_start = e.start;
      loc.text_end = e.end;
    }
    // Its bss continues in the anonymous mapping right after its last file mapping.
    if (i + 1 < maps.size() && maps[i + 1].path.empty() && maps[i + 1].start == e.end && (e.prot & PROT_WRITE)) {
      loc.mappings.push_back(maps[i + 1]);
    }
  }
  if (loc.path.empty()) return absl::NotFoundError(absl::StrCat("pid ", pid, " has no mosix shim (libmosix.so) loaded"));
  if (loc.text_start == 0) return absl::DataLossError(absl::StrCat("pid ", pid, ": the shim has no executable mapping"));
  ASSIGN_OR_RETURN(uint64_t info, DynamicSymbol(loc.path, MOSIX_SHIM_INFO_SYMBOL));
  loc.info = loc.base + info;
  return loc;
}

}  // namespace mosix
