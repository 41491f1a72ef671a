// The pipeline as a user runs it, on a tiny generated data set: train -> calibrate ->
// quantize (with the side-by-side comparison), plus the errors a user meets on the way.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "flynet/core/data.hpp"
#include "flynet/formats/h5_store.hpp"
#include "flynet/formats/int_graph.hpp"
#include "run_flynet.hpp"

namespace {

namespace fs = std::filesystem;

using flynet::test::Result;
using flynet::test::slurp;

// Calls f(op, weight, channel, its distinct codes) for every output channel of every trained
// conv, depthwise and FC layer of an int8 graph; returns the number of layers.
template <class F>
int for_each_trained_channel(const flynet::IntGraph& g, F&& f) {
  int layers = 0;
  for (const flynet::IntOp& op : g.ops) {
    if (op.op != 1 && op.op != 2 && op.op != 3) continue;  // conv, depthwise, fully connected
    if (op.name.find(".reduce") != std::string::npos) continue;  // sum+ReLU's fixed ones, not trained
    const flynet::IntTensor& w = g.tensors[size_t(op.inputs[1])];
    // Output channel: first dim (conv [O,K,K,I], FC [O,1,1,K]) or last (depthwise [1,K,K,O]).
    const bool dw = op.op == 2;
    const int oc = dw ? w.dims[3] : w.dims[0];
    const int per = int(w.numel()) / oc;
    for (int o = 0; o < oc; ++o) {
      std::set<int> codes;
      for (int i = 0; i < per; ++i) codes.insert(int8_t(w.data[size_t(dw ? i * oc + o : o * per + i)]));
      f(op, w, o, codes);
    }
    ++layers;
  }
  return layers;
}

class Pipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Per process: two test runs at once (two build trees) must not share files.
    dir_ = fs::temp_directory_path() / ("flynet_pipeline_test_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    flynet::write_h5_dataset((dir_ / "data.h5").string(), flynet::test::square_position_set(256, 1), flynet::test::square_position_set(64, 2));
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static Result flynet(const std::string& args) { return flynet::test::run_flynet(args); }
  static std::string p(const std::string& name) { return (dir_ / name).string(); }
  static fs::path dir_;
};
fs::path Pipeline::dir_;

TEST_F(Pipeline, TrainCalibrateQuantizeCompare) {
  Result r = flynet("train --data " + p("data.h5") + " --input 16x16x1 --classes 2 --width 0.25 --epochs 12 --batch 16 --threads 1 "
                    "--out " + p("m.h5") + " --quiet --checkpoint none --metrics none");
  ASSERT_EQ(r.code, 0) << r.err;

  // Quantizing before calibrating names the missing step.
  r = flynet("quantize " + p("m.h5") + " --out " + p("m.q.h5"));
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "flynet quantize: error: model is not calibrated: run flynet calibrate first (" + p("m.h5") + ")\n");
  EXPECT_FALSE(fs::exists(p("m.q.h5")));

  r = flynet("calibrate " + p("m.h5") + " --data " + p("data.h5") + " --samples 64 --method kl --out " + p("m.cal.h5") +
             " --json " + p("cal.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto cal = nlohmann::json::parse(slurp(p("cal.json")));
  EXPECT_EQ(cal["method"], "kl");
  EXPECT_EQ(cal["samples"], 64);
  EXPECT_GT(cal["tensors"].size(), 50u);

  r = flynet("quantize " + p("m.cal.h5") + " --out " + p("m.q.h5") + " --data " + p("data.h5") + " --samples 0 --json " +
             p("q.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto q = nlohmann::json::parse(slurp(p("q.json")));
  EXPECT_EQ(q["count"], 64);
  // Float learnt the task; int8 keeps it, and follows the fake-quant simulation.
  EXPECT_GE(q["top1"]["float"].get<double>(), 0.9);
  EXPECT_GE(q["top1"]["int8"].get<double>(), q["top1"]["float"].get<double>() - 0.05);
  EXPECT_GE(q["agreement"]["int8_fake_quant"].get<double>(), 0.95);
  const flynet::IntGraph g = flynet::int_graph_from_record(flynet::load_model_h5(p("m.q.h5")), p("m.q.h5"));
  EXPECT_GT(g.ops.size(), 50u);
  EXPECT_EQ(g.meta.at("quant.calibration"), "kl");
  EXPECT_EQ(g.meta.at("quant.rounding"), "double");

  // info reads the int8 model: its weights are the quantized conv/FC weights, one byte each.
  r = flynet("info " + p("m.q.h5") + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto info = nlohmann::json::parse(r.out);
  EXPECT_EQ(info["kind"], "int8");
  EXPECT_GE(info["arena_bytes"].get<int64_t>(), info["arena_lower_bound"].get<int64_t>());
  int64_t weight_bytes = 0;
  for (const flynet::IntTensor& t : g.tensors)
    if (t.constant() && t.type == 1) weight_bytes += int64_t(t.bytes());
  EXPECT_EQ(info["weight_bytes"].get<int64_t>(), weight_bytes);

  // calibrate refuses an int8 model with a one-line error rather than a crash.
  r = flynet("calibrate " + p("m.q.h5") + " --data " + p("data.h5"));
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "flynet calibrate: error: an int8 model (from flynet quantize) where a float model is needed (" +
                       p("m.q.h5") + ")\n");
}

// Design 3.7: trained with L levels, every conv/FC layer has at most L distinct weight values
// per output channel, and quantize maps them to int8 codes with no further rounding.
TEST_F(Pipeline, WeightLevelsSurviveQuantizationExactly) {
  Result r = flynet("train --data " + p("data.h5") + " --input 16x16x1 --classes 2 --width 0.25 --epochs 1 --max-steps 6 "
                    "--batch 16 --threads 1 --weight-levels 6 --out " + p("l6.h5") + " --quiet --checkpoint none --metrics none");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(flynet::load_model_h5(p("l6.h5")).meta.at("train.weight_levels"), "6");
  r = flynet("calibrate " + p("l6.h5") + " --data " + p("data.h5") + " --samples 32 --out " + p("l6.cal.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  r = flynet("quantize " + p("l6.cal.h5") + " --out " + p("l6.q.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  const flynet::IntGraph g = flynet::int_graph_from_record(flynet::load_model_h5(p("l6.q.h5")), p("l6.q.h5"));
  const int checked = for_each_trained_channel(g, [](const flynet::IntOp& op, const flynet::IntTensor& w, int o,
                                                      const std::set<int>& codes) {
    EXPECT_EQ(w.levels, 6) << op.name;
    EXPECT_LE(codes.size(), 6u) << op.name << " channel " << o;
    // Even L: the grid is odd multiples of half a step.
    for (int c : codes) EXPECT_TRUE(c % 2 != 0 || codes.size() == 1) << op.name << " code " << c;
  });
  EXPECT_GT(checked, 30);
}

// QAT as issue #5 describes it: a warm start from a float model, 8 weight levels, int8
// activations with EMA ranges and BN folded in the last epoch. The saved model carries its QAT
// state, calibration keeps the trained ranges, and quantize computes what training computed.
TEST_F(Pipeline, QuantizationAwareTrainingFromAWarmStart) {
  Result r = flynet("train --data " + p("data.h5") + " --input 16x16x1 --classes 2 --width 0.25 --epochs 2 --batch 16 "
                    "--threads 1 --out " + p("f.h5") + " --quiet --checkpoint none --metrics none");
  ASSERT_EQ(r.code, 0) << r.err;
  r = flynet("train --data " + p("data.h5") + " --init " + p("f.h5") + " --epochs 3 --lr 0.02 --warmup 0 --batch 16 "
             "--threads 1 --weight-levels 8 --act-bits 8 --fold-bn-after 2 --out " + p("qat.h5") +
             " --quiet --checkpoint none --metrics none");
  ASSERT_EQ(r.code, 0) << r.err;
  const flynet::ModelRecord m = flynet::load_model_h5(p("qat.h5"));
  EXPECT_EQ(m.meta.at("train.weight_levels"), "8");
  EXPECT_EQ(m.meta.at("train.act_bits"), "8");
  EXPECT_EQ(m.meta.at("train.bn_folded"), "1");
  EXPECT_EQ(m.meta.at("train.init"), p("f.h5"));
  std::map<std::string, std::pair<float, float>> ranges;
  for (const flynet::TensorRecord& t : m.tensors)
    if (t.name.rfind("qat.", 0) == 0) ranges[t.name.substr(4, t.name.size() - 10)] = {t.to_f32()[0], t.to_f32()[1]};
  EXPECT_GT(ranges.size(), 30u);
  EXPECT_EQ(ranges.count("stem"), 0u);     // folded into its BN: quantized after it
  EXPECT_EQ(ranges.count("stem.bn"), 1u);  // the conv's int8 output (hard-swish is its own op)
  r = flynet("calibrate " + p("qat.h5") + " --data " + p("data.h5") + " --samples 32 --out " + p("qat.cal.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  r = flynet("quantize " + p("qat.cal.h5") + " --out " + p("qat.q.h5") + " --data " + p("data.h5") +
             " --samples 0 --json " + p("qat.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto q = nlohmann::json::parse(slurp(p("qat.json")));
  // The "float" column of a QAT model is its fake-quant network: int8 follows it.
  EXPECT_GE(q["agreement"]["int8_float"].get<double>(), 0.95);
  const flynet::IntGraph g = flynet::int_graph_from_record(flynet::load_model_h5(p("qat.q.h5")), p("qat.q.h5"));
  EXPECT_EQ(g.meta.at("quant.weight_levels"), "8");
  // Every int8 activation with a trained range has exactly the trained quantization:
  // scale = (max - min) / 255 and zero point round(-128 - min / scale) (int8-semantics.md).
  int matched = 0;
  for (const flynet::IntTensor& t : g.tensors) {
    auto it = ranges.find(t.name);
    if (it == ranges.end() || t.constant()) continue;
    const float lo = std::min(it->second.first, 0.f), hi = std::max(it->second.second, 0.f);
    const double scale = double(hi - lo) / 255.0;
    EXPECT_NEAR(t.scale, scale, 1e-6 * scale) << t.name;
    EXPECT_NEAR(t.zero_point, std::lround(-128.0 - lo / scale), 1) << t.name;
    ++matched;
  }
  EXPECT_GT(matched, 30);
  // Folded and quantized to 8 levels: at most 8 codes per output channel of every trained layer.
  for_each_trained_channel(g, [](const flynet::IntOp& op, const flynet::IntTensor& w, int o, const std::set<int>& codes) {
    EXPECT_EQ(w.levels, 8) << op.name;
    EXPECT_LE(codes.size(), 8u) << op.name << " channel " << o;
  });
  // --init and --resume together is a usage error; so is folding after the last epoch.
  r = flynet("train --data " + p("data.h5") + " --init " + p("f.h5") + " --resume " + p("f.h5") + " --out " + p("x.h5"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "flynet train: error: --init and --resume exclude each other (a checkpoint already holds the weights)\n");
  r = flynet("train --data " + p("data.h5") + " --init " + p("f.h5") + " --epochs 2 --fold-bn-after 2 --out " + p("x.h5"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "flynet train: error: --fold-bn-after must be below the number of epochs\n");
  EXPECT_FALSE(fs::exists(p("x.h5")));
}

TEST_F(Pipeline, ValidationSplitIsHeldOutOfTraining) {
  Result r = flynet("train --data " + p("data.h5") + " --input 16x16x1 --classes 2 --width 0.25 --epochs 1 --max-steps 2 "
                    "--batch 8 --threads 1 --val-split 0.25 --out " + p("v.h5") + " --quiet --checkpoint none --metrics none");
  ASSERT_EQ(r.code, 0) << r.err;
  // 256 training images, a quarter held out.
  EXPECT_NE(r.out.find("(64 held-out training images)"), std::string::npos) << r.out;
  const flynet::ModelRecord m = flynet::load_model_h5(p("v.h5"));
  EXPECT_EQ(m.meta.count("train.val_top1"), 1u);
  EXPECT_EQ(m.meta.count("train.test_top1"), 1u);
  r = flynet("train --data " + p("data.h5") + " --val-split 1 --out " + p("v2.h5"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "flynet train: error: --val-split: 1: must be a number in 0 .. 0.99\n");
  EXPECT_FALSE(fs::exists(p("v2.h5")));
}

// --flip decides the horizontal flip of the augmentation whatever the data set's default: an
// HDF5 set allows flipping, so auto trains exactly as on and off trains differently.
TEST_F(Pipeline, FlipOptionOverridesTheDataSetDefault) {
  std::map<std::string, flynet::ModelRecord> m;
  for (const char* flip : {"auto", "on", "off"}) {
    const std::string out = p(std::string("flip-") + flip + ".h5");
    const Result r = flynet("train --data " + p("data.h5") + " --input 16x16x1 --classes 2 --width 0.25 --epochs 1 "
                            "--max-steps 4 --batch 8 --threads 1 --eval-every 0 --bn-recal 0 --flip " + flip +
                            " --out " + out + " --quiet --checkpoint none --metrics none");
    ASSERT_EQ(r.code, 0) << r.err;
    m[flip] = flynet::load_model_h5(out);
  }
  EXPECT_EQ(m["auto"].tensors, m["on"].tensors);
  EXPECT_NE(m["off"].tensors, m["on"].tensors);
  EXPECT_EQ(m["auto"].meta.at("train.options").find("flip="), std::string::npos);
  EXPECT_NE(m["on"].meta.at("train.options").find(" flip=1"), std::string::npos);
  EXPECT_NE(m["off"].meta.at("train.options").find(" flip=0"), std::string::npos);
  EXPECT_EQ(flynet("train --data " + p("data.h5") + " --flip maybe --out " + p("f.h5")).code, 2);
}

TEST_F(Pipeline, CalibrateRejectsMismatchedData) {
  Result r = flynet("train --data " + p("data.h5") + " --input 16x16x1 --classes 2 --width 0.25 --epochs 1 --max-steps 1 "
                    "--batch 8 --threads 1 --out " + p("m1.h5") + " --quiet --checkpoint none --metrics none");
  ASSERT_EQ(r.code, 0) << r.err;
  r = flynet("calibrate " + p("m1.h5") + " --data /usr/share/datasets/fashion-mnist --samples 8");
  if (!fs::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  EXPECT_EQ(r.code, 5);
  EXPECT_EQ(r.err, "flynet calibrate: error: data set images do not fit the model's input 16x16x1 "
                   "(/usr/share/datasets/fashion-mnist)\n");
}

}  // namespace
