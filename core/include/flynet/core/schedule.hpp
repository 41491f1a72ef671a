// Learning-rate and temperature schedules.
#ifndef FLYNET_CORE_SCHEDULE_HPP_
#define FLYNET_CORE_SCHEDULE_HPP_

#include <cstdint>

namespace flynet {

/// Cosine decay with linear warm-up, per step: lr rises linearly from base/warmup to base over
/// the first `warmup` steps, then follows base * final_ratio + base * (1 - final_ratio) *
/// (1 + cos(pi t)) / 2 with t going 0 -> 1 over the remaining steps.
double cosine_lr(double base, int64_t step, int64_t total_steps, int64_t warmup_steps, double final_ratio = 0.0);

/// Softmax-gating temperature for epoch e of N (design 3.3): T(e) = t0 * (t1 / t0)^(e / (N - 1)),
/// geometric from t0 to t1 (10 -> 1 by default); t1 when N == 1.
double gate_temperature(int epoch, int epochs, double t0 = 10.0, double t1 = 1.0);

}  // namespace flynet

#endif  // FLYNET_CORE_SCHEDULE_HPP_
