// flynet export: an int8 model (.q.h5 from quantize) -> the .fly file the microcontroller reads,
// and on request the same bytes as C source. Thin: options -> export_model() (which writes the
// files) -> the report as text.
#include <cstdio>

#include "commands.hpp"
#include "flynet/formats/output_set.hpp"
#include "flynet/quant/export.hpp"

namespace flynet::cli {

namespace {

std::string thousands(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

void run_export(const ExportOptions& o) {
  OutputSet outs;
  outs.input("MODEL", o.model);
  outs.output("--out", o.out);
  outs.output("--c-array", o.c_array);
  if (!o.c_array.empty()) outs.output("the .c of --c-array", c_source_path(o.c_array));
  outs.check();
  ExportReport r;
  naming_file(o.model, [&] { r = export_model(o); });
  outs.commit();
  const FlyExport& e = r.fly;
  const FlySizes& s = e.sizes;
  std::printf("wrote %s: %s bytes, %zu ops, %zu tensors%s\n", o.out.c_str(), thousands(s.file).c_str(), r.ops,
              r.tensors, o.host_info ? " (with host info)" : "");
  std::printf("  weights %s B, per-channel parameters %s B, other constants %s B, graph %s B, plan %s B, "
              "header %s B, padding %s B%s\n",
              thousands(s.weights).c_str(), thousands(s.channel_params).c_str(), thousands(s.other_constants).c_str(),
              thousands(s.graph).c_str(), thousands(s.plan).c_str(), thousands(s.header).c_str(),
              thousands(s.padding).c_str(),
              s.host_info ? (", host info " + thousands(s.host_info) + " B").c_str() : "");
  // FlySizes judges the budget without the host info, which the device never reads.
  std::printf("  flash lower bound %s B (weights %s + per-channel %s): file/bound %.3f, budget 1.05 x bound + 4 KB "
              "= %s B %s\n",
              thousands(s.lower_bound).c_str(), thousands(s.lower_bound_weights).c_str(),
              thousands(s.lower_bound_channel_params).c_str(), s.ratio(), thousands(s.budget()).c_str(),
              s.within_budget() ? (s.host_info ? "(within, without host info)" : "(within)") : "(EXCEEDED)");
  std::printf("arena %s B (lower bound %s B%s), loader tables %s B\n", thousands(e.plan.arena_size).c_str(),
              thousands(e.arena.lower_bound).c_str(),
              e.arena_miss() == 0 ? ": optimal" : (", misses by " + thousands(e.arena_miss()) + " B").c_str(),
              thousands(e.table_bytes).c_str());
  if (!r.c_header.empty())
    std::printf("wrote %s and %s: const uint8_t %s[%s]\n", r.c_header.c_str(), r.c_source.c_str(), o.name.c_str(),
                thousands(s.file).c_str());
}

}  // namespace

void setup_export(CLI::App& app) {
  auto opt = std::make_shared<ExportOptions>();
  CLI::App* sub = app.add_subcommand("export", "write an int8 model as the compact .fly file (and C source for firmware)");
  sub->add_option("model", opt->model, "the int8 model from flynet quantize (.q.h5)")->required()->option_text("MODEL");
  sub->add_option("--out", opt->out, "the .fly file")->required()->option_text("FILE");
  sub->add_option("--c-array", opt->c_array,
                  "also write the model as C: this header (shapes, quantization, arena size) and a .c beside it")
      ->option_text("FILE.h");
  sub->add_option("--name", opt->name, "C identifier of the array (macros are its upper case)")
      ->option_text("NAME")
      ->default_val(opt->name);
  sub->add_flag("--host-info", opt->host_info,
                "keep names, real scales, weight levels and metadata in the file (for host tools; "
                "costs flash, not read by the device)");
  sub->add_option("--arena-align", opt->arena_align, "alignment of every arena buffer (power of two, >= 4)")
      ->option_text("N")
      ->default_val(opt->arena_align);
  bound_options(*sub);
  sub->callback([opt]() { run_export(*opt); });
}

}  // namespace flynet::cli
