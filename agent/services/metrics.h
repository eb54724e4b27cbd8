// Prometheus metrics over HTTP, when the map names a metrics address for this node: what it
// knows of every node (load, CPUs, speed, memory, processes, guests, up, gossip age: read from
// the cluster view at each scrape) and its moves out and in (counts, bytes, durations).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/cluster/cluster_view.h"

namespace prometheus {
class Exposer;
class Registry;
template <typename T>
class Family;
class Counter;
class Histogram;
}  // namespace prometheus

namespace mosix::agent {

class Metrics {
 public:
  // Serves http://ADDRESS/metrics (host:port) until destroyed.
  static absl::StatusOr<std::unique_ptr<Metrics>> Serve(const std::string& address, ClusterView* view);
  ~Metrics();

  // A process of this node moved to another node (out) or one arrived here (in).
  void MoveOut(double seconds, uint64_t bytes);
  void MoveIn(double seconds);

 private:
  Metrics() = default;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<class ViewCollector> nodes_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Counter* moves_out_ = nullptr;
  prometheus::Counter* moves_in_ = nullptr;
  prometheus::Counter* bytes_out_ = nullptr;
  prometheus::Histogram* seconds_out_ = nullptr;
  prometheus::Histogram* seconds_in_ = nullptr;
};

}  // namespace mosix::agent
