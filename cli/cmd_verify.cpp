// flynet verify: runs a .fly file as the device does over a test set and reports it beside the
// float model and the fake-quant simulation; checks dumps bit for bit; runs it on an emulated
// Cortex-M; turns thresholds into an exit status. Thin: options -> quant's verify functions ->
// report (text and JSON) -> gate.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <span>
#include <nlohmann/json.hpp>
#include <numeric>

#include "commands.hpp"
#include "flynet/core/data.hpp"
#include "flynet/core/trainer.hpp"
#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/quant/compare.hpp"
#include "flynet/quant/metrics.hpp"
#include "flynet/quant/quantize.hpp"
#include "flynet/quant/target_qemu.hpp"
#include "flynet/quant/verify.hpp"
#include "progress.hpp"

#ifndef FLYNET_SOURCE_DIR
#define FLYNET_SOURCE_DIR ""
#endif

namespace flynet::cli {

namespace {

struct VerifyOptions {
  std::string model, data, float_model, json, golden, dump, target, source = FLYNET_SOURCE_DIR;
  int64_t samples = 0, dump_images = 16, sim_samples = 1000;
  int threads = 2;
  bool profile = false;
  double min_agreement = -1, max_drop = -1;  // percent / points; < 0: no gate
};

std::vector<double> dequantize(const std::vector<int8_t>& q, double scale, int32_t zp) {
  std::vector<double> v(q.size());
  for (size_t i = 0; i < q.size(); ++i) v[i] = (double(q[i]) - zp) * scale;
  return v;
}

nlohmann::json metrics_json(const ErrorMetrics& m) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"rmse", num(m.rmse)}, {"mae", num(m.mae)}, {"l2r", num(m.l2r)}, {"cosine", num(m.cosine)},
          {"nse", num(m.nse)},   {"sqnr_db", num(m.sqnr_db)}, {"values", m.count}};
}

void print_metrics(const char* what, const ErrorMetrics& m) {
  std::printf("  %-22s rmse %.4f  mae %.4f  l2r %.4f  cosine %.5f  nse %.4f  sqnr %.1f dB\n", what, m.rmse, m.mae, m.l2r,
              m.cosine, m.nse, m.sqnr_db);
}

void run_verify(const VerifyOptions& o) {
  const std::string bytes = read_file_bytes(o.model);
  const FlyModel fm = read_fly(bytes, o.model);
  const IntGraph& g = fm.graph;
  if (o.data.empty()) throw Error(ErrorCode::usage, "--data is required");
  if (o.profile && o.target.empty()) throw Error(ErrorCode::usage, "--profile needs --target");
  if (o.max_drop >= 0 && o.float_model.empty()) throw Error(ErrorCode::usage, "--max-drop needs --float MODEL.h5");

  std::optional<Model> fmodel;
  if (!o.float_model.empty()) fmodel = load_model(o.float_model);
  // The input normalisation: from the file's host info, else from the float model.
  InputQuant iq;
  iq.scale = g.tensors.at(size_t(g.input)).scale;
  iq.zero_point = g.tensors.at(size_t(g.input)).zero_point;
  meta_normalisation(g.meta, iq.mean, iq.std);
  if (iq.mean.empty() && fmodel) input_normalisation(*fmodel, iq.mean, iq.std);
  if (iq.mean.empty())
    throw Error(ErrorCode::usage,
                "the file has no input normalisation: export it with --host-info, or give --float MODEL.h5", o.model);

  const DatasetPair d = open_dataset(o.data);
  IntRunOptions ro;
  // An emulated board runs ~1000x slower than the host: a hundred images unless told.
  ro.samples = o.samples == 0 && !o.target.empty() ? 100 : o.samples;
  ro.threads = o.threads;
  ProgressLine progress("integer reference");
  const IntRun run = run_int_reference(bytes, fm, iq, d.test, ro, std::ref(progress));
  const IntTensor& out = g.tensors.at(size_t(g.output));
  const int K = run.classes;
  const std::vector<double> int_out = dequantize(run.codes, out.scale, out.zero_point);
  const Accuracy ai = accuracy(int_out, run.labels, K);

  nlohmann::json j;
  j["model"] = o.model;
  j["data"] = d.test->info().source;
  j["count"] = run.count;
  j["int8"] = {{"top1", ai.top1}, {"top5", ai.top5}, {"confusion", ai.confusion}, {"seconds", run.seconds},
               {"images_per_s", run.seconds > 0 ? double(run.count) / run.seconds : 0.0}};
  std::printf("%lld test images through the integer reference (%s): %.2f s, %.0f img/s, %d threads\n",
              (long long)run.count, o.model.c_str(), run.seconds, run.seconds > 0 ? double(run.count) / run.seconds : 0.0,
              o.threads);
  std::printf("  top-1 / top-5 vs labels: int8 %.2f%% / %.2f%%", 100 * ai.top1, 100 * ai.top5);

  double agreement_value = -1, drop = 0;
  std::string agreement_with;
  if (fmodel) {
    // The float model on exactly these images, in the same order.
    std::vector<int64_t> idx(size_t(run.count));
    std::iota(idx.begin(), idx.end(), 0);
    std::vector<float> mean, sd;
    model_normalisation(*fmodel, mean, sd);
    if (mean.empty()) input_normalisation(*fmodel, mean, sd);
    const EvalResult fe = evaluate(*fmodel, subset(d.test, idx), mean, sd, 256, true);
    const std::vector<double> float_out(fe.logits.data.begin(), fe.logits.data.end());
    const Accuracy af = accuracy(float_out, run.labels, K);
    const double agree = agreement(int_out, float_out, K);
    const ErrorMetrics em = error_metrics(int_out, float_out);
    std::printf(", float %.2f%% / %.2f%%\n", 100 * af.top1, 100 * af.top5);
    std::printf("  top-1 agreement int8/float %.2f%%\n", 100 * agree);
    print_metrics("int8 vs float logits:", em);
    j["float"] = {{"top1", af.top1}, {"top5", af.top5}, {"confusion", af.confusion}};
    j["agreement"]["int8_float"] = agree;
    j["metrics"]["int8_vs_float"] = metrics_json(em);
    agreement_value = agree;
    agreement_with = "float";
    drop = 100 * (af.top1 - ai.top1);
    // The fake-quant simulations and per-layer SQNR need the graph's names and real scales.
    if (fm.host_info && o.sim_samples != 0) {
      CompareOptions co;
      co.samples = o.sim_samples > 0 ? std::min(o.sim_samples, run.count) : run.count;
      co.threads = o.threads;
      ProgressLine p2("simulation and layers");
      const CompareReport c = compare_int8(*fmodel, g, d.test, co, std::ref(p2));
      std::printf("  on the first %lld images: int8 %.2f%%", (long long)c.count, 100 * c.top1_int);
      nlohmann::json cj = {{"count", c.count}, {"top1_int8", c.top1_int}, {"top1_float", c.top1_float}};
      if (c.sim) {
        std::printf(", fake-quant %.2f%% (agreement with int8 %.2f%%)", 100 * c.sim->top1, 100 * c.sim->agree_int);
        cj["top1_fake_quant"] = c.sim->top1;
        cj["agreement_int8_fake_quant"] = c.sim->agree_int;
        cj["agreement_fake_quant_float"] = c.sim->agree_float;
      }
      if (c.ideal) {
        std::printf(", ideal fake-quant %.2f%%", 100 * c.ideal->top1);
        cj["top1_ideal_fake_quant"] = c.ideal->top1;
      }
      std::printf("\n  per-layer SQNR, int8 vs float (dB):\n");
      nlohmann::json layers = nlohmann::json::array();
      for (const LayerSqnr& L : c.layers) {
        std::printf("    %-28s %6.1f\n", L.tensor.c_str(), L.int_vs_float);
        nlohmann::json lj = {{"tensor", L.tensor}, {"sqnr_int8_vs_float_db", L.int_vs_float}};
        if (L.sim) lj["sqnr_fake_quant_vs_float_db"] = L.sim->sqnr_db;
        layers.push_back(lj);
      }
      cj["layers"] = layers;
      j["simulation"] = cj;
    } else if (!fm.host_info) {
      std::printf("  (fake-quant simulation and per-layer SQNR need a file exported with --host-info)\n");
    }
  } else {
    std::printf("\n");
  }

  int failed = 0;
  std::string failure;
  auto fail = [&](const std::string& why) {
    if (!failed++) failure = why;
    std::printf("FAILED: %s\n", why.c_str());
  };

  if (!o.dump.empty()) {
    write_golden(o.dump, bytes, fm, run, o.dump_images);
    std::printf("wrote layer dumps of %lld images to %s\n", (long long)std::min(o.dump_images, run.count), o.dump.c_str());
  }
  if (!o.golden.empty()) {
    const GoldenResult gr = compare_golden(o.golden, bytes, fm, run);
    j["golden"] = {{"dir", o.golden}, {"images", gr.images}, {"match", gr.match}};
    if (gr.match) {
      std::printf("golden %s: all %lld images match layer by layer, bit for bit\n", o.golden.c_str(), (long long)gr.images);
    } else {
      char b[512];
      std::snprintf(b, sizeof b,
                    "golden mismatch: image %lld, op %d '%s' output %d (tensor '%s'), element %lld at (n %d, h %d, w %d, "
                    "c %d): dump %d, this run %d (%lld of %llu elements differ)",
                    (long long)gr.image, gr.layer.op, gr.layer.op_name.c_str(), gr.layer.slot,
                    gr.layer.tensor_name.c_str(), (long long)gr.index, gr.position[0], gr.position[1], gr.position[2],
                    gr.position[3], gr.expected, gr.got, (long long)gr.differing, (unsigned long long)gr.layer.bytes);
      j["golden"]["first_mismatch"] = {{"image", gr.image},       {"op", gr.layer.op},
                                       {"op_name", gr.layer.op_name}, {"tensor", gr.layer.tensor_name},
                                       {"index", gr.index},       {"position", gr.position},
                                       {"expected", gr.expected}, {"got", gr.got}};
      fail(b);
    }
  }

  if (!o.target.empty()) {
    QemuTargetOptions to;
    to.board = o.target;
    to.source_dir = o.source;
    to.profile = o.profile;
    const QemuRunResult t = run_on_qemu(bytes, std::span<const int8_t>(run.inputs), int(run.count), to);
    int64_t same = 0, first_diff = -1;
    const size_t ob = size_t(t.output_bytes);
    for (int64_t i = 0; i < run.count; ++i) {
      const bool eq = std::equal(run.codes.begin() + i * K, run.codes.begin() + (i + 1) * K, t.outputs.begin() + int64_t(i * ob));
      same += eq;
      if (!eq && first_diff < 0) first_diff = i;
    }
    std::printf("%s (%s, %s): %lld/%lld images bit-identical with the host\n", t.board.name.c_str(),
                t.board.machine.c_str(), t.board.cpu.c_str(), (long long)same, (long long)run.count);
    std::printf("  firmware flash %llu B (+ model %llu B = %llu B), RAM %llu B (arena %llu, tables %llu, stack %llu, "
                "stack used %llu)\n",
                (unsigned long long)t.sizes.flash(), (unsigned long long)t.model_bytes,
                (unsigned long long)t.flash_bytes, (unsigned long long)t.ram_bytes, (unsigned long long)t.arena_size,
                (unsigned long long)t.table_bytes, (unsigned long long)t.sizes.stack, (unsigned long long)t.stack_used);
    nlohmann::json tj = {{"board", t.board.name},       {"machine", t.board.machine},   {"cpu", t.board.cpu},
                         {"images", run.count},         {"identical", same},            {"flash_bytes", t.flash_bytes},
                         {"firmware_flash_bytes", t.sizes.flash()}, {"model_bytes", t.model_bytes},
                         {"ram_bytes", t.ram_bytes},    {"arena_bytes", t.arena_size},  {"stack_used", t.stack_used}};
    if (t.instructions_measured()) {
      std::printf("  %.0f instructions per inference (qemu -icount, %g per SysTick tick)\n", t.mean_instructions(),
                  t.instructions_per_tick);
      tj["instructions_per_inference"] = t.mean_instructions();
    } else {
      std::printf("  instructions per inference: not measured (SysTick calibration did not match the board)\n");
    }
    if (!t.profile.empty()) {
      std::fputs(format_target_profile(t.profile).c_str(), stdout);
      const TargetProfile& p = t.profile;
      nlohmann::json nodes = nlohmann::json::array(), kinds = nlohmann::json::array();
      for (const NodeProfile& n : p.nodes)
        nodes.push_back({{"node", n.node}, {"op", n.op}, {"kind", n.kind}, {"layer", n.layer},
                         {"instructions", n.instructions}, {"macs", n.macs}, {"instructions_per_mac", n.per_mac()}});
      for (const KindProfile& k : p.kinds)
        kinds.push_back({{"kind", k.kind}, {"nodes", k.nodes}, {"instructions", k.instructions}, {"macs", k.macs},
                         {"instructions_per_mac", k.per_mac()}});
      tj["profile"] = {{"images", p.samples},        {"instructions_per_inference", p.whole},
                       {"node_instructions", p.node_instructions}, {"graph_check_instructions", p.overhead},
                       {"macs", p.macs},             {"instructions_per_mac", p.per_mac()},
                       {"nodes", nodes},             {"kinds", kinds}};
    } else if (o.profile) {
      std::printf("  per-op profile: not measured (SysTick calibration did not match the board)\n");
    }
    j["target"] = tj;
    if (same != run.count)
      fail(t.board.name + " differs from the host on " + std::to_string(run.count - same) + " of " +
           std::to_string(run.count) + " images (first: image " + std::to_string(first_diff) + ")");
  }

  // Gates.
  if (o.min_agreement >= 0) {
    if (agreement_value < 0) throw Error(ErrorCode::usage, "--min-agreement needs --float MODEL.h5");
    char b[160];
    std::snprintf(b, sizeof b, "top-1 agreement int8/%s %.2f%% is below --min-agreement %.2f%%",
                  agreement_with.c_str(), 100 * agreement_value, o.min_agreement);
    if (100 * agreement_value < o.min_agreement) fail(b);
  }
  if (o.max_drop >= 0) {
    char b[160];
    std::snprintf(b, sizeof b, "top-1 drop float -> int8 %.2f points exceeds --max-drop %.2f", drop, o.max_drop);
    if (drop > o.max_drop) fail(b);
  }
  j["gate"] = {{"passed", failed == 0}, {"failures", failed}, {"first_failure", failure}};
  if (!o.json.empty()) write_bytes_atomically(o.json, j.dump(2) + "\n");
  if (failed) throw Error(ErrorCode::check, failure);
  std::printf("verify passed\n");
}

}  // namespace

void setup_verify(CLI::App& app) {
  auto opt = std::make_shared<VerifyOptions>();
  CLI::App* sub = app.add_subcommand(
      "verify", "run a .fly model as the device does and compare it with float, fake-quant, dumps and an emulated Cortex-M");
  sub->add_option("model", opt->model, "the .fly file from flynet export")->required()->option_text("MODEL.fly");
  sub->add_option("--data", opt->data, "data set whose test split is run")->option_text("DIR|FILE");
  sub->add_option("--samples", opt->samples, "first N test images (0: all)")->option_text("N")->default_val(opt->samples);
  sub->add_option("--float", opt->float_model, "the float model: its outputs beside the integers, and the drop gate")
      ->option_text("MODEL.h5");
  sub->add_option("--sim-samples", opt->sim_samples,
                  "images for the fake-quant simulation and per-layer SQNR (needs --float and a file exported with "
                  "--host-info; 0: skip, -1: all)")
      ->option_text("N")
      ->default_val(opt->sim_samples);
  sub->add_option("--json", opt->json, "write the whole report as JSON")->option_text("FILE");
  sub->add_option("--dump", opt->dump, "write every layer's output for the first images (the golden layout)")
      ->option_text("DIR");
  sub->add_option("--dump-images", opt->dump_images, "images to dump")->option_text("N")->default_val(opt->dump_images);
  sub->add_option("--golden", opt->golden,
                  "compare every layer bit for bit with dumps in DIR; the first difference fails the check")
      ->option_text("DIR");
  sub->add_option("--min-agreement", opt->min_agreement, "fail unless top-1 agreement int8/float >= P percent")
      ->option_text("P");
  sub->add_option("--max-drop", opt->max_drop, "fail if int8 top-1 is more than D points below float")->option_text("D");
  sub->add_option("--target", opt->target,
                  "also run the --samples images on an emulated Cortex-M and require bit-identical outputs")
      ->check(CLI::IsMember({"qemu-m3", "qemu-m4", "qemu-m7", "qemu-m33", "qemu-m55"}))
      ->option_text("qemu-m3|qemu-m4|qemu-m7|qemu-m33|qemu-m55");
  sub->add_flag("--profile", opt->profile,
               "with --target: also time every node on the target (instructions per op, per op kind, per MAC)");
  sub->add_option("--source", opt->source, "flynet source tree holding examples/cortex-m and quant/ref (for --target)")
      ->option_text("DIR")
      ->default_val(opt->source);
  sub->add_option("--threads", opt->threads, "threads for the integer reference")->option_text("N")->default_val(opt->threads);
  sub->callback([opt]() { run_verify(*opt); });
}

}  // namespace flynet::cli
