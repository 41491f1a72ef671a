// flynet import: an ONNX model as a flynet model (.h5) for the other commands. Thin: options ->
// import_onnx() -> save -> a summary line per node count and the model's input.
#include <cstdio>

#include "commands.hpp"
#include "flynet/core/count.hpp"
#include "flynet/core/onnx_import.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/output_set.hpp"

namespace flynet::cli {

namespace {

struct ImportOptionsCli {
  std::string onnx, out;
  std::vector<float> mean, std;
  InputLayout layout = InputLayout::nchw;
};

void run_import(const ImportOptionsCli& o) {
  OutputSet outs;
  outs.input("MODEL.onnx", o.onnx);
  outs.output("--out", o.out);
  outs.check();
  ImportOptions opt;
  opt.mean = o.mean;
  opt.std = o.std;
  opt.layout = o.layout;
  const Model m = import_onnx(o.onnx, opt);
  save_model(m, o.out);
  outs.commit();
  const ArchSpec& s = m.spec();
  const InputNormalisation norm = read_input_normalisation(m);
  std::printf("imported %s: %zu nodes, %lld parameters, input %dx%dx%d, %d classes, opset %s\n", o.onnx.c_str(),
              m.graph.nodes.size(), (long long)count_graph(m.graph).total.params, s.in_h, s.in_w, s.in_c, s.classes,
              m.meta.at("import.opset").c_str());
  std::printf("input normalisation: %s\nwrote %s\n",
              norm.recorded() ? "recorded (data.mean, data.std)" : "not recorded (pass --mean and --std)", o.out.c_str());
}

}  // namespace

void setup_import(CLI::App& app) {
  auto opt = std::make_shared<ImportOptionsCli>();
  CLI::App* sub = app.add_subcommand("import", "read an ONNX model (PyTorch, ...) into a flynet model");
  sub->add_option("onnx", opt->onnx, "the ONNX file (opsets 11..17)")->required()->option_text("MODEL.onnx");
  sub->add_option("--out", opt->out, "the flynet model to write (.h5)")->required()->option_text("FILE");
  sub->add_option("--mean", opt->mean, "input normalisation mean, one value or one per channel, of pixels in [0, 1]")
      ->delimiter(',')
      ->option_text("M[,M...]");
  sub->add_option("--std", opt->std, "input normalisation standard deviation, as --mean")
      ->delimiter(',')
      ->option_text("S[,S...]");
  sub->add_option("--layout", opt->layout, "layout of the ONNX input: nchw (PyTorch) or nhwc")
      ->transform(CLI::CheckedTransformer(std::map<std::string, InputLayout>{{"nchw", InputLayout::nchw},
                                                                            {"nhwc", InputLayout::nhwc}}))
      ->option_text("nchw|nhwc")
      ->default_str("nchw");
  sub->callback([opt]() { run_import(*opt); });
}

}  // namespace flynet::cli
