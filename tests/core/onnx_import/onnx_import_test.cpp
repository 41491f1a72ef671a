// flynet import against PyTorch: every generated model's float outputs equal PyTorch's on random
// inputs (max |flynet - torch| / max |torch| <= 1e-4 per image), the imported graph survives
// save/load unchanged, and bad files are refused with Error codes naming the file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "flynet/core/graph_text.hpp"
#include "flynet/core/model_state.hpp"
#include "flynet/core/net.hpp"
#include "flynet/core/onnx_import.hpp"
#include "flynet/formats/error.hpp"
#include "onnx_fixtures.hpp"

namespace flynet {
namespace {

namespace fs = std::filesystem;
const std::string kDir = FLYNET_ONNX_MODELS;

using test::Fixture;
using test::nhwc_images;

std::vector<Fixture> manifest() { return test::read_manifest(kDir + "/manifest.txt"); }
std::vector<float> floats(const std::string& path) { return test::read_values<float>(path); }

double max_rel_err(const Tensor& got, const std::vector<float>& want, int classes) {
  double worst = 0;
  for (size_t i = 0; i < want.size() / size_t(classes); ++i) {
    double d = 0, m = 0;
    for (int k = 0; k < classes; ++k) {
      const size_t j = i * size_t(classes) + size_t(k);
      d = std::max(d, std::fabs(double(got.data[j]) - double(want[j])));
      m = std::max(m, std::fabs(double(want[j])));
    }
    worst = std::max(worst, d / m);
  }
  return worst;
}

TEST(OnnxImport, FloatOutputsEqualPyTorchs) {
  const auto models = manifest();
  ASSERT_GE(models.size(), 10u) << "no fixtures in " << kDir << " (gen_onnx_models.py)";
  for (const Fixture& fx : models) {
    SCOPED_TRACE(fx.name);
    Model m = import_onnx(kDir + "/" + fx.name + ".onnx", {});
    EXPECT_EQ(m.spec().arch, ArchKind::imported);
    EXPECT_EQ(m.spec().in_h, fx.h);
    EXPECT_EQ(m.spec().in_w, fx.w);
    EXPECT_EQ(m.spec().in_c, fx.c);
    EXPECT_EQ(m.spec().classes, fx.classes);
    const std::vector<float> want = floats(kDir + "/" + fx.name + ".out.bin");
    Net net(m);
    const Tensor& y = net.forward(nhwc_images(fx, floats(kDir + "/" + fx.name + ".in.bin")), RunCtx{});
    ASSERT_EQ(y.numel(), int64_t(want.size()));
    EXPECT_LE(max_rel_err(y, want, fx.classes), 1e-4);
  }
}

TEST(OnnxImport, NhwcInputAndLayoutTransposesAreRemoved) {
  ImportOptions o;
  o.layout = InputLayout::nhwc;
  Model m = import_onnx(kDir + "/layout_nhwc.onnx", o);
  EXPECT_EQ(m.spec().in_h, 10);
  EXPECT_EQ(m.spec().in_w, 9);
  EXPECT_EQ(m.spec().in_c, 3);
  // input, conv, relu, pool, linear: no node for the input's Transpose to NCHW
  EXPECT_EQ(m.graph.nodes.size(), 5u);
  const std::vector<float> in = floats(kDir + "/layout_nhwc.in.bin"), want = floats(kDir + "/layout_nhwc.out.bin");
  Tensor x({4, 10, 9, 3});  // already NHWC
  x.data.assign(in.begin(), in.end());
  Net net(m);
  EXPECT_LE(max_rel_err(net.forward(x, RunCtx{}), want, 4), 1e-4);
  // Read as NCHW, the same file's first Transpose is not a layout change: refused.
  try {
    import_onnx(kDir + "/layout_nhwc.onnx", {});
    ADD_FAILURE() << "an NCHW reading was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported) << e.what();
  }
}

TEST(OnnxImport, ModelsKeepTheirOps) {
  auto count = [](const Model& m, OpKind op) {
    int k = 0;
    for (const Node& n : m.graph.nodes) k += n.op == op;
    return k;
  };
  const Model v3 = import_onnx(kDir + "/mobilenetv3_small.onnx", {});
  EXPECT_EQ(count(v3, OpKind::batchnorm), 34);     // exported with its BN nodes
  EXPECT_EQ(count(v3, OpKind::scale_channels), 9); // the SE gates
  int hswish = 0;
  for (const Node& n : v3.graph.nodes) hswish += n.op == OpKind::activation && n.act == Act::hswish;
  EXPECT_EQ(hswish, 19);  // x * HardSigmoid(x) of opset 13 became h-swish
  const Model ds = import_onnx(kDir + "/dscnn.onnx", {});
  const Node& first = ds.graph.nodes[1];
  EXPECT_EQ(first.op, OpKind::conv2d);
  EXPECT_EQ(conv_geom(first).kh, 10);
  EXPECT_EQ(conv_geom(first).kw, 4);
  const Model v2 = import_onnx(kDir + "/mobilenetv2_035.onnx", {});
  int relu6 = 0;
  for (const Node& n : v2.graph.nodes) relu6 += n.op == OpKind::activation && n.act == Act::relu6;
  EXPECT_EQ(relu6, 35);
}

// What the per-op fixtures become (their outputs are checked against PyTorch above).
TEST(OnnxImport, ConcatAndFlattenModelsMapOntoTheirOps) {
  auto find = [](const Model& m, OpKind op) -> const Node* {
    for (const Node& n : m.graph.nodes)
      if (n.op == op) return &n;
    return nullptr;
  };
  const Model c = import_onnx(kDir + "/ops_concat.onnx", {});
  const Node* cat = find(c, OpKind::concat);
  ASSERT_NE(cat, nullptr);
  EXPECT_EQ(cat->inputs.size(), 2u);
  EXPECT_EQ(cat->out.c, 14);
  const Node* pool = find(c, OpKind::avg_pool);
  ASSERT_NE(pool, nullptr);
  EXPECT_TRUE(pool->count_pad);  // the Pad's zeros, folded into the pool's pads
  EXPECT_EQ(conv_geom(*pool).pt, 1);
  EXPECT_EQ(conv_geom(*pool).pr, 1);
  int asymmetric = 0, leaky = 0;
  for (const Node& n : c.graph.nodes) {
    const ConvGeom g = conv_geom(n);
    asymmetric += n.op == OpKind::conv2d && g.pt == 0 && g.pl == 0 && g.pb == 1 && g.pr == 1;
    if (n.op == OpKind::activation && n.act == Act::leaky_relu) {
      ++leaky;
      EXPECT_FLOAT_EQ(n.alpha, 0.1f);
    }
  }
  EXPECT_EQ(asymmetric, 1);
  EXPECT_EQ(leaky, 1);
  ASSERT_NE(find(c, OpKind::mul), nullptr);
  EXPECT_EQ(c.graph.nodes[size_t(find(c, OpKind::mul)->inputs[1])].out.c, 1);  // the broadcast gate
  EXPECT_EQ(c.graph.output().op, OpKind::softmax);

  const Model f = import_onnx(kDir + "/ops_flatten.onnx", {});
  // input, conv (BN folded by the exporter), relu, avg pool, conv, sigmoid, max pool, mul, fc1,
  // leaky relu, fc2: nothing for the Transpose pair after the relu.
  EXPECT_EQ(f.graph.nodes.size(), 11u) << graph_to_text(f.graph);
  const Node* fc1 = find(f, OpKind::linear);
  ASSERT_NE(fc1, nullptr);
  EXPECT_EQ(fc1->cin, 54);  // the 3x3x6 map
  ASSERT_NE(find(f, OpKind::avg_pool), nullptr);
  EXPECT_FALSE(find(f, OpKind::avg_pool)->count_pad);
  EXPECT_NE(find(f, OpKind::mul), nullptr);
}

TEST(OnnxImport, SavedModelLoadsToTheSameGraphAndParameters) {
  ImportOptions o;
  o.mean = {0.25f, 0.5f, 0.75f};
  o.std = {0.5f};
  const Model m = import_onnx(kDir + "/resnet8.onnx", o);
  const std::string path = (fs::temp_directory_path() / "onnx_import_roundtrip.h5").string();
  save_model(m, path);
  const Model back = load_model(path);
  fs::remove(path);
  EXPECT_EQ(graph_to_text(back.graph), graph_to_text(m.graph));
  EXPECT_EQ(back.params.size(), m.params.size());
  for (const auto& [name, t] : m.params) EXPECT_EQ(back.param(name).data, t.data) << name;
  const InputNormalisation n = read_input_normalisation(back);
  EXPECT_EQ(n.mean, o.mean);
  EXPECT_EQ(n.std, o.std);
  EXPECT_EQ(back.meta.at("import.opset"), "13");
}

Error import_error(const std::string& file) {
  try {
    import_onnx(file, {});
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << file << " was imported";
  return Error(ErrorCode::internal, "");
}

TEST(OnnxImport, BadFilesAreRefusedWithTheirReason) {
  Error e = import_error(kDir + "/garbage.onnx");
  EXPECT_EQ(e.code(), ErrorCode::format);
  EXPECT_STREQ(e.what(), "not an ONNX model (the protobuf does not parse)");
  e = import_error(kDir + "/truncated.onnx");
  EXPECT_EQ(e.code(), ErrorCode::format);
  e = import_error(kDir + "/unsupported.onnx");
  EXPECT_EQ(e.code(), ErrorCode::unsupported);
  EXPECT_NE(std::string(e.what()).find("unsupported ONNX op Resize (node '/1/Resize', opset 13)"), std::string::npos)
      << e.what();
  e = import_error(kDir + "/concat_rows.onnx");
  EXPECT_EQ(e.code(), ErrorCode::unsupported);
  EXPECT_NE(std::string(e.what()).find("Concat along an axis other than the channels (node '/Concat', opset 13)"),
            std::string::npos)
      << e.what();
  e = import_error(kDir + "/absent.onnx");
  EXPECT_EQ(e.code(), ErrorCode::io);
}

TEST(OnnxImport, TamperedGraphTextIsRefusedWhenLoaded) {
  const Model m = import_onnx(kDir + "/ops_conv.onnx", {});
  ArchSpec s = m.spec();
  const size_t at = s.graph.find("k=3x5");
  ASSERT_NE(at, std::string::npos) << s.graph;
  s.graph.replace(at, 5, "k=3x4");
  try {
    build_graph(s);
    ADD_FAILURE() << "a conv whose output no longer fits was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::format);
    EXPECT_NE(std::string(e.what()).find("output"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace flynet
