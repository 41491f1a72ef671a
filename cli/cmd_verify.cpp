// flynet verify: runs a .fly file as the device does over a test set and reports it beside the
// float model and the fake-quant simulation; checks dumps bit for bit; runs it on an emulated
// Cortex-M; turns thresholds into an exit status. Thin: options -> verify_model() -> the report
// as text (part by part, as it is made) and JSON -> the gate as the exit status.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/output_set.hpp"
#include "flynet/formats/report_page.hpp"
#include "flynet/quant/info.hpp"
#include "info_json.hpp"
#include "flynet/quant/target_profile.hpp"
#include "flynet/quant/verify.hpp"
#include "progress.hpp"

namespace flynet::cli {

namespace {

// The library's options, and what only the command does with the report.
struct VerifyCommandOptions : VerifyOptions {
  std::string json, html;
};

nlohmann::json metrics_json(const ErrorMetrics& m) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"rmse", num(m.rmse)}, {"mae", num(m.mae)}, {"l2r", num(m.l2r)}, {"cosine", num(m.cosine)},
          {"nse", num(m.nse)},   {"sqnr_db", num(m.sqnr_db)}, {"values", m.count}};
}

void print_metrics(const char* what, const ErrorMetrics& m) {
  std::printf("  %-22s rmse %.4f  mae %.4f  l2r %.4f  cosine %.5f  nse %.4f  sqnr %.1f dB\n", what, m.rmse, m.mae, m.l2r,
              m.cosine, m.nse, m.sqnr_db);
}

// The text report, one part at a time as verify_model completes it; each part's failed checks
// follow it.
class TextReport {
 public:
  explicit TextReport(const VerifyCommandOptions& o) : o_(o) {}

  void operator()(VerifyPart part, const VerifyReport& r) {
    switch (part) {
      case VerifyPart::int8: print_int8(r); break;
      case VerifyPart::float_model: print_float(r); break;
      case VerifyPart::simulation: print_simulation(r); break;
      case VerifyPart::dump:
        std::printf("wrote layer dumps of %lld images to %s\n", (long long)r.dumped_images, o_.dump.c_str());
        break;
      case VerifyPart::golden:
        if (r.golden->match)
          std::printf("golden %s: all %lld images match layer by layer, bit for bit\n", o_.golden.c_str(),
                      (long long)r.golden->images);
        break;
      case VerifyPart::target: print_target(r, o_.profile); break;
      case VerifyPart::gates: break;
    }
    for (; failures_ < r.failures.size(); ++failures_) std::printf("FAILED: %s\n", r.failures[failures_].c_str());
  }

 private:
  void print_int8(const VerifyReport& r) {
    std::printf("%lld test images through the integer reference (%s): %.2f s, %.0f img/s, %d threads\n",
                (long long)r.run.count, o_.model.c_str(), r.run.seconds, r.images_per_second(), o_.threads);
    std::printf("  top-1 / top-5 vs labels: int8 %.2f%% / %.2f%%", 100 * r.int8.top1, 100 * r.int8.top5);
    // Without a float model nothing follows on this line.
    if (o_.float_model.empty()) std::printf("\n");
  }

  static void print_float(const VerifyReport& r) {
    const VerifyFloat& f = *r.float_model;
    std::printf(", float %.2f%% / %.2f%%\n", 100 * f.accuracy.top1, 100 * f.accuracy.top5);
    std::printf("  top-1 agreement int8/float %.2f%%\n", 100 * f.agreement);
    print_metrics("int8 vs float logits:", f.int8_vs_float);
    if (!f.qdq) return;
    std::printf("  the QDQ model's own simulation: top-1 agreement int8/QDQ %.2f%%, max |int8 - QDQ| %.4g (%.2f output steps)\n",
                100 * f.qdq->agreement, f.qdq->max_abs_diff, f.qdq->max_lsb_diff);
    print_metrics("int8 vs QDQ logits:", f.qdq->int8_vs_sim);
  }

  static void print_simulation(const VerifyReport& r) {
    if (!r.simulation) {
      if (!r.host_info) std::printf("  (fake-quant simulation and per-layer SQNR need a file exported with --host-info)\n");
      return;
    }
    const CompareReport& c = *r.simulation;
    std::printf("  on the first %lld images: int8 %.2f%%", (long long)c.count, 100 * c.top1_int);
    if (c.sim) std::printf(", fake-quant %.2f%% (agreement with int8 %.2f%%)", 100 * c.sim->top1, 100 * c.sim->agree_int);
    if (c.ideal) std::printf(", ideal fake-quant %.2f%%", 100 * c.ideal->top1);
    std::printf("\n  per-layer SQNR, int8 vs float (dB):\n");
    for (const LayerSqnr& L : c.layers) std::printf("    %-28s %6.1f\n", L.tensor.c_str(), L.int_vs_float);
  }

  static void print_target(const VerifyReport& r, bool profile) {
    const QemuRunResult& t = r.target->run;
    std::printf("%s (%s, %s): %lld/%lld images bit-identical with the host\n", t.board.name.c_str(),
                t.board.machine.c_str(), t.board.cpu.c_str(), (long long)r.target->identical, (long long)r.run.count);
    std::printf("  firmware flash %llu B (+ model %llu B = %llu B), RAM %llu B (arena %llu, tables %llu, stack %llu, "
                "stack used %llu)\n",
                (unsigned long long)t.sizes.flash(), (unsigned long long)t.model_bytes,
                (unsigned long long)t.flash_bytes, (unsigned long long)t.ram_bytes, (unsigned long long)t.arena_size,
                (unsigned long long)t.table_bytes, (unsigned long long)t.sizes.stack, (unsigned long long)t.stack_used);
    if (t.instructions_measured())
      std::printf("  %.0f instructions per inference (qemu -icount, %g per SysTick tick)\n", t.mean_instructions(),
                  t.instructions_per_tick);
    else
      std::printf("  instructions per inference: not measured (SysTick calibration did not match the board)\n");
    if (!t.profile.empty())
      std::fputs(format_target_profile(t.profile).c_str(), stdout);
    else if (profile)
      std::printf("  per-op profile: not measured (SysTick calibration did not match the board)\n");
  }

  const VerifyCommandOptions& o_;
  size_t failures_ = 0;
};

nlohmann::json to_json(const VerifyCommandOptions& o, const VerifyReport& r) {
  nlohmann::json j;
  j["model"] = o.model;
  j["data"] = r.data;
  j["count"] = r.run.count;
  if (!r.classes.empty()) j["classes"] = r.classes;
  j["int8"] = {{"top1", r.int8.top1},
               {"top5", r.int8.top5},
               {"confusion", r.int8.confusion},
               {"seconds", r.run.seconds},
               {"images_per_s", r.images_per_second()}};
  if (r.float_model) {
    const VerifyFloat& f = *r.float_model;
    j["float"] = {{"top1", f.accuracy.top1}, {"top5", f.accuracy.top5}, {"confusion", f.accuracy.confusion}};
    j["agreement"]["int8_float"] = f.agreement;
    j["metrics"]["int8_vs_float"] = metrics_json(f.int8_vs_float);
    if (f.qdq)
      j["qdq"] = {{"images", f.qdq->images},
                  {"agreement_int8_qdq", f.qdq->agreement},
                  {"max_abs_diff", f.qdq->max_abs_diff},
                  {"max_output_steps", f.qdq->max_lsb_diff},
                  {"metrics_int8_vs_qdq", metrics_json(f.qdq->int8_vs_sim)}};
  }
  if (r.simulation) {
    const CompareReport& c = *r.simulation;
    nlohmann::json cj = {{"count", c.count}, {"top1_int8", c.top1_int}, {"top1_float", c.top1_float}};
    if (c.sim) {
      cj["top1_fake_quant"] = c.sim->top1;
      cj["agreement_int8_fake_quant"] = c.sim->agree_int;
      cj["agreement_fake_quant_float"] = c.sim->agree_float;
    }
    if (c.ideal) cj["top1_ideal_fake_quant"] = c.ideal->top1;
    nlohmann::json layers = nlohmann::json::array();
    for (const LayerSqnr& L : c.layers) {
      nlohmann::json lj = {{"tensor", L.tensor}, {"sqnr_int8_vs_float_db", L.int_vs_float}};
      if (L.sim) lj["sqnr_fake_quant_vs_float_db"] = L.sim->sqnr_db;
      layers.push_back(lj);
    }
    cj["layers"] = layers;
    j["simulation"] = cj;
  }
  if (r.golden) {
    const GoldenResult& gr = *r.golden;
    j["golden"] = {{"dir", o.golden}, {"images", gr.images}, {"match", gr.match}};
    if (!gr.match)
      j["golden"]["first_mismatch"] = {{"image", gr.image},       {"op", gr.layer.op},
                                       {"op_name", gr.layer.op_name}, {"tensor", gr.layer.tensor_name},
                                       {"index", gr.index},       {"position", gr.position},
                                       {"expected", gr.expected}, {"got", gr.got}};
  }
  if (r.target) {
    const QemuRunResult& t = r.target->run;
    nlohmann::json tj = {{"board", t.board.name},       {"machine", t.board.machine},   {"cpu", t.board.cpu},
                         {"images", r.run.count},       {"identical", r.target->identical},
                         {"flash_bytes", t.flash_bytes}, {"firmware_flash_bytes", t.sizes.flash()},
                         {"model_bytes", t.model_bytes}, {"ram_bytes", t.ram_bytes},   {"arena_bytes", t.arena_size},
                         {"stack_used", t.stack_used}};
    if (t.instructions_measured()) tj["instructions_per_inference"] = t.mean_instructions();
    if (!t.profile.empty()) {
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
    }
    j["target"] = tj;
  }
  j["gate"] = {{"passed", r.passed()},
               {"failures", int(r.failures.size())},
               {"first_failure", r.failures.empty() ? std::string() : r.failures.front()}};
  return j;
}

// The report page of this run: the verify JSON beside the info of the .fly file (memory, the
// model's ops) and of the float model when given (its layers).
void write_html(const VerifyCommandOptions& o, const nlohmann::json& report) {
  std::vector<ReportSource> sources = {{o.json.empty() ? "flynet verify" : o.json, report.dump(), true},
                                       {o.model, info_json(model_info(o.model)).dump(), true}};
  if (!o.float_model.empty()) sources.push_back({o.float_model, info_json(model_info(o.float_model)).dump(), true});
  write_bytes_atomically(o.html, render_report(sources, {"flynet verify " + o.model}));
}

void run_verify(const VerifyCommandOptions& o) {
  OutputSet outs;
  outs.input("MODEL", o.model);
  outs.input("--data", o.data);
  outs.input("--float", o.float_model);
  outs.input("--golden", o.golden);
  outs.input("--source", o.source);
  outs.output("--json", o.json);
  outs.output("--html", o.html);
  outs.output_dir("--dump", o.dump);
  outs.check();
  VerifyHooks hooks;
  hooks.progress = [](const std::string& stage) -> ProgressFn { return ProgressLine(stage); };
  hooks.part_done = TextReport(o);
  VerifyReport r;
  naming_file(o.model, [&] { r = verify_model(o, hooks); });
  const nlohmann::json j = to_json(o, r);
  if (!o.json.empty()) write_bytes_atomically(o.json, j.dump(2) + "\n");
  if (!o.html.empty()) write_html(o, j);
  // A failed gate is a result, not a failure to verify: the reports describe it.
  outs.commit();
  if (!r.passed()) throw Error(ErrorCode::check, r.failures.front());
  std::printf("verify passed\n");
}

}  // namespace

void setup_verify(CLI::App& app) {
  auto opt = std::make_shared<VerifyCommandOptions>();
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
  sub->add_option("--html", opt->html,
                  "also write the report as one HTML page with charts (as flynet report draws it), with the memory "
                  "and layers of MODEL.fly")
      ->option_text("FILE");
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
  sub->add_option("--source", opt->source,
                  "firmware sources for --target: a flynet source tree (default: the copy installed with flynet, "
                  "<bin>/../share/flynet/firmware)")
      ->option_text("DIR");
  sub->add_option("--threads", opt->threads, "threads for the integer reference")->option_text("N")->default_val(opt->threads);
  bound_options(*sub);
  sub->callback([opt]() { run_verify(*opt); });
}

}  // namespace flynet::cli
