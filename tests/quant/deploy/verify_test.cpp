// verify_model (flynet verify's work) on a tiny exported FlyNet and a generated data set, checked
// against figures computed here independently: the input codes from the normalisation formula,
// the output codes from the in-memory integer runner (not the .fly interpreter verify uses),
// the float logits from the executor, and top-1, top-5, agreement, drop and the confusion
// matrix by naive loops. Then the golden dumps (a byte changed by hand is found where it was
// changed), the gates, the order of the parts, and the options that do not go together.
#include "flynet/quant/verify.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "flynet/core/model.hpp"
#include "flynet/core/net.hpp"
#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/quant/calibrate.hpp"
#include "flynet/quant/export.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flynet/quant/quantize.hpp"

namespace flynet {
namespace {

namespace fs = std::filesystem;

constexpr int kTest = 40, kHw = 16;
constexpr float kMean = 0.5f, kStd = 0.25f;  // exact in binary: the test's normalisation is verify's

// The first `n` test images normalised as (pixel / 255 - mean) / std, NHWC.
Tensor normalised(const DatasetArrays& a, int n) {
  Tensor x({n, a.h, a.w, a.c});
  for (size_t i = 0; i < x.data.size(); ++i) x.data[i] = (float(a.images[i]) / 255.f - kMean) / kStd;
  return x;
}

int argmax_naive(const std::vector<double>& v, int row, int k) {
  int best = 0;
  for (int c = 1; c < k; ++c)
    if (v[size_t(row * k + c)] > v[size_t(row * k + best)]) best = c;
  return best;
}

// The rank of the label's value among the row (larger values first, lower index first on ties).
int rank_of(const std::vector<double>& v, int row, int k, int label) {
  int r = 0;
  const double x = v[size_t(row * k + label)];
  for (int c = 0; c < k; ++c) {
    const double y = v[size_t(row * k + c)];
    if (y > x || (y == x && c < label)) ++r;
  }
  return r;
}

// A FlyNet-h3 at 16x16x1 with random BN statistics (a fresh model's are identity), calibrated on
// random images and lowered to int8; written as the float .h5, the .fly with and without host
// info, and an HDF5 data set of random images with random labels.
struct Files {
  fs::path dir;
  std::string float_model, fly, device_fly, data;
  Model model;
  IntGraph graph;
  DatasetArrays test;
};

const Files& files() {
  static const Files f = [] {
    Files f;
    f.dir = fs::temp_directory_path() / ("flynet_verify_test_" + std::to_string(::getpid()));
    fs::create_directories(f.dir);
    static const fs::path remove_at_exit = f.dir;
    std::atexit([] { fs::remove_all(remove_at_exit); });
    std::mt19937 rng(7);
    auto arrays = [&](int n) {
      DatasetArrays a;
      a.h = a.w = kHw;
      a.c = 1;
      // Each image its own brightness, contrast and bright square.
      for (int i = 0; i < n; ++i) {
        const int base = int(rng() % 200u), amp = 1 + int(rng() % 80u);
        const int y0 = int(rng() % 12u), x0 = int(rng() % 12u), side = 2 + int(rng() % 6u);
        for (int y = 0; y < kHw; ++y)
          for (int x = 0; x < kHw; ++x) {
            const bool in = y >= y0 && y < y0 + side && x >= x0 && x < x0 + side;
            a.images.push_back(uint8_t(std::min(255, (in ? 255 - base / 2 : base) + int(rng() % unsigned(amp)))));
          }
      }
      for (int i = 0; i < n; ++i) a.labels.push_back(int32_t(rng() % 10u));
      return a;
    };
    DatasetArrays train = arrays(10);
    for (int i = 0; i < 10; ++i) train.labels[size_t(i)] = i;  // the data set has ten classes
    f.test = arrays(kTest);
    const Tensor x = normalised(f.test, kTest);

    ArchSpec spec = arch_preset("flynet-h3");
    spec.in_h = spec.in_w = kHw;
    Model m = Model::create(spec, 7);
    std::uniform_real_distribution<float> pos(0.5f, 1.5f), sym(-0.3f, 0.3f);
    for (const ParamDecl& p : m.graph.all_params()) {
      Tensor& t = m.param(p.name);
      if (p.role == ParamRole::bn_gamma || p.role == ParamRole::bn_var)
        for (float& v : t.data) v = pos(rng);
      if (p.role == ParamRole::bn_beta || p.role == ParamRole::bn_mean || p.role == ParamRole::bias)
        for (float& v : t.data) v = sym(rng);
    }
    m.meta["data.mean"] = "0.5";
    m.meta["data.std"] = "0.25";
    // A random model gives every image the same answer (its biases outweigh the images): centre
    // each class's logit over the test images, so that the answer depends on the image.
    {
      Net net(m);
      const Tensor& logits = net.forward(x, RunCtx{});
      Tensor& bias = m.param("fc2.bias");
      for (int c = 0; c < 10; ++c) {
        double mean = 0;
        for (int i = 0; i < kTest; ++i) mean += logits.data[size_t(i * 10 + c)];
        bias.data[size_t(c)] -= float(mean / kTest);
      }
    }
    const CalibrationReport rep = calibrate(m, [&](const auto& use) { use(x); }, {});
    f.graph = lower_to_int8(m, rep.calibration, {});
    f.float_model = (f.dir / "m.h5").string();
    save_model(m, f.float_model);
    f.model = load_model(f.float_model);
    FlyExportOptions eo;
    eo.host_info = true;
    f.fly = (f.dir / "m.fly").string();
    write_bytes_atomically(f.fly, export_fly(f.graph, eo).bytes);
    f.device_fly = (f.dir / "md.fly").string();
    write_bytes_atomically(f.device_fly, export_fly(f.graph).bytes);

    // Every other label is the float model's answer, so that top-1 and the drop mean something.
    Net net(f.model);
    const Tensor& logits = net.forward(x, RunCtx{});
    const std::vector<double> lv(logits.data.begin(), logits.data.end());
    for (int i = 0; i < kTest; i += 2) f.test.labels[size_t(i)] = argmax_naive(lv, i, 10);
    f.data = (f.dir / "data.h5").string();
    write_h5_dataset(f.data, train, f.test);
    return f;
  }();
  return f;
}

struct Expected {
  std::vector<int8_t> inputs, codes;
  std::vector<double> int_out, float_out;
  double top1_int = 0, top5_int = 0, top1_float = 0, top5_float = 0, agreement = 0;
  std::vector<std::vector<int64_t>> confusion_int;
};

Expected expected(int n) {
  const Files& f = files();
  Expected e;
  const IntTensor& in = f.graph.tensors[size_t(f.graph.input)];
  const IntTensor& out = f.graph.tensors[size_t(f.graph.output)];
  const int px = int(in.numel()), k = int(out.numel());
  const Tensor x = normalised(f.test, n);
  // Input codes as InputQuant says: round half away from zero, clamp.
  for (float v : x.data)
    e.inputs.push_back(int8_t(std::clamp(std::round(double(v) / in.scale) + in.zero_point, -128.0, 127.0)));
  IntRunner runner(f.graph);
  e.codes.resize(size_t(n * k));
  for (int i = 0; i < n; ++i) runner.run(e.inputs.data() + i * px, e.codes.data() + i * k);
  for (int8_t c : e.codes) e.int_out.push_back((double(c) - out.zero_point) * out.scale);
  Model m = load_model(f.float_model);
  Net net(m);
  const Tensor& logits = net.forward(x, RunCtx{});
  e.float_out.assign(logits.data.begin(), logits.data.end());
  e.confusion_int.assign(10, std::vector<int64_t>(10, 0));
  for (int i = 0; i < n; ++i) {
    const int label = f.test.labels[size_t(i)];
    const int pi = argmax_naive(e.int_out, i, k), pf = argmax_naive(e.float_out, i, k);
    e.top1_int += pi == label;
    e.top1_float += pf == label;
    e.top5_int += rank_of(e.int_out, i, k, label) < 5;
    e.top5_float += rank_of(e.float_out, i, k, label) < 5;
    e.agreement += pi == pf;
    ++e.confusion_int[size_t(label)][size_t(pi)];
  }
  for (double* v : {&e.top1_int, &e.top5_int, &e.top1_float, &e.top5_float, &e.agreement}) *v /= n;
  return e;
}

VerifyOptions options() {
  VerifyOptions o;
  o.model = files().fly;
  o.data = files().data;
  o.threads = 2;
  return o;
}

// ----------------------------------------------------------------------------------- tests

TEST(Verify, FiguresEqualAnIndependentComputation) {
  VerifyOptions o = options();
  o.float_model = files().float_model;
  o.samples = 30;
  o.sim_samples = 10;
  const VerifyReport r = verify_model(o);
  const Expected e = expected(30);

  EXPECT_EQ(r.data, files().data);
  EXPECT_TRUE(r.host_info);
  EXPECT_EQ(r.run.count, 30);
  EXPECT_EQ(r.run.classes, 10);
  EXPECT_EQ(r.run.inputs, e.inputs);
  EXPECT_EQ(r.run.codes, e.codes);  // the .fly interpreter and the in-memory runner, bit for bit
  EXPECT_EQ(r.run.labels, std::vector<int32_t>(files().test.labels.begin(), files().test.labels.begin() + 30));
  EXPECT_DOUBLE_EQ(r.int8.top1, e.top1_int);
  EXPECT_DOUBLE_EQ(r.int8.top5, e.top5_int);
  EXPECT_EQ(r.int8.confusion, e.confusion_int);

  ASSERT_TRUE(r.float_model);
  EXPECT_DOUBLE_EQ(r.float_model->accuracy.top1, e.top1_float);
  EXPECT_DOUBLE_EQ(r.float_model->accuracy.top5, e.top5_float);
  EXPECT_DOUBLE_EQ(r.float_model->agreement, e.agreement);
  EXPECT_DOUBLE_EQ(r.float_model->drop, 100 * (e.top1_float - e.top1_int));
  double se = 0;
  for (size_t i = 0; i < e.int_out.size(); ++i) se += (e.int_out[i] - e.float_out[i]) * (e.int_out[i] - e.float_out[i]);
  EXPECT_NEAR(r.float_model->int8_vs_float.rmse, std::sqrt(se / double(e.int_out.size())), 1e-5);
  EXPECT_EQ(r.float_model->int8_vs_float.count, 300);

  // A file with host info and a float model: the simulation on the first sim_samples images.
  ASSERT_TRUE(r.simulation);
  EXPECT_EQ(r.simulation->count, 10);
  EXPECT_FALSE(r.target);
  EXPECT_FALSE(r.golden);
  EXPECT_TRUE(r.passed());
}

TEST(Verify, WithoutAFloatModelOnlyTheIntegerSide) {
  VerifyOptions o = options();
  o.sim_samples = -1;
  std::vector<VerifyPart> parts;
  VerifyHooks h;
  h.part_done = [&](VerifyPart p, const VerifyReport&) { parts.push_back(p); };
  const VerifyReport r = verify_model(o, h);
  const Expected e = expected(kTest);
  EXPECT_EQ(r.run.count, kTest);  // samples 0: all
  EXPECT_EQ(r.run.codes, e.codes);
  EXPECT_EQ(r.int8.confusion, e.confusion_int);
  EXPECT_FALSE(r.float_model);
  EXPECT_FALSE(r.simulation);
  EXPECT_EQ(parts, (std::vector<VerifyPart>{VerifyPart::int8, VerifyPart::gates}));
}

TEST(Verify, GatesRecordFailuresInOrder) {
  VerifyOptions o = options();
  o.model = files().device_fly;  // no host info: normalisation from the float model, no simulation
  o.float_model = files().float_model;
  o.samples = 20;
  o.min_agreement = 100.5;  // no agreement reaches it
  o.max_drop = -100;        // negative: no drop gate
  std::vector<VerifyPart> parts;
  VerifyHooks h;
  h.part_done = [&](VerifyPart p, const VerifyReport&) { parts.push_back(p); };
  const VerifyReport r = verify_model(o, h);
  const Expected e = expected(20);
  EXPECT_FALSE(r.host_info);
  EXPECT_EQ(r.run.codes, e.codes);
  EXPECT_FALSE(r.simulation);
  EXPECT_EQ(parts, (std::vector<VerifyPart>{VerifyPart::int8, VerifyPart::float_model, VerifyPart::simulation,
                                            VerifyPart::gates}));
  ASSERT_EQ(r.failures.size(), 1u);
  char want[160];
  std::snprintf(want, sizeof want, "top-1 agreement int8/float %.2f%% is below --min-agreement 100.50%%",
                100 * e.agreement);
  EXPECT_EQ(r.failures[0], want);
  EXPECT_FALSE(r.passed());

  // A drop gate below the measured drop fails after the agreement gate.
  const double drop = 100 * (e.top1_float - e.top1_int);
  ASSERT_GT(drop, 0) << "the fixture should lose accuracy in int8 on these images";
  o.max_drop = drop / 2;
  const VerifyReport r2 = verify_model(o);
  ASSERT_EQ(r2.failures.size(), 2u);
  EXPECT_EQ(r2.failures[1].rfind("top-1 drop float -> int8 ", 0), 0u) << r2.failures[1];
  // Gates at what was measured pass.
  o.min_agreement = 100 * e.agreement - 1e-9;
  o.max_drop = drop + 1e-9;
  EXPECT_TRUE(verify_model(o).passed());
}

TEST(Verify, GoldenDumpsFindAChangedByteWhereItWasChanged) {
  const fs::path dump = files().dir / "golden";
  VerifyOptions o = options();
  o.samples = 4;
  o.dump = dump.string();
  o.dump_images = 3;
  const VerifyReport w = verify_model(o);
  EXPECT_EQ(w.dumped_images, 3);
  EXPECT_FALSE(w.golden);

  o.dump.clear();
  o.golden = dump.string();
  const VerifyReport same = verify_model(o);
  ASSERT_TRUE(same.golden);
  EXPECT_TRUE(same.golden->match);
  EXPECT_EQ(same.golden->images, 3);
  EXPECT_TRUE(same.passed());

  // Change one byte of image 2 inside the fifth listed tensor; find it from layers.tsv here.
  std::ifstream tsv(dump / "layers.tsv");
  std::string line;
  std::vector<std::vector<std::string>> rows;
  while (std::getline(tsv, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::vector<std::string> cols;
    for (std::string c; std::getline(f, c, '\t');) cols.push_back(c);
    rows.push_back(cols);
  }
  ASSERT_GT(rows.size(), 5u);
  const std::vector<std::string>& L = rows[4];  // op, op_name, slot, tensor, tensor_name, bytes, offset
  const uint64_t bytes = std::stoull(L[5]), offset = std::stoull(L[6]), at = bytes / 2;
  const std::string image = (dump / "image_00002.bin").string();
  std::string b = read_file_bytes(image);
  const int was = int8_t(b[offset + at]);
  b[offset + at] = char(int8_t(was ^ 0x10));
  write_bytes_atomically(image, b);

  const VerifyReport r = verify_model(o);
  ASSERT_TRUE(r.golden);
  const GoldenResult& g = *r.golden;
  EXPECT_FALSE(g.match);
  EXPECT_EQ(g.image, 2);
  EXPECT_EQ(g.layer.op, std::stoi(L[0]));
  EXPECT_EQ(g.layer.tensor, std::stoi(L[3]));
  EXPECT_EQ(g.layer.tensor_name, L[4]);
  EXPECT_EQ(uint64_t(g.index), at);
  EXPECT_EQ(g.expected, int8_t(was ^ 0x10));
  EXPECT_EQ(g.got, was);
  EXPECT_EQ(g.differing, 1);
  // The element's position from its index and the tensor's NHWC dims.
  const auto& d = files().graph.tensors[size_t(g.layer.tensor)].dims;
  const int64_t i = int64_t(at);
  EXPECT_EQ(g.position, (std::array<int32_t, 4>{int32_t(i / (int64_t(d[1]) * d[2] * d[3])),
                                                int32_t(i / (int64_t(d[2]) * d[3]) % d[1]), int32_t(i / d[3] % d[2]),
                                                int32_t(i % d[3])}));
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0], golden_mismatch_text(g));
  EXPECT_EQ(r.failures[0].rfind("golden mismatch: image 2, op " + L[0] + " '" + L[1] + "'", 0), 0u) << r.failures[0];
}

TEST(Verify, OptionsThatDoNotGoTogetherAreUsageErrors) {
  auto code = [](const VerifyOptions& o) {
    try {
      verify_model(o);
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::internal;  // not thrown
  };
  VerifyOptions o = options();
  o.data.clear();
  EXPECT_EQ(code(o), ErrorCode::usage);
  o = options();
  o.max_drop = 1;  // needs a float model
  EXPECT_EQ(code(o), ErrorCode::usage);
  o = options();
  o.samples = 2;
  o.min_agreement = 50;  // needs a float model
  EXPECT_EQ(code(o), ErrorCode::usage);
  o = options();
  o.model = files().device_fly;  // no normalisation in the file and no float model
  EXPECT_EQ(code(o), ErrorCode::usage);
}

}  // namespace
}  // namespace flynet
