#include "agent/cluster/load.h"

#include <algorithm>

namespace mosix::agent {

double LoadOf(double runnable, double cpus, double speed) {
  if (cpus <= 0) cpus = 1;
  if (speed <= 0) speed = 1;
  return std::max(0.0, runnable) * 100.0 / cpus / speed;
}

void SmoothedLoad::Add(double load) {
  if (first_) {
    own_ = exported_ = load;
    first_ = false;
    return;
  }
  own_ = load < own_ ? load : (5 * own_ + 3 * load) / 8;
  exported_ = load > exported_ ? load : (3 * exported_ + load) / 4;
}

void SmoothedLoad::Bump(double load) {
  own_ = std::max(0.0, own_ + load);
  exported_ = std::max(0.0, exported_ + load);
}

}  // namespace mosix::agent
