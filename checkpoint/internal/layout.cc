#include "checkpoint/internal/layout.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace mosix::internal {

std::optional<uint64_t> FindHole(std::vector<Range> used, uint64_t size, uint64_t from, uint64_t limit) {
  std::sort(used.begin(), used.end(), [](const Range& a, const Range& b) { return a.start < b.start; });
  uint64_t candidate = from;
  for (const Range& r : used) {
    if (r.end <= candidate) continue;
    if (r.start >= candidate + size) break;
    candidate = r.end;
  }
  if (candidate + size > limit || candidate + size < candidate) return std::nullopt;
  return candidate;
}

std::vector<Range> Subtract(Range from, std::vector<Range> minus) {
  std::sort(minus.begin(), minus.end(), [](const Range& a, const Range& b) { return a.start < b.start; });
  std::vector<Range> out;
  uint64_t at = from.start;
  for (const Range& m : minus) {
    if (m.end <= at || m.end <= m.start) continue;
    if (m.start >= from.end) break;
    if (m.start > at) out.push_back({at, m.start});
    at = m.end;
  }
  if (at < from.end) out.push_back({at, from.end});
  return out;
}

std::vector<SpecialMapping> SpecialsOf(const std::vector<MapEntry>& maps) {
  std::vector<SpecialMapping> out;
  for (const MapEntry& e : maps) {
    if (e.path == "[vdso]" || e.path == "[vvar]" || e.path == "[vvar_vclock]") out.push_back({e.path, e.start, e.end});
  }
  return out;
}

std::vector<SpecialMapping> SpecialsOf(const image::Mm& mm) {
  std::vector<SpecialMapping> out;
  for (const image::Vma& v : mm.vmas()) {
    if (v.kind() == image::Vma::VDSO || v.kind() == image::Vma::VVAR) out.push_back({v.path(), v.start(), v.end()});
  }
  return out;
}

absl::Status SameSpecialLayout(const std::vector<SpecialMapping>& here, const std::vector<SpecialMapping>& image) {
  auto describe = [](const std::vector<SpecialMapping>& v) {
    std::string s;
    for (const auto& m : v) absl::StrAppend(&s, s.empty() ? "" : " ", m.name, ":", (m.end - m.start) / 4096, "p");
    return s.empty() ? std::string("none") : s;
  };
  bool same = here.size() == image.size();
  for (size_t i = 0; same && i < here.size(); ++i) {
    same = here[i].name == image[i].name && here[i].end - here[i].start == image[i].end - image[i].start &&
           here[i].start - here[0].start == image[i].start - image[0].start;
  }
  if (!same) {
    return absl::FailedPreconditionError(absl::StrCat("the image's kernel mappings (", describe(image),
                                                      ") differ from this kernel's (", describe(here), ")"));
  }
  return absl::OkStatus();
}

}  // namespace mosix::internal
