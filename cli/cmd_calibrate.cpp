// flynet calibrate: activation ranges of a float model on calibration images, stored in the
// model for `flynet quantize`. Thin: options -> calibrate_model() -> save -> the report
// as a table and JSON.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "flynet/core/data.hpp"
#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/output_set.hpp"
#include "flynet/quant/calibrate.hpp"
#include "progress.hpp"

namespace flynet::cli {

namespace {

struct CalibrateOptionsCli {
  std::string model, out, json;
  CalibrateDataOptions run;
};

// The histogram in kReportBins bins (sums of neighbouring bins) over the observed range: enough
// for flynet report's picture, a fraction of the 8192 bins the calibration holds.
constexpr size_t kReportBins = 64;
nlohmann::json histogram_json(const TensorCalibration& t) {
  std::vector<double> counts(kReportBins, 0.0);
  const size_t n = t.histogram.size();
  for (size_t i = 0; i < n; ++i) counts[i * kReportBins / n] += t.histogram[i];
  return {{"range", {t.observed_min, t.observed_max}}, {"counts", counts}};
}

void run_calibrate(const CalibrateOptionsCli& o) {
  OutputSet outs;
  outs.input("MODEL", o.model);
  outs.input("--data", o.run.data);
  outs.output("--json", o.json);
  outs.output("--out", o.out.empty() ? o.model : o.out);
  outs.allow_same("--out", "MODEL");  // the default: the model is updated in place
  outs.check();
  Model m = load_model(o.model);
  CalibrationReport r;
  naming_file(o.model, [&] {
    r = calibrate_model(m, o.run, [](const std::string& stage) {
      return std::function<void(int64_t, int64_t)>(ProgressLine(stage));
    });
  });
  save_model(m, o.out.empty() ? o.model : o.out);

  std::printf("%-26s %10s %10s %10s %10s %9s %9s\n", "tensor", "obs.min", "obs.max", "min", "max", "clipped%", "sqnr dB");
  for (const TensorCalibration& t : r.tensors)
    std::printf("%-26s %10.4f %10.4f %10.4f %10.4f %9.4f %9.1f\n", t.name.c_str(), t.observed_min, t.observed_max,
                t.chosen.min, t.chosen.max, 100 * t.chosen.clipped_fraction, t.chosen.sqnr_db);
  std::printf("calibrated %zu tensors on %lld images with %s; wrote %s\n", r.tensors.size(), (long long)r.samples,
              r.calibration.state.method_name().c_str(), (o.out.empty() ? o.model : o.out).c_str());
  if (!o.json.empty()) {
    nlohmann::json j;
    j["method"] = r.calibration.state.method_name();
    j["samples"] = r.samples;
    for (const TensorCalibration& t : r.tensors) {
      j["tensors"].push_back({{"name", t.name},
                              {"observed", {t.observed_min, t.observed_max}},
                              {"range", {t.chosen.min, t.chosen.max}},
                              {"clipped_fraction", t.chosen.clipped_fraction},
                              {"mse", t.chosen.mse},
                              {"sqnr_db", t.chosen.sqnr_db}});
      if (!t.histogram.empty()) j["tensors"].back()["histogram"] = histogram_json(t);
    }
    write_bytes_atomically(o.json, j.dump(2) + "\n");
  }
  outs.commit();
}

}  // namespace

void setup_calibrate(CLI::App& app) {
  auto opt = std::make_shared<CalibrateOptionsCli>();
  CLI::App* sub = app.add_subcommand("calibrate", "collect activation ranges on calibration images");
  sub->add_option("model", opt->model, "the float model (.h5)")->required()->option_text("MODEL");
  sub->add_option("--data", opt->run.data, "data set (idx, CIFAR, image folders or HDF5); its training split is used")
      ->required()
      ->option_text("PATH");
  sub->add_option("--samples", opt->run.samples, "calibration images")->default_val(opt->run.samples)->option_text("N");
  std::string methods;
  for (const auto& c : kCalibChoices) methods += "\n  " + std::string(c.name) + ": " + std::string(c.help);
  sub->add_option("--method", opt->run.calibrate.method, "range choice" + methods)
      ->transform(CLI::CheckedTransformer(choice_map(kCalibChoices)))
      ->option_text(choice_list(kCalibChoices))
      ->default_str("minmax");
  sub->add_option("--percentile", opt->run.calibrate.percentile, "percentile for --method percentile")
      ->default_val(opt->run.calibrate.percentile)
      ->option_text("P");
  sub->add_option("--batch", opt->run.batch, "batch size")->default_val(opt->run.batch)->option_text("B");
  sub->add_option("--out", opt->out, "write the calibrated model here (default: update MODEL in place)")->option_text("FILE");
  sub->add_option("--json", opt->json, "also write the per-tensor report as JSON")->option_text("FILE");
  bound_options(*sub);
  sub->callback([opt]() { run_calibrate(*opt); });
}

}  // namespace flynet::cli
