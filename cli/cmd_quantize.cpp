// flynet quantize: a calibrated float model -> an int8 graph of quant/ref kernels (.q.h5).
// With --data, also runs float, fake-quant simulation and the integer reference side by side
// and prints their accuracy, agreement and per-layer SQNR.
#include <algorithm>
#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "flynet/core/data.hpp"
#include "flynet/core/model_state.hpp"
#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/h5_store.hpp"
#include "flynet/quant/bias_correction.hpp"
#include "flynet/quant/calibrate.hpp"
#include "flynet/quant/compare.hpp"
#include "flynet/quant/equalize.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flynet/quant/quantize.hpp"
#include "flynet_format.h"
#include "progress.hpp"

namespace flynet::cli {

namespace {

enum class Rounding { single = FLYNET_ROUNDING_SINGLE, dbl = FLYNET_ROUNDING_DOUBLE };
inline constexpr std::array kRoundingChoices = {
    Choice<Rounding>{"double", Rounding::dbl, "TFLM / CMSIS-NN default: doubling high multiply, then rounding shift"},
    Choice<Rounding>{"single", Rounding::single, "one rounding of the 64-bit product (CMSIS_NN_USE_SINGLE_ROUNDING)"},
};

struct QuantizeOptionsCli {
  std::string model, out, data, json;
  Rounding rounding = Rounding::dbl;
  bool per_tensor = false;
  int weight_levels = -1;  // -1: from the model (trained with --weight-levels), 0: off
  int64_t samples = 1000;
  bool no_sim = false;
  int threads = 2;
  bool equalize = false, bias_correction = false;
  BiasCorrectionMode bias_mode = BiasCorrectionMode::int8;
  int64_t cal_samples = 0;  // 0: as many as flynet calibrate used (meta calib.samples)
};

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

// --equalize and --bias-correction, in that order: equalization changes the float weights the
// lowering quantizes, bias correction the int32 biases of the lowered graph.
IntGraph lower_with_improvements(const QuantizeOptionsCli& o, Model& m, Calibration cal, const QuantizeOptions& q) {
  if (!o.equalize && !o.bias_correction) return lower_to_int8(m, cal, q);
  if (o.data.empty())
    throw Error(ErrorCode::usage, "--equalize and --bias-correction need --data: they run on its training split");
  int64_t n = o.cal_samples;
  if (n <= 0) n = cal.state.samples > 0 ? cal.state.samples : 500;  // 500: files from before it was recorded
  const Tensor images = calibration_images(m, o.data, n);
  if (o.equalize) {
    // Nagel et al.'s per-tensor precision of each side, mean over channels of range / largest
    // range: what equalization is meant to raise.
    auto precision = [](const std::vector<double>& r) {
      const double mx = r.empty() ? 0.0 : *std::max_element(r.begin(), r.end());
      double sum = 0;
      for (double v : r) sum += mx > 0 ? v / mx : 0.0;
      return r.empty() ? 0.0 : sum / double(r.size());
    };
    std::vector<std::array<double, 2>> before;
    std::vector<double> r1, r2;
    for (const EqualizePair& p : equalizable_pairs(m.graph)) {
      pair_ranges(m, p, r1, r2);
      before.push_back({precision(r1), precision(r2)});
    }
    const EqualizeResult r = equalize(m);
    std::printf("equalized %zu pairs in %d sweeps\n", r.pairs.size(), r.sweeps);
    for (size_t k = 0; k < r.pairs.size(); ++k) {
      const EqualizePair& p = r.pairs[k];
      pair_ranges(m, p, r1, r2);
      const auto [lo, hi] = std::minmax_element(r.scales[k].begin(), r.scales[k].end());
      std::printf("  %s -> %s: s in [%.3g, %.3g]; precision %s %.2f -> %.2f, %s %.2f -> %.2f\n", p.first.c_str(),
                  p.second.c_str(), *lo, *hi, p.first.c_str(), before[k][0], precision(r1), p.second.c_str(),
                  before[k][1], precision(r2));
    }
    const int64_t N = images.shape[0], px = images.numel() / N;
    remeasure_ranges(m, r, cal, [&](const std::function<void(const Tensor&)>& use) {
      for (int64_t b0 = 0; b0 < N; b0 += 64) {
        Tensor part({std::min<int64_t>(64, N - b0), images.shape[1], images.shape[2], images.shape[3]});
        std::copy(images.data.begin() + b0 * px, images.data.begin() + b0 * px + part.numel(), part.data.begin());
        use(part);
      }
    });
  }
  IntGraph g = lower_to_int8(m, cal, q);
  if (o.equalize) g.meta["quant.equalize"] = "cross-layer, ranges re-measured on " + std::to_string(images.shape[0]) + " images";
  if (o.bias_correction) {
    BiasCorrectionOptions bo;
    bo.mode = o.bias_mode;
    bo.threads = o.threads;
    ProgressLine progress("bias correction");
    const BiasCorrectionReport r = correct_bias(m, g, images, bo, [&](int64_t a, int64_t b) { progress(a, b); });
    const BiasCorrectionLayer* worst = nullptr;
    double mean = 0;
    for (const BiasCorrectionLayer& l : r.layers) {
      mean += l.mean_abs_shift / double(r.layers.size());
      if (!worst || l.max_abs_shift > worst->max_abs_shift) worst = &l;
    }
    const std::string mode(choice_name(kBiasCorrectionChoices, o.bias_mode));
    std::printf("bias correction (%s error, %lld calibration images, %d integer passes): %zu layers, mean |shift| %.3f "
                "output LSB, largest %.2f at %s\n",
                mode.c_str(), (long long)r.images, r.passes, r.layers.size(), mean, worst ? worst->max_abs_shift : 0.0,
                worst ? worst->name.c_str() : "-");
    g.meta["quant.bias_correction"] = mode + ", " + std::to_string(r.images) + " images";
  }
  return g;
}

void run_quantize(const QuantizeOptionsCli& o) {
  Model m = load_model(o.model);
  const Calibration cal = read_calibration(m, o.model);
  QuantizeOptions q;
  q.rounding = int32_t(o.rounding);
  q.per_tensor = o.per_tensor;
  q.weight_levels = o.weight_levels >= 0 ? o.weight_levels : read_qat_state(m.meta, o.model).weight_levels;
  const IntGraph g = lower_with_improvements(o, m, cal, q);
  const IntRunner runner(g);  // validates every op with the reference before anything is written
  save_model_h5(int_graph_to_record(g), o.out);

  int64_t weights = 0, params = 0;
  for (const IntTensor& t : g.tensors)
    if (t.constant()) (t.type == FLYNET_TYPE_INT8 ? weights : params) += int64_t(t.bytes());
  std::printf("int8 graph: %zu ops, %zu tensors; weights %lld bytes, bias/multipliers/indices %lld bytes; "
              "arena %llu bytes (lower bound %llu)\n",
              g.ops.size(), g.tensors.size(), (long long)weights, (long long)params,
              (unsigned long long)runner.plan().arena_size, (unsigned long long)runner.plan().lower_bound);
  std::printf("input: scale %s, zero point %s (q = round(((pixel/255 - mean)/std) / scale) + zero point)\n",
              g.meta.at("input.scale").c_str(), g.meta.at("input.zero_point").c_str());
  std::printf("wrote %s (rounding %s, weights %s%s)\n", o.out.c_str(), g.meta.at("quant.rounding").c_str(),
              g.meta.at("quant.weights").c_str(),
              q.weight_levels > 0 ? (", " + std::to_string(q.weight_levels) + " levels kept").c_str() : "");
  if (o.data.empty()) return;

  const DatasetPair d = open_dataset(o.data);
  CompareOptions co;
  co.samples = o.samples;
  co.simulate = !o.no_sim;
  co.threads = o.threads;
  ProgressLine progress("comparing");
  const CompareReport r = compare_int8(m, g, d.test, co, [&](int64_t a, int64_t b) { progress(a, b); });
  // "fake-quant" is the simulation in the kernels' integer arithmetic (it should equal int8);
  // "ideal" the one in real arithmetic, rounded once onto each int8 grid. Without the
  // simulations their figures say "not run" (JSON: null), never 0.
  const bool sim = r.sim.has_value();
  auto pct = [](const std::optional<double>& v) {
    if (!v) return std::string("not run");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f%%", 100 * *v);
    return std::string(buf);
  };
  auto fig = [&](auto member) {
    return std::pair{r.sim ? std::optional<double>((*r.sim).*member) : std::nullopt,
                     r.ideal ? std::optional<double>((*r.ideal).*member) : std::nullopt};
  };
  std::printf("\n%-26s %12s", "tensor", "int8 SQNR dB");
  if (sim) std::printf(" %12s %9s %13s %10s", "fq SQNR dB", "int==fq", "ideal SQNR dB", "int==ideal");
  std::printf("\n");
  for (const LayerSqnr& l : r.layers) {
    std::printf("%-26s %12.1f", l.tensor.c_str(), l.int_vs_float);
    if (l.sim && l.ideal)
      std::printf(" %12.1f %8.2f%% %13.1f %9.2f%%", l.sim->sqnr_db, 100 * l.sim->equal_int, l.ideal->sqnr_db,
                  100 * l.ideal->equal_int);
    std::printf("\n");
  }
  const auto [top_fq, top_ideal] = fig(&SimFigures::top1);
  const auto [int_fq, int_ideal] = fig(&SimFigures::agree_int);
  const auto [fq_float, ideal_float] = fig(&SimFigures::agree_float);
  std::printf("\n%lld test images: top-1 float %.2f%%, int8 %.2f%%, fake-quant %s (ideal %s)\n", (long long)r.count,
              100 * r.top1_float, 100 * r.top1_int, pct(top_fq).c_str(), pct(top_ideal).c_str());
  std::printf("top-1 agreement: int8/float %.2f%%, int8/fake-quant %s (ideal %s), fake-quant/float %s (ideal %s)%s\n",
              100 * r.agree_int_float, pct(int_fq).c_str(), pct(int_ideal).c_str(), pct(fq_float).c_str(),
              pct(ideal_float).c_str(), sim ? "" : " [--no-sim]");
  if (!o.json.empty()) {
    auto val = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    nlohmann::json j;
    j["count"] = r.count;
    j["top1"] = {{"float", r.top1_float},
                 {"int8", r.top1_int},
                 {"fake_quant", val(top_fq)},
                 {"fake_quant_ideal", val(top_ideal)}};
    j["agreement"] = {{"int8_float", r.agree_int_float},
                      {"int8_fake_quant", val(int_fq)},
                      {"fake_quant_float", val(fq_float)},
                      {"int8_fake_quant_ideal", val(int_ideal)},
                      {"fake_quant_ideal_float", val(ideal_float)}};
    for (const LayerSqnr& l : r.layers) {
      auto part = [](const std::optional<LayerSqnr::Sim>& s, double LayerSqnr::Sim::*m) {
        return s ? nlohmann::json((*s).*m) : nlohmann::json(nullptr);
      };
      j["layers"].push_back({{"tensor", l.tensor},
                             {"int8_sqnr_db", l.int_vs_float},
                             {"fake_quant_sqnr_db", part(l.sim, &LayerSqnr::Sim::sqnr_db)},
                             {"int8_equals_fake_quant", part(l.sim, &LayerSqnr::Sim::equal_int)},
                             {"fake_quant_ideal_sqnr_db", part(l.ideal, &LayerSqnr::Sim::sqnr_db)},
                             {"int8_equals_fake_quant_ideal", part(l.ideal, &LayerSqnr::Sim::equal_int)}});
    }
    write_bytes_atomically(o.json, j.dump(2) + "\n");
  }
}

}  // namespace

void setup_quantize(CLI::App& app) {
  auto opt = std::make_shared<QuantizeOptionsCli>();
  CLI::App* sub = app.add_subcommand("quantize", "fold BN and convert a calibrated model to an int8 graph");
  sub->add_option("model", opt->model, "the calibrated float model (.h5)")->required()->option_text("MODEL");
  sub->add_option("--out", opt->out, "the int8 model (.q.h5)")->required()->option_text("FILE");
  std::string rounding;
  for (const auto& c : kRoundingChoices) rounding += "\n  " + std::string(c.name) + ": " + std::string(c.help);
  sub->add_option("--rounding", opt->rounding, "requantization rounding" + rounding)
      ->transform(CLI::CheckedTransformer(choice_map(kRoundingChoices)))
      ->option_text(choice_list(kRoundingChoices))
      ->default_str("double");
  sub->add_flag("--per-tensor", opt->per_tensor, "one weight scale per layer instead of per output channel");
  sub->add_option("--weight-levels", opt->weight_levels,
                  "keep the integer codes of weights trained with this many levels, 2..128 or odd up to 255 "
                  "(default: what the model records; 0: off)")
      ->option_text("L")
      ->check(weight_levels_validator());
  sub->add_option("--data", opt->data, "also compare float, fake-quant and int8 on this data set's test split")
      ->option_text("PATH");
  sub->add_option("--samples", opt->samples, "test images for the comparison (0: all)")->default_val(opt->samples)->option_text("N");
  sub->add_flag("--no-sim", opt->no_sim, "skip the fake-quant simulation in the comparison (faster)");
  sub->add_option("--threads", opt->threads, "threads for the integer runs")->default_val(opt->threads)->option_text("N");
  sub->add_option("--json", opt->json, "write the comparison as JSON")->option_text("FILE");
  sub->add_flag("--equalize", opt->equalize,
                "cross-layer equalization of the ReLU / linear pairs before quantizing (needs --data)");
  sub->add_flag("--bias-correction", opt->bias_correction,
                "remove each conv/FC channel's mean int8 error from its bias (needs --data)");
  std::string bias_modes;
  for (const auto& c : kBiasCorrectionChoices) bias_modes += "\n  " + std::string(c.name) + ": " + std::string(c.help);
  sub->add_option("--bias-correction-mode", opt->bias_mode, "the error --bias-correction removes" + bias_modes)
      ->transform(CLI::CheckedTransformer(choice_map(kBiasCorrectionChoices)))
      ->option_text(choice_list(kBiasCorrectionChoices))
      ->default_str("int8");
  sub->add_option("--cal-samples", opt->cal_samples,
                  "training images for --equalize and --bias-correction (default: as many as flynet calibrate used)")
      ->option_text("N");
  sub->callback([opt]() { run_quantize(*opt); });
}

}  // namespace flynet::cli
