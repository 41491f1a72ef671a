#include "flynet/quant/calibrate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "flynet/core/model_state.hpp"
#include "flynet/core/net.hpp"
#include "flynet/core/qat.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {

namespace {


// The VA-ECA internals of one batch (design 3.3), sample by sample with the layer's own
// definition.
void va_eca_internals(const Node& n, const Tensor& z, const Tensor& w, std::vector<float>& mean,
                      std::vector<float>& sd, std::vector<float>& logit) {
  const int64_t N = z.shape[0], P = z.shape[1] * z.shape[2], Q = z.shape[3];
  mean.assign(size_t(N * Q), 0.f);
  sd.assign(size_t(N * Q), 0.f);
  logit.assign(size_t(N * Q), 0.f);
  for (int64_t b = 0; b < N; ++b)
    va_eca_descriptor(z.ptr() + b * P * Q, P, Q, n.heads, n.eca_k, w.ptr(), mean.data() + b * Q, sd.data() + b * Q,
                      logit.data() + b * Q);
}

}  // namespace

CalibrationReport calibrate(Model& model, const BatchSource& batches, const CalibrateOptions& opt) {
  std::map<std::string, TensorObserver> obs;
  Net net(model);
  RunCtx ctx;  // eval mode, T = 1
  int pass = 0;
  int64_t samples = 0;
  auto feed = [&](const std::string& name, const float* x, int64_t n) {
    TensorObserver& o = obs[name];
    if (pass == 0) o.observe_range(x, n);
    else o.observe_histogram(x, n);
  };
  net.set_output_hook([&](const Node& node, int index, Tensor& out) {
    if (node.op == OpKind::dropout) return;
    feed(node.name, out.ptr(), out.numel());
    if (node.op == OpKind::va_eca) {
      std::vector<float> m, s, l;
      va_eca_internals(node, net.output(node.inputs[0]), model.param(node.name + ".weight"), m, s, l);
      feed(node.name + ":mean", m.data(), int64_t(m.size()));
      feed(node.name + ":std", s.data(), int64_t(s.size()));
      feed(node.name + ":logit", l.data(), int64_t(l.size()));
    }
    (void)index;
  });
  for (pass = 0; pass < 2; ++pass)
    batches([&](const Tensor& images) {
      if (pass == 0) samples += images.shape[0];
      net.forward(images, ctx);
    });
  if (samples == 0) throw Error(ErrorCode::usage, "no calibration images");

  CalibrationReport r;
  r.samples = samples;
  r.calibration.state.method = opt.method;
  r.calibration.state.percentile = opt.percentile;
  r.calibration.state.samples = samples;
  // A model trained with int8 activations (--act-bits) keeps the ranges it trained with: the
  // device must quantize where training did. The method only fills in the tensors QAT does not
  // track (VA-ECA internals).
  std::map<std::string, ActRange> trained;
  {
    const std::vector<ActRange> qr = load_act_ranges(model);
    for (size_t i = 0; i < qr.size(); ++i)
      if (qr[i].initialised) trained[model.graph.nodes[i].name] = qr[i];
  }
  r.calibration.state.trained_ranges = !trained.empty();
  for (const auto& [name, o] : obs) {
    TensorCalibration t;
    t.name = name;
    t.observed_min = o.min();
    t.observed_max = o.max();
    auto q = trained.find(name);
    t.chosen = q != trained.end() ? o.evaluate(q->second.min, q->second.max) : o.choose_range(opt.method, opt.percentile);
    t.histogram = o.histogram();
    r.calibration.ranges[name] = TensorRange{t.chosen.min, t.chosen.max};
    r.tensors.push_back(std::move(t));
  }
  return r;
}

LoaderOptions calibration_loader_options(const Model& model, int batch) {
  LoaderOptions lo;
  lo.batch = batch;
  lo.shuffle = true;
  lo.seed = 12345;
  const InputNormalisation n = read_input_normalisation(model).per_channel(model.spec().in_c);
  lo.mean = n.mean;
  lo.std = n.std;
  return lo;
}

void store_calibration(Model& model, const CalibrationReport& r) {
  std::erase_if(model.extra, [](const TensorRecord& t) { return t.name.rfind("calib.", 0) == 0; });
  write_calibration_state(model.meta, r.calibration.state);
  for (const TensorCalibration& t : r.tensors) {
    // [chosen min, chosen max, observed min, observed max, clipped fraction, sqnr dB]
    const float v[6] = {t.chosen.min, t.chosen.max, t.observed_min, t.observed_max, float(t.chosen.clipped_fraction),
                        float(t.chosen.sqnr_db)};
    model.extra.push_back(TensorRecord::from_f32("calib." + t.name + ".range", {6}, v));
    std::vector<float> h(t.histogram.begin(), t.histogram.end());
    model.extra.push_back(TensorRecord::from_f32("calib." + t.name + ".hist", {int64_t(h.size())}, h.data()));
  }
}

Calibration read_calibration(const Model& model, const std::string& file) {
  const std::optional<CalibrationState> state = read_calibration_state(model.meta, file);
  if (!state) throw Error(ErrorCode::format, "model is not calibrated: run flynet calibrate first", file);
  Calibration c;
  c.state = *state;
  const std::string suffix = ".range";
  for (const TensorRecord& t : model.extra) {
    if (t.name.rfind("calib.", 0) != 0 || t.name.size() < suffix.size() ||
        t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::vector<float> v = t.to_f32(file);
    if (v.size() != 6) throw Error(ErrorCode::format, "calibration record '" + t.name + "' is malformed", file);
    c.ranges[t.name.substr(6, t.name.size() - 6 - suffix.size())] = TensorRange{v[0], v[1]};
  }
  return c;
}

CalibrationReport calibrate_model(Model& model, const CalibrateDataOptions& o, const CalibrateProgress& progress_for) {
  const DatasetPair d = open_dataset(o.data);
  const DatasetInfo& di = d.train->info();
  if (di.h != model.spec().in_h || di.w != model.spec().in_w || di.c != model.spec().in_c)
    throw Error(ErrorCode::shape, "data set images do not fit the model's input " + std::to_string(model.spec().in_h) +
                                      "x" + std::to_string(model.spec().in_w) + "x" + std::to_string(model.spec().in_c),
                o.data);
  if (o.samples < 1) throw Error(ErrorCode::usage, "--samples must be at least 1");
  BatchLoader loader(d.train, calibration_loader_options(model, o.batch));
  const int64_t n = std::min<int64_t>(o.samples, di.size);
  int pass = 0;
  const auto progress = progress_for ? progress_for("calibrating") : std::function<void(int64_t, int64_t)>{};
  // Both passes see the same first n images: the loader's fixed shuffle, the last batch cut.
  auto batches = [&](const std::function<void(const Tensor&)>& use) {
    loader.start_epoch(0);
    int64_t done = 0;
    Batch b;
    while (done < n && loader.next(b)) {
      if (b.n() > n - done) {
        Tensor part({n - done, b.images.shape[1], b.images.shape[2], b.images.shape[3]});
        std::copy(b.images.data.begin(), b.images.data.begin() + part.numel(), part.data.begin());
        use(part);
        done = n;
      } else {
        use(b.images);
        done += b.n();
      }
      if (progress) progress(pass * n + done, 2 * n);
    }
    ++pass;
  };
  const CalibrationReport r = calibrate(model, batches, o.calibrate);
  store_calibration(model, r);
  return r;
}

}  // namespace flynet
