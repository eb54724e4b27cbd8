#include "agent/services/metrics.h"

#include <exception>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/strings/str_cat.h"

namespace mosix::agent {

// Every node's figures as this node knows them, read at each scrape.
class ViewCollector : public prometheus::Collectable {
 public:
  explicit ViewCollector(ClusterView* view) : view_(view) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    struct Gauge {
      const char* name;
      const char* help;
      double (*value)(const ClusterView::Known&);
    };
    static const Gauge kGauges[] = {
        {"mosix_node_load", "MOSIX load as the node tells others (100 = one process on one standard CPU)",
         [](const ClusterView::Known& k) { return k.load.load(); }},
        {"mosix_node_cpus", "CPUs available to the node (a cgroup quota counts)", [](const ClusterView::Known& k) { return k.load.cpus(); }},
        {"mosix_node_speed", "relative CPU speed", [](const ClusterView::Known& k) { return k.load.speed(); }},
        {"mosix_node_memory_free_bytes", "free memory",
         [](const ClusterView::Known& k) { return static_cast<double>(k.load.mem_free_mb()) * 1048576; }},
        {"mosix_node_memory_total_bytes", "total memory (a cgroup limit counts)",
         [](const ClusterView::Known& k) { return static_cast<double>(k.load.mem_total_mb()) * 1048576; }},
        {"mosix_node_processes", "processes under mosrun running on the node", [](const ClusterView::Known& k) { return double(k.load.procs()); }},
        {"mosix_node_guests", "... of them, guests", [](const ClusterView::Known& k) { return double(k.load.guests()); }},
        {"mosix_node_up", "1 if heard of lately", [](const ClusterView::Known& k) { return k.up ? 1.0 : 0.0; }},
        {"mosix_gossip_age_seconds", "how old this node's information about the node is (-1: never heard of)",
         [](const ClusterView::Known& k) { return k.age_s; }},
    };
    std::vector<ClusterView::Known> nodes = view_->All();
    std::vector<prometheus::MetricFamily> out;
    for (const Gauge& g : kGauges) {
      prometheus::MetricFamily f;
      f.name = g.name;
      f.help = g.help;
      f.type = prometheus::MetricType::Gauge;
      for (const ClusterView::Known& k : nodes) {
        prometheus::ClientMetric m;
        m.label.push_back({"node", k.load.node()});
        m.gauge.value = g.value(k);
        f.metric.push_back(std::move(m));
      }
      out.push_back(std::move(f));
    }
    return out;
  }

 private:
  ClusterView* view_;
};

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Serve(const std::string& address, ClusterView* view) {
  std::unique_ptr<Metrics> m(new Metrics);
  m->registry_ = std::make_shared<prometheus::Registry>();
  m->nodes_ = std::make_shared<ViewCollector>(view);
  auto& moves = prometheus::BuildCounter().Name("mosix_moves_total").Help("processes moved, out of this node or into it").Register(*m->registry_);
  m->moves_out_ = &moves.Add({{"direction", "out"}});
  m->moves_in_ = &moves.Add({{"direction", "in"}});
  m->bytes_out_ = &prometheus::BuildCounter()
                       .Name("mosix_move_bytes_total")
                       .Help("bytes of images sent by moves out of this node")
                       .Register(*m->registry_)
                       .Add({{"direction", "out"}});
  auto& seconds = prometheus::BuildHistogram().Name("mosix_move_seconds").Help("how long moves took").Register(*m->registry_);
  const prometheus::Histogram::BucketBoundaries buckets = {0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30};
  m->seconds_out_ = &seconds.Add({{"direction", "out"}}, buckets);
  m->seconds_in_ = &seconds.Add({{"direction", "in"}}, buckets);
  try {
    m->exposer_ = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  m->exposer_->RegisterCollectable(m->registry_);
  m->exposer_->RegisterCollectable(m->nodes_);
  return m;
}

Metrics::~Metrics() = default;

void Metrics::MoveOut(double seconds, uint64_t bytes) {
  moves_out_->Increment();
  bytes_out_->Increment(static_cast<double>(bytes));
  seconds_out_->Observe(seconds);
}

void Metrics::MoveIn(double seconds) {
  moves_in_->Increment();
  seconds_in_->Observe(seconds);
}

}  // namespace mosix::agent
