#include "cli/cpu_placement.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace mosix::cli {

std::vector<NodeCpus> PlaceNodes(const std::vector<double>& quotas, const std::vector<int>& host_cpus,
                                 std::vector<std::string>* overcommitted) {
  std::vector<NodeCpus> out(quotas.size());
  if (host_cpus.empty()) return out;
  std::vector<double> placed(host_cpus.size(), 0);
  std::vector<size_t> order(quotas.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return quotas[a] > quotas[b]; });
  for (size_t k : order) {
    double q = quotas[k];
    if (q <= 0) continue;
    size_t want = std::min(host_cpus.size(), static_cast<size_t>(std::ceil(q - 1e-9)));
    // The CPUs with the least placed on them (the lowest first on a tie).
    std::vector<size_t> by_use(host_cpus.size());
    std::iota(by_use.begin(), by_use.end(), 0);
    std::stable_sort(by_use.begin(), by_use.end(), [&](size_t a, size_t b) { return placed[a] < placed[b] - 1e-9; });
    by_use.resize(want);
    std::sort(by_use.begin(), by_use.end());
    for (size_t c : by_use) {
      placed[c] += q / static_cast<double>(want);
      out[k].cpus.push_back(host_cpus[c]);
    }
  }
  if (overcommitted) {
    for (size_t c = 0; c < host_cpus.size(); ++c) {
      if (placed[c] > 1 + 1e-9) overcommitted->push_back(absl::StrFormat("CPU %d: %.2f", host_cpus[c], placed[c]));
    }
  }
  return out;
}

std::string CpuList(const std::vector<int>& cpus) { return absl::StrJoin(cpus, ","); }

}  // namespace mosix::cli
