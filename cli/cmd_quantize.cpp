// flynet quantize: a calibrated float model -> an int8 graph of quant/ref kernels (.q.h5).
// With --data, also runs float, fake-quant simulation and the integer reference side by side
// and prints their accuracy, agreement and per-layer SQNR. Thin: options -> quantize_model()
// -> the report as text (part by part, as it is made) and JSON.
#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/output_set.hpp"
#include "flynet/quant/quantize_model.hpp"
#include "flynet_format.h"
#include "progress.hpp"

namespace flynet::cli {

namespace {

enum class Rounding { single = FLYNET_ROUNDING_SINGLE, dbl = FLYNET_ROUNDING_DOUBLE };
inline constexpr std::array kRoundingChoices = {
    Choice<Rounding>{"double", Rounding::dbl, "TFLM / CMSIS-NN default: doubling high multiply, then rounding shift"},
    Choice<Rounding>{"single", Rounding::single, "one rounding of the 64-bit product (CMSIS_NN_USE_SINGLE_ROUNDING)"},
};

// The library's options, and what only the command does: the option spellings and the JSON.
struct QuantizeOptionsCli : QuantizeModelOptions {
  std::string json;
  Rounding rounding_choice = Rounding::dbl;
  bool no_sim = false;
};

void print_equalization(const QuantizeEqualization& e) {
  std::printf("equalized %zu pairs in %d sweeps\n", e.pairs.size(), e.sweeps);
  for (const EqualizedPair& p : e.pairs)
    std::printf("  %s -> %s: s in [%.3g, %.3g]; precision %s %.2f -> %.2f, %s %.2f -> %.2f\n", p.first.c_str(),
                p.second.c_str(), p.scale_min, p.scale_max, p.first.c_str(), p.precision_before[0],
                p.precision_after[0], p.second.c_str(), p.precision_before[1], p.precision_after[1]);
}

void print_bias_correction(const QuantizeBiasCorrection& c) {
  std::printf("bias correction (%s error, %lld calibration images, %d integer passes): %zu layers, mean |shift| %.3f "
              "output LSB, largest %.2f at %s\n",
              std::string(choice_name(kBiasCorrectionChoices, c.mode)).c_str(), (long long)c.run.images, c.run.passes,
              c.run.layers.size(), c.mean_abs_shift, c.largest_shift,
              c.largest_layer.empty() ? "-" : c.largest_layer.c_str());
}

void print_written(const QuantizeReport& r, const std::string& out) {
  std::printf("int8 graph: %zu ops, %zu tensors; weights %lld bytes, bias/multipliers/indices %lld bytes; "
              "arena %llu bytes (lower bound %llu)\n",
              r.ops, r.tensors, (long long)r.weight_bytes, (long long)r.param_bytes, (unsigned long long)r.arena_size,
              (unsigned long long)r.arena_lower_bound);
  std::printf("input: scale %s, zero point %s (q = round(((pixel/255 - mean)/std) / scale) + zero point)\n",
              r.input_scale.c_str(), r.input_zero_point.c_str());
  std::string levels;
  if (r.calibration.find("qdq") != std::string::npos) levels = ", the QDQ model's grids and int8 weights";
  if (r.levels_kept > 0) levels = ", " + std::to_string(r.levels_kept) + " levels kept";
  else if (r.levels_asked > 0)
    levels = ", " + std::to_string(r.levels_asked) +
             " weight levels not kept: per-tensor codes rounded from the float weights";
  std::printf("wrote %s (rounding %s, weights %s%s)\n", out.c_str(), r.rounding.c_str(), r.weights.c_str(),
              levels.c_str());
}

// "fake-quant" is the simulation in the kernels' integer arithmetic (it should equal int8);
// "ideal" the one in real arithmetic, rounded once onto each int8 grid. Without the
// simulations their figures say "not run" (JSON: null), never 0.
void print_comparison(const CompareReport& r, const std::string& json) {
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
  if (json.empty()) return;
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
  write_bytes_atomically(json, j.dump(2) + "\n");
}

void run_quantize(QuantizeOptionsCli& o) {
  OutputSet outs;
  outs.input("MODEL", o.model);
  outs.input("--data", o.data);
  outs.output("--out", o.out);
  outs.output("--json", o.json);
  outs.check();
  o.rounding = int32_t(o.rounding_choice);
  o.simulate = !o.no_sim;
  QuantizeHooks hooks;
  hooks.progress = [](const std::string& stage) { return ProgressFn(ProgressLine(stage)); };
  hooks.part_done = [&](QuantizePart part, const QuantizeReport& r) {
    switch (part) {
      case QuantizePart::equalization: print_equalization(*r.equalization); break;
      case QuantizePart::bias_correction: print_bias_correction(*r.bias_correction); break;
      case QuantizePart::written: print_written(r, o.out); break;
      case QuantizePart::comparison: print_comparison(*r.comparison, o.json); break;
    }
  };
  naming_file(o.model, [&] { quantize_model(o, hooks); });
  outs.commit();
}

}  // namespace

void setup_quantize(CLI::App& app) {
  auto opt = std::make_shared<QuantizeOptionsCli>();
  CLI::App* sub = app.add_subcommand("quantize", "fold BN and convert a calibrated model to an int8 graph");
  sub->add_option("model", opt->model, "the calibrated float model (.h5)")->required()->option_text("MODEL");
  sub->add_option("--out", opt->out, "the int8 model (.q.h5)")->required()->option_text("FILE");
  std::string rounding;
  for (const auto& c : kRoundingChoices) rounding += "\n  " + std::string(c.name) + ": " + std::string(c.help);
  sub->add_option("--rounding", opt->rounding_choice, "requantization rounding" + rounding)
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
  bound_options(*sub);
  sub->callback([opt]() { run_quantize(*opt); });
}

}  // namespace flynet::cli
