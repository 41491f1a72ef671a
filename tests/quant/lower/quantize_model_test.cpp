// quantize_model (flynet quantize's work) checked from the outside: its per-layer and size
// figures against the .q.h5 file read back, the weight codes per channel counted in that file
// (a model with weight levels keeps them per channel and loses them with per-tensor scales),
// the improvements and the comparison as their records in the file and the report, and the
// errors it names, with nothing written.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <set>

#include "flynet/core/model_state.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/h5_store.hpp"
#include "flynet/quant/calibrate.hpp"
#include "flynet/quant/quantize_model.hpp"
#include "flynet_format.h"
#include "quant_fixtures.hpp"

namespace flynet {
namespace {

namespace fs = std::filesystem;

// A data set of random 16x16x1 images on disk and a calibrated random-BN FlyNet for it.
struct Files {
  fs::path dir = fs::temp_directory_path() / ("flynet_quantize_model_test_" + std::to_string(::getpid()));
  std::string data = (dir / "data.h5").string();
  static constexpr int kTrain = 12, kTest = 6;

  Files() {
    fs::create_directories(dir);
    std::mt19937 rng(5);
    auto noise = [&](int n) {  // labels 0..9 in turn
      DatasetArrays a{16, 16, 1, std::vector<uint8_t>(size_t(n) * 256), {}};
      for (uint8_t& v : a.images) v = uint8_t(rng());
      for (int i = 0; i < n; ++i) a.labels.push_back(i % 10);
      return a;
    };
    write_h5_dataset(data, noise(kTrain), noise(kTest));
  }
  ~Files() { fs::remove_all(dir); }
  std::string path(const std::string& name) const { return (dir / name).string(); }

  // A model calibrated on the first 8 training images; weight_levels > 0 records QAT weights.
  std::string model(const std::string& name, int weight_levels = 0) const {
    Model m = test::random_bn_model(test::small_flynet(16, 1), 3);
    if (weight_levels > 0) {
      QatState q;
      q.weight_levels = weight_levels;
      write_qat_state(m.meta, q);
    }
    CalibrateDataOptions c;
    c.data = data;
    c.samples = 8;
    calibrate_model(m, c);
    save_model(m, path(name));
    return path(name);
  }
};

IntGraph read_back(const std::string& file) { return int_graph_from_record(load_model_h5(file), file); }

bool has_weights(int32_t op) {
  return op == FLYNET_OP_CONV2D || op == FLYNET_OP_DEPTHWISE_CONV2D || op == FLYNET_OP_FULLY_CONNECTED;
}

// The largest number of distinct codes in one output channel of a weight tensor, counted in
// the layout flynet_format.h gives each op: depthwise [1, KH, KW, C_OUT], conv
// [C_OUT, KH, KW, C_IN], FC [C_OUT, 1, 1, C_IN].
size_t most_codes_per_channel(int32_t op, const IntTensor& w) {
  const auto& d = w.dims;
  const bool dw = op == FLYNET_OP_DEPTHWISE_CONV2D;
  const int64_t channels = dw ? d[3] : d[0], per = w.numel() / channels;
  size_t most = 0;
  for (int64_t c = 0; c < channels; ++c) {
    std::set<int8_t> codes;
    for (int64_t i = 0; i < per; ++i) codes.insert(int8_t(w.data[size_t(dw ? i * channels + c : c * per + i)]));
    most = std::max(most, codes.size());
  }
  return most;
}

TEST(QuantizeModel, FiguresAreThoseOfTheWrittenFile) {
  const Files f;
  QuantizeModelOptions o;
  o.model = f.model("m.h5");
  o.out = f.path("m.q.h5");
  std::vector<QuantizePart> parts;
  QuantizeHooks hooks;
  hooks.part_done = [&](QuantizePart p, const QuantizeReport&) { parts.push_back(p); };
  const QuantizeReport r = quantize_model(o, hooks);
  EXPECT_EQ(parts, std::vector<QuantizePart>{QuantizePart::written});  // no data: no comparison

  const IntGraph g = read_back(o.out);
  EXPECT_EQ(r.ops, g.ops.size());
  EXPECT_EQ(r.tensors, g.tensors.size());
  int64_t int8_bytes = 0, int32_bytes = 0;
  for (const IntTensor& t : g.tensors) (t.type == FLYNET_TYPE_INT8 ? int8_bytes : int32_bytes) += int64_t(t.data.size());
  EXPECT_EQ(r.weight_bytes, int8_bytes);
  EXPECT_EQ(r.param_bytes, int32_bytes);
  EXPECT_GT(r.arena_size, 0u);
  EXPECT_GE(r.arena_size, r.arena_lower_bound);
  EXPECT_EQ(r.rounding, "double");
  EXPECT_EQ(r.weights, "per-channel");
  EXPECT_EQ(r.input_scale, g.meta.at("input.scale"));
  EXPECT_EQ(r.input_zero_point, std::to_string(g.tensors[size_t(g.input)].zero_point));
  EXPECT_EQ(r.levels_asked, 0);
  EXPECT_EQ(r.levels_kept, 0);
  EXPECT_FALSE(r.equalization || r.bias_correction || r.comparison);

  size_t k = 0;
  for (const IntOp& op : g.ops) {
    if (!has_weights(op.op)) continue;
    ASSERT_LT(k, r.layers.size());
    const QuantizedWeights& l = r.layers[k++];
    const IntTensor& w = g.tensors[size_t(op.inputs[1])];
    SCOPED_TRACE(l.tensor);
    EXPECT_EQ(l.op, op.name);
    EXPECT_EQ(l.tensor, w.name);
    EXPECT_EQ(l.bytes, int64_t(w.data.size()));
    EXPECT_EQ(l.channels, op.op == FLYNET_OP_DEPTHWISE_CONV2D ? w.dims[3] : w.dims[0]);
    EXPECT_EQ(l.levels, 0);
  }
  EXPECT_EQ(k, r.layers.size());
  EXPECT_GT(k, 10u);  // stem, the blocks' convs, fc1, fc2
}

TEST(QuantizeModel, WeightLevelsAreKeptPerChannelAndLostPerTensor) {
  const Files f;
  QuantizeModelOptions o;
  o.model = f.model("q8.h5", 8);  // weight_levels -1: what the model records

  o.out = f.path("q8.q.h5");
  const QuantizeReport kept = quantize_model(o);
  EXPECT_EQ(kept.levels_asked, 8);
  EXPECT_EQ(kept.levels_kept, 8);
  const IntGraph g = read_back(o.out);
  for (const IntOp& op : g.ops)
    if (has_weights(op.op)) {
      const IntTensor& w = g.tensors[size_t(op.inputs[1])];
      SCOPED_TRACE(w.name);
      EXPECT_EQ(w.levels, 8);
      EXPECT_LE(most_codes_per_channel(op.op, w), 8u);
    }
  for (const QuantizedWeights& l : kept.layers) EXPECT_EQ(l.levels, 8) << l.tensor;

  // One scale per layer rounds the float weights onto the whole int8 grid: the levels are gone
  // from the codes and from the tensors, whatever the meta still records.
  o.out = f.path("q8.pt.q.h5");
  o.per_tensor = true;
  const QuantizeReport lost = quantize_model(o);
  EXPECT_EQ(lost.levels_asked, 8);
  EXPECT_EQ(lost.levels_kept, 0);
  EXPECT_EQ(lost.weights, "per-tensor");
  const IntGraph pt = read_back(o.out);
  size_t most = 0;
  for (const IntOp& op : pt.ops)
    if (has_weights(op.op)) {
      const IntTensor& w = pt.tensors[size_t(op.inputs[1])];
      EXPECT_EQ(w.levels, 0) << w.name;
      most = std::max(most, most_codes_per_channel(op.op, w));
    }
  EXPECT_GT(most, 8u);
  for (const QuantizedWeights& l : lost.layers) EXPECT_EQ(l.levels, 0) << l.tensor;

  // Asked for explicitly, off.
  o.per_tensor = false;
  o.weight_levels = 0;
  o.out = f.path("q8.off.q.h5");
  const QuantizeReport off = quantize_model(o);
  EXPECT_EQ(off.levels_asked, 0);
  EXPECT_EQ(off.levels_kept, 0);
}

TEST(QuantizeModel, ImprovementsAndComparisonOnTheDataSet) {
  const Files f;
  QuantizeModelOptions o;
  o.model = f.model("m.h5");
  o.out = f.path("m.eb.q.h5");
  o.data = f.data;
  o.equalize = o.bias_correction = true;
  o.samples = 4;
  o.threads = 1;
  std::vector<QuantizePart> parts;
  std::vector<std::string> stages;
  QuantizeHooks hooks;
  hooks.part_done = [&](QuantizePart p, const QuantizeReport&) { parts.push_back(p); };
  hooks.progress = [&](const std::string& stage) {
    stages.push_back(stage);
    return ProgressFn{};
  };
  const QuantizeReport r = quantize_model(o, hooks);
  EXPECT_EQ(parts, (std::vector<QuantizePart>{QuantizePart::equalization, QuantizePart::bias_correction,
                                              QuantizePart::written, QuantizePart::comparison}));
  EXPECT_EQ(stages, (std::vector<std::string>{"bias correction", "comparing"}));

  // The calibration's 8 images (calib.samples) for both improvements, recorded in the file.
  const IntGraph g = read_back(o.out);
  ASSERT_TRUE(r.equalization && r.bias_correction && r.comparison);
  EXPECT_EQ(r.equalization->images, 8);
  EXPECT_EQ(g.meta.at("quant.equalize"), "cross-layer, ranges re-measured on 8 images");
  EXPECT_EQ(g.meta.at("quant.bias_correction"), "int8, 8 images");
  EXPECT_EQ(r.bias_correction->run.images, 8);

  // FlyNet-h3 0.5x: the expansion -> MDW pairs of b1 and b2; the scales in their recorded range.
  ASSERT_FALSE(r.equalization->pairs.empty());
  for (const EqualizedPair& p : r.equalization->pairs) {
    EXPECT_GT(p.scale_min, 0);
    EXPECT_LE(p.scale_min, p.scale_max);
    for (double v : {p.precision_before[0], p.precision_before[1], p.precision_after[0], p.precision_after[1]}) {
      EXPECT_GT(v, 0);
      EXPECT_LE(v, 1);
    }
  }
  const QuantizeBiasCorrection& b = *r.bias_correction;
  ASSERT_FALSE(b.run.layers.empty());
  double mean = 0, largest = 0;
  for (const BiasCorrectionLayer& l : b.run.layers) {
    mean += l.mean_abs_shift;
    largest = std::max(largest, l.max_abs_shift);
  }
  EXPECT_NEAR(b.mean_abs_shift, mean / double(b.run.layers.size()), 1e-12);
  EXPECT_EQ(b.largest_shift, largest);
  EXPECT_FALSE(b.largest_layer.empty());

  EXPECT_EQ(r.comparison->count, 4);  // the first o.samples of 6 test images
  EXPECT_TRUE(r.comparison->sim.has_value());
  EXPECT_EQ(r.comparison->layers.size() > 0, true);

  // Fewer calibration images when asked; no simulation when not asked.
  o.cal_samples = 5;
  o.simulate = false;
  o.equalize = false;
  o.out = f.path("m.b.q.h5");
  const QuantizeReport r5 = quantize_model(o);
  EXPECT_EQ(r5.bias_correction->run.images, 5);
  EXPECT_EQ(read_back(o.out).meta.at("quant.bias_correction"), "int8, 5 images");
  EXPECT_FALSE(r5.comparison->sim.has_value());
  EXPECT_FALSE(r5.equalization.has_value());
}

TEST(QuantizeModel, BadInputIsRefusedNamingItAndNothingIsWritten) {
  const Files f;
  auto refused = [&](QuantizeModelOptions o) {
    o.out = f.path("out.q.h5");
    try {
      quantize_model(o);
    } catch (const Error& e) {
      EXPECT_FALSE(fs::exists(o.out)) << e.what();
      return e;
    }
    ADD_FAILURE() << "not refused";
    return Error(ErrorCode::internal, "");
  };
  // A float model without calibration.
  const std::string uncalibrated = f.path("raw.h5");
  save_model(test::random_bn_model(test::small_flynet(16, 1), 3), uncalibrated);
  QuantizeModelOptions o;
  o.model = uncalibrated;
  Error e = refused(o);
  EXPECT_EQ(e.code(), ErrorCode::format);
  EXPECT_EQ(e.file(), uncalibrated);

  // A file that is not there.
  o.model = f.path("missing.h5");
  e = refused(o);
  EXPECT_EQ(e.file(), o.model);

  // The improvements need a data set, and one whose images fit.
  o.model = f.model("m.h5");
  o.bias_correction = true;
  EXPECT_EQ(refused(o).code(), ErrorCode::usage);
  const std::string wide = f.path("wide.h5");
  DatasetArrays a;
  a.h = a.w = 8;
  a.c = 1;
  a.images.assign(4 * 64, 100);
  a.labels = {0, 1, 2, 3};
  write_h5_dataset(wide, a, a);
  o.data = wide;
  e = refused(o);
  EXPECT_EQ(e.code(), ErrorCode::shape);
  EXPECT_EQ(e.file(), wide);

  // A level count int8 cannot hold.
  o = {};
  o.model = f.model("m2.h5");
  o.weight_levels = 200;
  EXPECT_EQ(refused(o).code(), ErrorCode::usage);
}

}  // namespace
}  // namespace flynet
