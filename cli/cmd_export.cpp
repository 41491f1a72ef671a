// flynet export: an int8 model (.q.h5 from quantize) -> the .fly file the microcontroller reads,
// and on request the same bytes as C source. Thin: options -> export_fly() -> report -> write.
#include <cstdio>
#include <filesystem>
#include <map>

#include "commands.hpp"
#include "flynet/core/model_state.hpp"
#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/c_array.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/h5_store.hpp"
#include "flynet/formats/int_graph.hpp"
#include "flynet/quant/export.hpp"

namespace flynet::cli {

namespace {

struct ExportOptions {
  std::string model, out, c_array, name = "flynet_model";
  bool host_info = false;
  uint64_t arena_align = 4;
};

std::string thousands(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

void run_export(const ExportOptions& o) {
  const ModelRecord rec = load_model_h5(o.model);
  if (!is_int_graph(rec))
    throw Error(ErrorCode::format, "not an int8 model: run flynet quantize first", o.model);
  const IntGraph g = int_graph_from_record(rec, o.model);
  if (!o.c_array.empty() && !is_c_identifier(o.name))
    throw Error(ErrorCode::usage, "--name '" + o.name + "' is not a C identifier");
  FlyExportOptions eo;
  eo.host_info = o.host_info;
  eo.arena_alignment = o.arena_align;
  const FlyExport e = export_fly(g, eo);

  // Everything is computed before anything is written, and each file is written atomically.
  CArraySource c;
  std::string c_source_path;
  if (!o.c_array.empty()) {
    CArrayModel cm;
    cm.name = o.name;
    cm.bytes.assign(e.bytes.begin(), e.bytes.end());
    const IntTensor& in = g.tensors.at(size_t(g.input));
    const IntTensor& out = g.tensors.at(size_t(g.output));
    cm.input_dims = in.dims;
    cm.input_scale = in.scale;
    cm.input_zero_point = in.zero_point;
    cm.output_dims = out.dims;
    cm.output_scale = out.scale;
    cm.output_zero_point = out.zero_point;
    cm.arena_bytes = e.plan.arena_size;
    cm.table_bytes = e.table_bytes;
    const InputNormalisation n = read_input_normalisation(g.meta, int(in.dims[3]), o.model);
    cm.input_mean = n.mean;
    cm.input_std = n.std;
    cm.comment = "from " + std::filesystem::path(o.model).filename().string();
    const std::filesystem::path h(o.c_array);
    c_source_path = (h.parent_path() / (h.stem().string() + ".c")).string();
    if (c_source_path == o.c_array)
      throw Error(ErrorCode::usage, "--c-array names the header (.h); the source goes beside it as .c", o.c_array);
    c = emit_c_array(cm, h.filename().string());
  }
  write_bytes_atomically(o.out, e.bytes);
  if (!o.c_array.empty()) {
    write_bytes_atomically(o.c_array, c.header);
    write_bytes_atomically(c_source_path, c.source);
  }

  const FlySizes& s = e.sizes;
  std::printf("wrote %s: %s bytes, %zu ops, %zu tensors%s\n", o.out.c_str(), thousands(s.file).c_str(), g.ops.size(),
              g.tensors.size(), o.host_info ? " (with host info)" : "");
  std::printf("  weights %s B, per-channel parameters %s B, other constants %s B, graph %s B, plan %s B, "
              "header %s B, padding %s B%s\n",
              thousands(s.weights).c_str(), thousands(s.channel_params).c_str(), thousands(s.other_constants).c_str(),
              thousands(s.graph).c_str(), thousands(s.plan).c_str(), thousands(s.header).c_str(),
              thousands(s.padding).c_str(),
              s.host_info ? (", host info " + thousands(s.host_info) + " B").c_str() : "");
  std::printf("  flash lower bound %s B (weights %s + per-channel %s): file/bound %.3f, budget 1.05 x bound + 4 KB "
              "= %s B %s\n",
              thousands(s.lower_bound).c_str(), thousands(s.lower_bound_weights).c_str(),
              thousands(s.lower_bound_channel_params).c_str(), double(s.file - s.host_info) / double(s.lower_bound),
              thousands(uint64_t(1.05 * double(s.lower_bound)) + 4096).c_str(),
              // Host info is for host tools; the budget is what the device keeps in flash.
              double(s.file - s.host_info) <= 1.05 * double(s.lower_bound) + 4096.0
                  ? (s.host_info ? "(within, without host info)" : "(within)")
                  : "(EXCEEDED)");
  std::printf("arena %s B (lower bound %s B%s), loader tables %s B\n", thousands(e.plan.arena_size).c_str(),
              thousands(e.arena.lower_bound).c_str(),
              e.arena_miss() == 0 ? ": optimal" : (", misses by " + thousands(e.arena_miss()) + " B").c_str(),
              thousands(e.table_bytes).c_str());
  if (!o.c_array.empty())
    std::printf("wrote %s and %s: const uint8_t %s[%s]\n", o.c_array.c_str(), c_source_path.c_str(), o.name.c_str(),
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
  sub->callback([opt]() { run_export(*opt); });
}

}  // namespace flynet::cli
