#include "flynet/core/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace flynet {

double cosine_lr(double base, int64_t step, int64_t total_steps, int64_t warmup_steps, double final_ratio) {
  if (warmup_steps > 0 && step < warmup_steps) return base * double(step + 1) / double(warmup_steps);
  const int64_t span = std::max<int64_t>(1, total_steps - warmup_steps);
  const double t = std::clamp(double(step - warmup_steps) / double(span), 0.0, 1.0);
  return base * final_ratio + base * (1.0 - final_ratio) * 0.5 * (1.0 + std::cos(std::numbers::pi * t));
}

double gate_temperature(int epoch, int epochs, double t0, double t1) {
  if (epochs <= 1) return t1;
  const double f = std::clamp(double(epoch) / double(epochs - 1), 0.0, 1.0);
  return t0 * std::pow(t1 / t0, f);
}

}  // namespace flynet
