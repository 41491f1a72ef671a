// flynet quantize's work around the lowering (quantize_model.hpp).
#include "flynet/quant/quantize_model.hpp"

#include <algorithm>

#include "flynet/core/data.hpp"
#include "flynet/core/model_state.hpp"
#include "flynet/core/qdq.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/h5_store.hpp"
#include "flynet/quant/calibrate.hpp"
#include "flynet/quant/equalize.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flynet/quant/quantize.hpp"
#include "flynet_format.h"

namespace flynet {

namespace {

// The images flynet calibrate measured the ranges on: the first n with its loader settings.
Tensor calibration_images(const Model& m, const std::string& data, int64_t n) {
  const DatasetPair d = open_dataset(data);
  const DatasetInfo& di = d.train->info();
  if (di.h != m.spec().in_h || di.w != m.spec().in_w || di.c != m.spec().in_c)
    throw Error(ErrorCode::shape, "data set images do not fit the model's input", data);
  n = std::min<int64_t>(n, di.size);
  BatchLoader loader(d.train, calibration_loader_options(m, 64));
  loader.start_epoch(0);
  Tensor images({n, di.h, di.w, di.c});
  const int64_t px = int64_t(di.h) * di.w * di.c;
  int64_t done = 0;
  Batch b;
  while (done < n && loader.next(b)) {
    const int64_t k = std::min<int64_t>(b.n(), n - done);
    std::copy(b.images.data.begin(), b.images.data.begin() + k * px, images.data.begin() + done * px);
    done += k;
  }
  return images;
}

// Nagel et al.'s per-tensor precision of one side of a pair: mean over channels of range /
// largest range.
double precision(const std::vector<double>& r) {
  const double mx = r.empty() ? 0.0 : *std::max_element(r.begin(), r.end());
  double sum = 0;
  for (double v : r) sum += mx > 0 ? v / mx : 0.0;
  return r.empty() ? 0.0 : sum / double(r.size());
}

// Equalizes `m` and measures the rescaled tensors' ranges again on `images`.
void equalize_with_ranges(Model& m, Calibration& cal, const Tensor& images, const QuantizeHooks& hooks,
                          QuantizeReport& report) {
  QuantizeEqualization e;
  std::vector<std::array<double, 2>> before;
  std::vector<double> r1, r2;
  for (const EqualizePair& p : equalizable_pairs(m.graph)) {
    pair_ranges(m, p, r1, r2);
    before.push_back({precision(r1), precision(r2)});
  }
  const EqualizeResult r = equalize(m);
  e.sweeps = r.sweeps;
  e.images = images.shape[0];
  for (size_t k = 0; k < r.pairs.size(); ++k) {
    const EqualizePair& p = r.pairs[k];
    pair_ranges(m, p, r1, r2);
    const auto [lo, hi] = std::minmax_element(r.scales[k].begin(), r.scales[k].end());
    e.pairs.push_back({p.first, p.second, *lo, *hi, before[k], {precision(r1), precision(r2)}});
  }
  report.equalization = e;
  if (hooks.part_done) hooks.part_done(QuantizePart::equalization, report);
  const int64_t N = images.shape[0], px = images.numel() / N;
  remeasure_ranges(m, r, cal, [&](const std::function<void(const Tensor&)>& use) {
    for (int64_t b0 = 0; b0 < N; b0 += 64) {
      Tensor part({std::min<int64_t>(64, N - b0), images.shape[1], images.shape[2], images.shape[3]});
      std::copy(images.data.begin() + b0 * px, images.data.begin() + b0 * px + part.numel(), part.data.begin());
      use(part);
    }
  });
}

QuantizeBiasCorrection correct_biases(Model& m, IntGraph& g, const Tensor& images, const QuantizeModelOptions& o,
                                      const QuantizeHooks& hooks) {
  BiasCorrectionOptions bo;
  bo.mode = o.bias_mode;
  bo.threads = o.threads;
  QuantizeBiasCorrection c;
  c.mode = o.bias_mode;
  c.run = correct_bias(m, g, images, bo, hooks.progress ? hooks.progress("bias correction") : ProgressFn{});
  const BiasCorrectionLayer* largest = nullptr;
  for (const BiasCorrectionLayer& l : c.run.layers) {
    c.mean_abs_shift += l.mean_abs_shift / double(c.run.layers.size());
    if (!largest || l.max_abs_shift > largest->max_abs_shift) largest = &l;
  }
  if (largest) {
    c.largest_shift = largest->max_abs_shift;
    c.largest_layer = largest->name;
  }
  return c;
}

// Equalization and bias correction, in that order: equalization changes the float weights the
// lowering quantizes, bias correction the int32 biases of the lowered graph.
IntGraph lower_with_improvements(const QuantizeModelOptions& o, Model& m, Calibration cal, const QuantizeOptions& q,
                                 const QuantizeHooks& hooks, QuantizeReport& report) {
  if (!o.equalize && !o.bias_correction) return lower_to_int8(m, cal, q);
  if (o.data.empty())
    throw Error(ErrorCode::usage, "--equalize and --bias-correction need --data: they run on its training split");
  int64_t n = o.cal_samples;
  if (n <= 0) n = cal.state.samples > 0 ? cal.state.samples : 500;  // 500: files from before it was recorded
  const Tensor images = calibration_images(m, o.data, n);
  if (o.equalize) equalize_with_ranges(m, cal, images, hooks, report);
  IntGraph g = lower_to_int8(m, cal, q);
  g.source = o.model;
  if (o.equalize) g.meta["quant.equalize"] = "cross-layer, ranges re-measured on " + std::to_string(images.shape[0]) + " images";
  if (o.bias_correction) {
    report.bias_correction = correct_biases(m, g, images, o, hooks);
    const std::string mode(choice_name(kBiasCorrectionChoices, o.bias_mode));
    g.meta["quant.bias_correction"] = mode + ", " + std::to_string(report.bias_correction->run.images) + " images";
    if (hooks.part_done) hooks.part_done(QuantizePart::bias_correction, report);
  }
  return g;
}

void describe_graph(const IntGraph& g, const IntRunner& runner, QuantizeReport& r) {
  r.ops = g.ops.size();
  r.tensors = g.tensors.size();
  for (const IntTensor& t : g.tensors)
    if (t.constant()) (t.type == FLYNET_TYPE_INT8 ? r.weight_bytes : r.param_bytes) += int64_t(t.bytes());
  r.arena_size = runner.plan().arena_size;
  r.arena_lower_bound = runner.plan().lower_bound;
  r.rounding = g.meta.at("quant.rounding");
  r.weights = g.meta.at("quant.weights");
  r.calibration = g.meta.at("quant.calibration");
  r.input_scale = g.meta.at("input.scale");
  r.input_zero_point = g.meta.at("input.zero_point");
  for (const IntOp& op : g.ops) {
    if (op.op != FLYNET_OP_CONV2D && op.op != FLYNET_OP_DEPTHWISE_CONV2D && op.op != FLYNET_OP_FULLY_CONNECTED)
      continue;
    const IntTensor& w = g.tensors[size_t(op.inputs.at(1))];
    r.layers.push_back({op.name, w.name, int64_t(w.bytes()), int32_t(w.channel_scales.size()), w.levels});
    r.levels_kept = std::max(r.levels_kept, int(w.levels));
  }
}

// A QDQ model (flynet import) states its grids and int8 weights: no calibration needed (one,
// when present, gives the ranges of the tensors the QDQ model leaves in float), and nothing
// may change its weights.
Calibration calibration_of(const Model& m, const QuantizeModelOptions& o) {
  if (!read_qdq(m, o.model)) return read_calibration(m, o.model);
  const char* changing = o.equalize ? "--equalize" : o.bias_correction ? "--bias-correction"
                         : o.per_tensor ? "--per-tensor" : o.weight_levels > 0 ? "--weight-levels" : nullptr;
  if (changing)
    throw Error(ErrorCode::usage, std::string(changing) + " would change the int8 weights the QDQ model states", o.model);
  return read_calibration_state(m.meta, o.model) ? read_calibration(m, o.model) : Calibration{};
}

}  // namespace

QuantizeReport quantize_model(const QuantizeModelOptions& o, const QuantizeHooks& hooks) {
  Model m = load_model(o.model);
  const Calibration cal = calibration_of(m, o);
  QuantizeOptions q;
  q.rounding = o.rounding;
  q.per_tensor = o.per_tensor;
  q.weight_levels = o.weight_levels >= 0 ? o.weight_levels : read_qat_state(m.meta, o.model).weight_levels;
  QuantizeReport r;
  r.levels_asked = q.weight_levels;
  const IntGraph g = lower_with_improvements(o, m, cal, q, hooks, r);
  const IntRunner runner(g);  // validates every op with the reference before anything is written
  save_model_h5(int_graph_to_record(g), o.out);
  describe_graph(g, runner, r);
  if (hooks.part_done) hooks.part_done(QuantizePart::written, r);
  if (o.data.empty()) return r;

  const DatasetPair d = open_dataset(o.data);
  CompareOptions co;
  co.samples = o.samples;
  co.simulate = o.simulate;
  co.threads = o.threads;
  r.comparison = compare_int8(m, g, d.test, co, hooks.progress ? hooks.progress("comparing") : ProgressFn{});
  if (hooks.part_done) hooks.part_done(QuantizePart::comparison, r);
  return r;
}

}  // namespace flynet
