// flynet report: one self-contained HTML page (charts and tables) from the JSON the other
// commands write. Thin: options -> collect_report_sources() -> render_report() -> the file,
// written atomically.
#include <cstdio>

#include "commands.hpp"
#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/output_set.hpp"
#include "flynet/formats/report_page.hpp"

namespace flynet::cli {

namespace {

struct ReportCommandOptions {
  std::vector<std::string> inputs;
  std::string out = "report.html";
  std::string title = "flynet report";
};

void run_report(const ReportCommandOptions& o) {
  OutputSet outs;
  for (const std::string& in : o.inputs) outs.input("an input", in);
  outs.output("--out", o.out);
  outs.check();
  const std::vector<ReportSource> sources = collect_report_sources(o.inputs);
  write_bytes_atomically(o.out, render_report(sources, {o.title}));
  outs.commit();
  std::printf("wrote %s from %zu files\n", o.out.c_str(), sources.size());
}

}  // namespace

void setup_report(CLI::App& app) {
  auto opt = std::make_shared<ReportCommandOptions>();
  CLI::App* sub = app.add_subcommand(
      "report", "one HTML page with charts of training, calibration, quantization, memory, target and the model");
  sub->add_option("inputs", opt->inputs,
                  "a run directory (its *.json and *.jsonl files) or the JSON files of train --metrics, calibrate, "
                  "quantize, info and verify")
      ->required()
      ->option_text("RUN_DIR|FILE...");
  sub->add_option("--out", opt->out, "the HTML file to write")->option_text("FILE")->default_val(opt->out);
  sub->add_option("--title", opt->title, "the page's title")->option_text("TEXT")->default_val(opt->title);
  sub->callback([opt]() { run_report(*opt); });
}

}  // namespace flynet::cli
