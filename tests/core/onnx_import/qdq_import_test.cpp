// QDQ ONNX models (gen_qdq_models.py) imported: the weights are the file's int8 codes, the
// int32 biases its codes, flynet's QDQ simulation equals the generator's (PyTorch fake
// quantization, or its own walk of the QDQ graph), and the int8 graph lowered without any
// calibration follows that simulation within the documented tolerance.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "flynet/core/onnx_import.hpp"
#include "flynet/core/qdq.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flynet/quant/quantize.hpp"
#include "flynet_format.h"
#include "onnx_fixtures.hpp"

namespace flynet {
namespace {

const std::string kDir = FLYNET_ONNX_MODELS;

struct Imported {
  test::Fixture fx;
  Model m;
  QdqRecord q;
};

std::vector<Imported> imported() {
  std::vector<Imported> v;
  for (const test::Fixture& fx : test::read_manifest(kDir + "/qdq_manifest.txt")) {
    Model m = import_onnx(kDir + "/" + fx.name + ".onnx", {});
    std::optional<QdqRecord> q = read_qdq(m);
    if (!q) ADD_FAILURE() << fx.name << ": no QDQ record";
    v.push_back({fx, std::move(m), q.value_or(QdqRecord{})});
  }
  if (v.size() != 3u) ADD_FAILURE() << "no QDQ fixtures in " << kDir << " (gen_qdq_models.py)";
  return v;
}

bool has_weights(const Node& n) { return n.op == OpKind::conv2d || n.op == OpKind::linear; }

TEST(QdqImport, WeightsAreTheFilesInt8Codes) {
  for (Imported& x : imported()) {
    SCOPED_TRACE(x.fx.name);
    const std::vector<int8_t> want = test::read_values<int8_t>(kDir + "/" + x.fx.name + ".codes.bin");
    std::vector<int32_t> got;
    for (const Node& n : x.m.graph.nodes)
      if (has_weights(n)) {
        ASSERT_TRUE(x.q.weights.count(n.name)) << n.name;
        const std::vector<int32_t> c = qdq_weight_codes(x.m, n.name, x.q.weights.at(n.name));
        got.insert(got.end(), c.begin(), c.end());
      }
    ASSERT_EQ(got, std::vector<int32_t>(want.begin(), want.end()));
    // Lowered without a calibration: each weight tensor holds those codes (in the kernels' layout).
    const IntGraph g = lower_to_int8(x.m, Calibration{}, QuantizeOptions{});
    EXPECT_EQ(g.meta.at("quant.calibration"), "qdq");
    std::vector<int8_t> lowered;
    size_t layers = 0;
    for (const IntOp& op : g.ops)
      if (op.op == FLYNET_OP_CONV2D || op.op == FLYNET_OP_DEPTHWISE_CONV2D || op.op == FLYNET_OP_FULLY_CONNECTED) {
        const IntTensor& w = g.tensors[size_t(op.inputs.at(1))];
        lowered.insert(lowered.end(), w.data.begin(), w.data.end());
        ++layers;
      }
    EXPECT_EQ(layers, x.q.weights.size());
    std::vector<int8_t> a = lowered, b = want;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    EXPECT_EQ(a, b);
  }
}

// torch.ao's fbgemm QAT keeps uint8 codes 0..127 (reduce_range): a Clip between QuantizeLinear
// and DequantizeLinear, recorded as int8 codes -128..-1 and applied as the ops' clamps.
TEST(QdqImport, ReducedRangesAreRecordedAndClamped) {
  for (Imported& x : imported()) {
    if (x.fx.name != "qdq_qat") continue;
    ASSERT_EQ(x.q.code_ranges.size(), x.q.acts.size());  // every quantized tensor, the input included
    for (const auto& [node, r] : x.q.code_ranges) {
      EXPECT_EQ(r.lo, -128) << node;
      EXPECT_EQ(r.hi, -1) << node;
    }
    const IntGraph g = lower_to_int8(x.m, Calibration{}, QuantizeOptions{});
    ASSERT_EQ(g.ops.front().op, FLYNET_OP_REQUANTIZE);  // the input's clip
    const auto p = g.ops.front().get_params<flynet_requantize_params>();
    EXPECT_EQ(p.act_min, -128);
    EXPECT_EQ(p.act_max, -1);
  }
}

TEST(QdqImport, Int32BiasesAreKeptAsTheirCodes) {
  for (Imported& x : imported()) {
    if (x.fx.name != "qdq_ort") continue;
    const IntGraph g = lower_to_int8(x.m, Calibration{}, QuantizeOptions{});
    int checked = 0;
    for (const auto& [node, w] : x.q.weights) {
      ASSERT_FALSE(w.bias.empty()) << node;  // ORT's layout: every bias is int32
      for (const IntTensor& t : g.tensors)
        if (t.name == node + ".bias") {
          std::vector<int32_t> b(t.data.size() / 4);
          std::memcpy(b.data(), t.data.data(), t.data.size());
          EXPECT_EQ(b, w.bias) << node;
          ++checked;
        }
    }
    EXPECT_EQ(checked, 3);
  }
}

// The largest |a - b| over all values, in steps of `scale`.
double max_steps(const std::vector<float>& a, const std::vector<float>& b, double scale) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(double(a[i]) - double(b[i])));
  return d / scale;
}
int argmax(const float* v, int k) { return int(std::max_element(v, v + k) - v); }
int agreeing(const std::vector<float>& a, const std::vector<float>& b, int k) {
  int n = 0;
  for (size_t i = 0; i < a.size() / size_t(k); ++i) n += argmax(&a[i * size_t(k)], k) == argmax(&b[i * size_t(k)], k);
  return n;
}

// flynet's simulation is ONNX's QuantizeLinear (x / scale, half to even); PyTorch's fake
// quantization multiplies by 1 / scale, which can round a value on a tie the other way.
TEST(QdqImport, SimulationEqualsTheGenerators) {
  for (Imported& x : imported()) {
    SCOPED_TRACE(x.fx.name);
    const std::vector<float> in = test::read_values(kDir + "/" + x.fx.name + ".in.bin"),
                             want = test::read_values(kDir + "/" + x.fx.name + ".sim.bin");
    const Tensor y = qdq_simulate(x.m, x.q, test::nhwc_images(x.fx, in));
    ASSERT_EQ(y.numel(), int64_t(want.size()));
    const std::vector<float> got(y.data.begin(), y.data.end());
    const ActQuant& out = x.q.acts.at(x.m.graph.output().name);
    EXPECT_LE(max_steps(got, want, out.scale), 1.01);
    EXPECT_EQ(agreeing(got, want, x.fx.classes), 16);
  }
}

// The integer reference on the same inputs (quantized onto the input grid) against the
// generator's simulation: at most 2 output steps apart, top-1 agreement 15 of 16 or better.
TEST(QdqImport, Int8FollowsTheSimulation) {
  for (Imported& x : imported()) {
    SCOPED_TRACE(x.fx.name);
    const std::vector<float> in = test::read_values(kDir + "/" + x.fx.name + ".in.bin"),
                             want = test::read_values(kDir + "/" + x.fx.name + ".sim.bin");
    const IntGraph g = lower_to_int8(x.m, Calibration{}, QuantizeOptions{});
    IntRunner r(g);
    const IntTensor &ti = g.tensors[size_t(g.input)], &to = g.tensors[size_t(g.output)];
    const Tensor images = test::nhwc_images(x.fx, in);
    const int64_t px = images.numel() / images.shape[0];
    std::vector<float> got;
    std::vector<int8_t> qin(static_cast<size_t>(px)), qout(static_cast<size_t>(x.fx.classes));
    for (int64_t i = 0; i < images.shape[0]; ++i) {
      for (int64_t e = 0; e < px; ++e) {
        const double code = std::round(images.data[size_t(i * px + e)] / ti.scale) + ti.zero_point;
        qin[size_t(e)] = int8_t(std::clamp(code, -128.0, 127.0));
      }
      r.run(qin.data(), qout.data());
      for (int8_t c : qout) got.push_back(float((c - to.zero_point) * to.scale));
    }
    EXPECT_LE(max_steps(got, want, to.scale), 2.01);
    EXPECT_GE(agreeing(got, want, x.fx.classes), 15);
  }
}

TEST(QdqImport, RecordSurvivesSaveAndLoad) {
  for (Imported& x : imported()) {
    const std::string path = testing::TempDir() + "/qdq_" + x.fx.name + ".h5";
    save_model(x.m, path);
    const std::optional<QdqRecord> back = read_qdq(load_model(path), path);
    std::remove(path.c_str());
    ASSERT_TRUE(back);
    ASSERT_EQ(back->acts.size(), x.q.acts.size());
    for (const auto& [k, a] : x.q.acts) {
      EXPECT_EQ(back->acts.at(k).scale, a.scale) << k;
      EXPECT_EQ(back->acts.at(k).zero_point, a.zero_point) << k;
    }
    for (const auto& [k, w] : x.q.weights) {
      EXPECT_EQ(back->weights.at(k).scales, w.scales) << k;
      EXPECT_EQ(back->weights.at(k).bias, w.bias) << k;
      EXPECT_EQ(back->weights.at(k).bias_scale, w.bias_scale) << k;
    }
  }
}

// A tensor the QDQ model leaves in float needs a calibrated range; with one, the rest keeps the
// file's grids.
TEST(QdqImport, FloatTensorsTakeTheCalibration) {
  Imported x = std::move(imported().front());
  const std::string add = "Add";
  ASSERT_TRUE(x.q.acts.count(add)) << "qdq_torch's residual add";
  const ActQuant kept = x.q.acts.at(add);
  x.q.acts.erase(add);
  write_qdq(x.m, x.q);
  try {
    lower_to_int8(x.m, Calibration{}, QuantizeOptions{});
    ADD_FAILURE() << "a tensor without grid or range was lowered";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::format);
    EXPECT_STREQ(e.what(), "no range for 'Add': the QDQ model does not quantize it; run flynet calibrate");
  }
  Calibration cal;
  cal.ranges[add] = TensorRange{float(-128 - kept.zero_point) * kept.scale, float(127 - kept.zero_point) * kept.scale};
  const IntGraph g = lower_to_int8(x.m, cal, QuantizeOptions{});
  EXPECT_EQ(g.meta.at("quant.calibration"), "minmax+qdq");
  const auto relu = std::find_if(g.tensors.begin(), g.tensors.end(), [](const IntTensor& t) { return t.name == "Relu"; });
  ASSERT_NE(relu, g.tensors.end());
  EXPECT_EQ(float(relu->scale), x.q.acts.at("Relu").scale);  // still the file's grid
}

// Fine-tuned weights are no longer the file's codes: quantize says so instead of re-rounding.
TEST(QdqImport, ChangedWeightsAreRefused) {
  Imported x = std::move(imported().front());
  const Node* conv = nullptr;
  for (const Node& n : x.m.graph.nodes)
    if (has_weights(n)) conv = conv ? conv : &n;
  ASSERT_TRUE(conv);
  x.m.param(conv->name + ".weight").data[0] += 1e-3f;
  try {
    lower_to_int8(x.m, Calibration{}, QuantizeOptions{});
    ADD_FAILURE() << "changed weights were lowered";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::format);
    EXPECT_NE(std::string(e.what()).find("changed since import"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace flynet
