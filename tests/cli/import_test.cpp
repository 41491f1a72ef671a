// flynet import as a user runs it, on the PyTorch-written fixtures (tests/core/onnx_import/
// gen_onnx_models.py): each proof model goes import -> calibrate -> quantize -> export -> verify
// on the host and on qemu-m4 (bit-identical), and bad files get one line, their exit code and
// no output file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <tuple>

#include "flynet/core/data.hpp"
#include "run_flynet.hpp"

namespace {

namespace fs = std::filesystem;

using flynet::test::Result;
using flynet::test::slurp;

const std::string kModels = FLYNET_ONNX_MODELS;

class Import : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("flynet_import_test_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static Result run(const std::string& args) { return flynet::test::run_flynet(args); }
  static std::string p(const std::string& name) { return (dir_ / name).string(); }

  // Random images of the model's input size and random labels: calibration and verify need
  // only images; agreement is not the point of these models (random weights).
  static std::string data(int h, int w, int c, int classes) {
    const std::string path = p("data" + std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(c) + ".h5");
    if (fs::exists(path)) return path;
    auto make = [&](int n, uint32_t seed) {
      flynet::DatasetArrays a;
      a.h = h;
      a.w = w;
      a.c = c;
      std::mt19937 rng(seed);
      std::uniform_int_distribution<int> px(0, 255), label(0, classes - 1);
      for (int64_t i = 0; i < int64_t(n) * h * w * c; ++i) a.images.push_back(uint8_t(px(rng)));
      for (int i = 0; i < n; ++i) a.labels.push_back(label(rng));
      return a;
    };
    flynet::write_h5_dataset(path, make(32, 1), make(8, 2));
    return path;
  }
  static bool have_qemu() {
    return std::system("command -v arm-none-eabi-gcc > /dev/null && command -v qemu-system-arm > /dev/null") == 0;
  }

  // import -> calibrate -> quantize -> export -> verify on the host and qemu-m4.
  // QAT fine-tune of an imported model (8 weight levels, int8 activations, BN folded after one
  // epoch), then calibrated and quantized on its own grid: int8 must follow the fake-quant
  // network, and the result exports.
  static void fine_tune_with_qat(const std::string& name, const std::string& stem, int h, int w, int c, int classes) {
    const std::string d = data(h, w, c, classes);
    Result r = run("import " + kModels + "/" + name + ".onnx --out " + p(stem + ".h5"));
    ASSERT_EQ(r.code, 0) << r.err;
    r = run("train --data " + d + " --init " + p(stem + ".h5") + " --epochs 2 --lr 0.01 --warmup 0 --batch 8 --threads 1 "
            "--weight-levels 8 --act-bits 8 --fold-bn-after 1 --out " + p(stem + ".qat.h5") +
            " --quiet --checkpoint none --metrics none");
    ASSERT_EQ(r.code, 0) << r.err;
    r = run("calibrate " + p(stem + ".qat.h5") + " --data " + d + " --samples 32 --out " + p(stem + ".qat.cal.h5"));
    ASSERT_EQ(r.code, 0) << r.err;
    r = run("quantize " + p(stem + ".qat.cal.h5") + " --out " + p(stem + ".qat.q.h5") + " --data " + d +
            " --samples 0 --json " + p(stem + ".qat.json"));
    ASSERT_EQ(r.code, 0) << r.err;
    const auto q = nlohmann::json::parse(slurp(p(stem + ".qat.json")));
    EXPECT_GE(q["agreement"]["int8_float"].get<double>(), 0.75) << q.dump();
    r = run("export " + p(stem + ".qat.q.h5") + " --out " + p(stem + ".qat.fly"));
    ASSERT_EQ(r.code, 0) << r.err;
  }

  static void deploy(const std::string& name, int h, int w, int c, int classes, const std::string& norm) {
    const std::string d = data(h, w, c, classes);
    Result r = run("import " + kModels + "/" + name + ".onnx --out " + p(name + ".h5") + norm);
    ASSERT_EQ(r.code, 0) << r.err;
    r = run("calibrate " + p(name + ".h5") + " --data " + d + " --samples 32 --out " + p(name + ".cal.h5"));
    ASSERT_EQ(r.code, 0) << r.err;
    r = run("quantize " + p(name + ".cal.h5") + " --out " + p(name + ".q.h5"));
    ASSERT_EQ(r.code, 0) << r.err;
    r = run("export " + p(name + ".q.h5") + " --out " + p(name + ".fly"));
    ASSERT_EQ(r.code, 0) << r.err;
    r = run("verify " + p(name + ".fly") + " --data " + d + " --float " + p(name + ".h5") + " --samples 8");
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    if (!have_qemu()) GTEST_SKIP() << "arm-none-eabi-gcc or qemu-system-arm missing";
    r = run("verify " + p(name + ".fly") + " --data " + d + " --float " + p(name + ".h5") +
            " --samples 2 --sim-samples 0 --target qemu-m4 --json " + p(name + ".json"));
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    const auto j = nlohmann::json::parse(slurp(p(name + ".json")));
    EXPECT_EQ(j["target"]["identical"], 2) << r.out;
  }

  static fs::path dir_;
};
fs::path Import::dir_;

TEST_F(Import, ResNet8DeploysBitIdenticalOnQemu) { deploy("resnet8", 32, 32, 3, 10, " --mean 0.5 --std 0.25"); }
TEST_F(Import, DsCnnDeploysBitIdenticalOnQemu) { deploy("dscnn", 49, 10, 1, 12, ""); }
TEST_F(Import, MobileNetV2DeploysBitIdenticalOnQemu) { deploy("mobilenetv2_035", 32, 32, 3, 10, " --mean 0.5 --std 0.25"); }
TEST_F(Import, MobileNetV3SmallDeploysBitIdenticalOnQemu) {
  deploy("mobilenetv3_small", 32, 32, 3, 10, " --mean 0.5 --std 0.25");
}
// The per-op models: dilation, rectangular kernels, unequal strides, grouped and multiplier-2
// depthwise convs, sigmoid, ReLU6, h-swish; MatMul + Add after a ReduceMean.
TEST_F(Import, ConvGeometryModelDeploysBitIdenticalOnQemu) { deploy("ops_conv", 12, 10, 3, 5, ""); }
TEST_F(Import, MatMulModelDeploysBitIdenticalOnQemu) { deploy("ops_matmul", 9, 9, 2, 4, ""); }
TEST_F(Import, MaxPoolModelDeploysBitIdenticalOnQemu) { deploy("ops_pool", 15, 13, 3, 6, ""); }
// Concat of branches on different grids (requantized), LeakyRelu (its own kernel), an
// AveragePool counting a Pad's zeros, a Conv with asymmetric pads, Mul broadcasting a
// 1-channel gate, Softmax; and a 3x3 map flattened into a Gemm, an AveragePool not counting its
// pads, Mul of two maps, a Transpose pair that undoes itself.
TEST_F(Import, ConcatModelDeploysBitIdenticalOnQemu) { deploy("ops_concat", 12, 10, 3, 7, ""); }
TEST_F(Import, FlattenModelDeploysBitIdenticalOnQemu) { deploy("ops_flatten", 12, 12, 2, 5, ""); }

// An imported network trains in flynet: fine-tuning with 8 weight levels, int8 activations and
// BN folded (QAT), then quantized on its own grid; int8 follows the fake-quant network.
TEST_F(Import, ImportedModelTrainsWithQuantizationAwareness) { fine_tune_with_qat("dscnn", "ds", 49, 10, 1, 12); }

// QDQ models (gen_qdq_models.py): quantize needs no calibration, verify compares the int8 file
// with the QDQ model's own simulation, and the host and qemu-m4 agree bit for bit. Tolerance
// (README, man flynet-verify): the integer kernels round each layer's requantization once
// where the simulation rounds in float, so logits may differ by a few output steps; measured
// on these fixtures, at most 2 steps and top-1 agreement >= 15/16.
TEST_F(Import, QdqModelsQuantizeWithoutCalibrationAndFollowTheirSimulation) {
  for (const auto& [name, h, w, c, k] : {std::tuple{"qdq_torch", 16, 16, 3, 10}, std::tuple{"qdq_qat", 12, 12, 3, 6},
                                       std::tuple{"qdq_ort", 10, 10, 2, 4}}) {
    SCOPED_TRACE(name);
    const std::string d = data(h, w, c, k), m = p(std::string(name) + ".h5"), q = p(std::string(name) + ".q.h5"),
                      fly = p(std::string(name) + ".fly"), json = p(std::string(name) + ".json");
    Result r = run("import " + kModels + "/" + name + ".onnx --out " + m + " --mean 0.5 --std 0.25");
    ASSERT_EQ(r.code, 0) << r.err;
    r = run("quantize " + m + " --out " + q);
    ASSERT_EQ(r.code, 0) << r.err;
    r = run("export " + q + " --out " + fly);
    ASSERT_EQ(r.code, 0) << r.err;
    r = run("verify " + fly + " --data " + d + " --float " + m + " --json " + json);
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    const auto j = nlohmann::json::parse(slurp(json));
    EXPECT_EQ(j["qdq"]["images"], 8);
    EXPECT_GE(j["qdq"]["agreement_int8_qdq"].get<double>(), 7.0 / 8) << j["qdq"].dump();
    EXPECT_LE(j["qdq"]["max_output_steps"].get<double>(), 2.01) << j["qdq"].dump();
    r = run("verify " + fly + " --data " + d + " --float " + m);
    EXPECT_NE(r.out.find("the QDQ model's own simulation: top-1 agreement int8/QDQ"), std::string::npos) << r.out;
    if (!have_qemu()) GTEST_SKIP() << "arm-none-eabi-gcc or qemu-system-arm missing";
    r = run("verify " + fly + " --data " + d + " --float " + m + " --samples 2 --sim-samples 0 --target qemu-m4 --json " + json);
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_EQ(nlohmann::json::parse(slurp(json))["target"]["identical"], 2) << r.out;
  }
}

// What a QDQ model states is not changed behind its back: options that would re-round its
// weights are refused, and nothing is written.
TEST_F(Import, QdqWeightsAreNotRequantized) {
  ASSERT_EQ(run("import " + kModels + "/qdq_ort.onnx --out " + p("qo.h5")).code, 0);
  for (const std::string opt : {"--per-tensor", "--weight-levels 8"}) {
    const Result r = run("quantize " + p("qo.h5") + " --out " + p("qo.q.h5") + " " + opt);
    EXPECT_EQ(r.code, 2) << opt;
    EXPECT_EQ(r.err, "flynet quantize: error: " + opt.substr(0, opt.find(' ')) +
                         " would change the int8 weights the QDQ model states (" + p("qo.h5") + ")\n");
    EXPECT_FALSE(fs::exists(p("qo.q.h5")));
  }
}

// Fine-tuning moves the weights off the QDQ codes: train --init drops the record, and the
// fine-tuned model is calibrated like any float model.
TEST_F(Import, FineTunedQdqModelNeedsCalibration) {
  const std::string d = data(16, 16, 3, 10);
  ASSERT_EQ(run("import " + kModels + "/qdq_torch.onnx --out " + p("qt.h5") + " --mean 0.5 --std 0.25").code, 0);
  Result r = run("train --data " + d + " --init " + p("qt.h5") + " --epochs 1 --lr 0.01 --warmup 0 --batch 8 --threads 1 "
                 "--out " + p("qt.ft.h5") + " --quiet --checkpoint none --metrics none");
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("quantize " + p("qt.ft.h5") + " --out " + p("qt.ft.q.h5"));
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "flynet quantize: error: model is not calibrated: run flynet calibrate first (" + p("qt.ft.h5") + ")\n");
  ASSERT_EQ(run("calibrate " + p("qt.ft.h5") + " --data " + d + " --samples 32 --out " + p("qt.ft.cal.h5")).code, 0);
  r = run("quantize " + p("qt.ft.cal.h5") + " --out " + p("qt.ft.q.h5"));
  EXPECT_EQ(r.code, 0) << r.err;
}

// Each QDQ construct flynet cannot keep exact: one line naming the node and what, exit 6, no output.
TEST_F(Import, UnsupportedQdqGetsOneLineAndNoOutput) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"qdq_bad_per_channel_act",
       "QuantizeLinear: per-channel activation quantization (flynet quantizes activations per tensor) "
       "(node 'quantizelinear_3', opset 13)"},
      {"qdq_bad_asymmetric_weight",
       "Conv: asymmetric int8 weights (zero point 3; flynet's int8 weights are symmetric, zero point 0) "
       "(node 'conv_9', opset 13)"},
      {"qdq_bad_int32_weight", "Conv: int32 weights (flynet's weights are int8) (node 'conv_9', opset 13)"},
      {"qdq_bad_other_scale",
       "DequantizeLinear whose scale or zero point differs from its QuantizeLinear's (node 'dequantizelinear_5', opset 13)"},
      {"qdq_bad_batchnorm",
       "a BatchNormalization after the QDQ conv 'conv_9' (fold batch norm into the weights before quantizing)"},
      {"qdq_bad_opset11",
       "QuantizeLinear before opset 13 (flynet imports QDQ models of opset 13 and later) (node 'quantizelinear_3', opset 11)"},
  };
  for (const auto& [file, err] : cases) {
    const Result r = run("import " + kModels + "/" + file + ".onnx --out " + p("bad.h5"));
    EXPECT_EQ(r.code, 6) << file;
    EXPECT_EQ(r.err, "flynet import: error: " + err + " (" + kModels + "/" + file + ".onnx)\n");
    EXPECT_FALSE(fs::exists(p("bad.h5"))) << file;
  }
}

// The new ops train: a short QAT fine-tune of the concat model (leaky ReLU, concat, window
// average pool, broadcast mul, and its softmax trained as logits), quantized and exported.
TEST_F(Import, ConcatModelTrainsWithQuantizationAwareness) { fine_tune_with_qat("ops_concat", "oc", 12, 10, 3, 7); }

// Each bad file: one line naming the file, its exit code, and no output file.
TEST_F(Import, BadFilesGetOneLineAndNoOutput) {
  struct Case {
    std::string file, err;
    int code;
  };
  const std::vector<Case> cases = {
      {"garbage.onnx", "not an ONNX model (the protobuf does not parse)", 4},
      {"unsupported.onnx", "unsupported ONNX op Resize (node '/1/Resize', opset 13)", 6},
      {"absent.onnx", "cannot open the ONNX file", 3},
      {"zero_stride.onnx",
       "the ONNX checker rejects the model: attribute strides of node 'zero_stride' (Conv) holds 0; ONNX needs values >= 1",
       4},
  };
  for (const Case& c : cases) {
    const std::string out = p("bad.h5");
    const Result r = run("import " + kModels + "/" + c.file + " --out " + out);
    EXPECT_EQ(r.code, c.code) << c.file;
    EXPECT_EQ(r.err, "flynet import: error: " + c.err + " (" + kModels + "/" + c.file + ")\n");
    EXPECT_FALSE(fs::exists(out)) << c.file;
  }
  const Result r = run("import " + kModels + "/truncated.onnx --out " + p("bad.h5"));
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("flynet import: error: ", 0), 0u) << r.err;
  EXPECT_FALSE(fs::exists(p("bad.h5")));
}

// Files on which libonnx's own checker or shape inference crashes (found by onnx_fuzz; kept in
// its corpus): the crash ends only the child process that runs them, and is one line.
TEST_F(Import, FilesThatCrashLibonnxGetOneLineAndNoOutput) {
  const std::string corpus = FLYNET_ONNX_CORPUS;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"regress-maxpool-zero-stride.onnx",
       "the ONNX checker rejects the model: attribute strides of node '' (MaxPool) holds 0; ONNX needs values >= 1"},
      {"regress-kernel-longer-than-rank.onnx", "damaged ONNX file: libonnx's checker stopped with signal 11 while reading it"},
  };
  for (const auto& [file, err] : cases) {
    const Result r = run("import " + corpus + "/" + file + " --out " + p("crash.h5"));
    EXPECT_EQ(r.code, 4) << file;
    EXPECT_EQ(r.err, "flynet import: error: " + err + " (" + corpus + "/" + file + ")\n");
    EXPECT_FALSE(fs::exists(p("crash.h5"))) << file;
  }
}

TEST_F(Import, NormalisationNeedsBothMeanAndStd) {
  const Result r = run("import " + kModels + "/resnet8.onnx --out " + p("n.h5") + " --mean 0.5");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(p("n.h5")));
}

}  // namespace
