// Float FlyNet -> calibrate -> lower to int8 -> run on the C99 reference: the integer logits,
// dequantized, must track the float logits for every architecture option.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "flynet/core/net.hpp"
#include "flynet/quant/calibrate.hpp"
#include "flynet/quant/fake_quant_sim.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flynet/quant/quantize.hpp"
#include "flynet_format.h"

namespace flynet {
namespace {

// A model with non-trivial BN statistics (a fresh model's are identity) and random images.
Model make_model(const ArchSpec& spec, uint64_t seed) {
  Model m = Model::create(spec, seed);
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> pos(0.5f, 1.5f), sym(-0.3f, 0.3f);
  for (const ParamDecl& p : m.graph.all_params()) {
    Tensor& t = m.param(p.name);
    if (p.role == ParamRole::bn_gamma || p.role == ParamRole::bn_var)
      for (float& v : t.data) v = pos(rng);
    if (p.role == ParamRole::bn_beta || p.role == ParamRole::bn_mean || p.role == ParamRole::bias)
      for (float& v : t.data) v = sym(rng);
  }
  // Random-init logits are tiny next to their bias; scale fc2 up so inputs matter.
  for (float& v : m.param("fc2.weight").data) v *= 30.f;
  return m;
}

std::vector<Tensor> make_images(const ArchSpec& s, int batches, int n, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> u(-1.f, 2.f);
  std::vector<Tensor> out;
  for (int b = 0; b < batches; ++b) {
    Tensor t({n, s.in_h, s.in_w, s.in_c});
    for (float& v : t.data) v = u(rng);
    out.push_back(std::move(t));
  }
  return out;
}

struct Agreement {
  double rel_err = 0;  // ||int - float|| / ||float|| over all logits
  double argmax = 0;   // share of images with the same top-1
};

Agreement run_int_vs_float(const ArchSpec& spec, uint64_t seed, const QuantizeOptions& qo = {}, int batches = 3) {
  Model m = make_model(spec, seed);
  // Inputs in [-1, 2] normalised: tell the lowering (it quantizes the input from this).
  m.meta["data.mean"] = "0.333333333";
  m.meta["data.std"] = "0.333333333";
  const std::vector<Tensor> images = make_images(spec, batches, 8, seed + 1);
  CalibrationReport rep = calibrate(m, [&](const auto& use) { for (const Tensor& t : images) use(t); }, {});
  const IntGraph g = lower_to_int8(m, rep.calibration, qo);
  IntRunner runner(g);
  Net net(m);
  const IntTensor& in = g.tensors[size_t(g.input)];
  const IntTensor& out = g.tensors[size_t(g.output)];
  double err = 0, ref = 0;
  int same = 0, total = 0;
  for (const Tensor& batch : images) {
    const Tensor& logits = net.forward(batch, RunCtx{});
    const int64_t n = batch.shape[0], px = batch.numel() / n, C = logits.numel() / n;
    for (int64_t b = 0; b < n; ++b) {
      std::vector<int8_t> x(static_cast<size_t>(px)), y(static_cast<size_t>(C));
      for (int64_t i = 0; i < px; ++i)
        x[size_t(i)] = int8_t(std::clamp(std::round(batch.data[size_t(b * px + i)] / in.scale) + in.zero_point, -128.0, 127.0));
      runner.run(x.data(), y.data());
      int64_t ai = 0, af = 0;
      for (int64_t c = 0; c < C; ++c) {
        const double vi = (y[size_t(c)] - out.zero_point) * out.scale, vf = logits.data[size_t(b * C + c)];
        err += (vi - vf) * (vi - vf);
        ref += vf * vf;
        if (y[size_t(c)] > y[size_t(ai)]) ai = c;
        if (vf > logits.data[size_t(b * C + af)]) af = c;
      }
      same += ai == af;
      ++total;
    }
  }
  const Agreement a{std::sqrt(err / ref), double(same) / total};
  std::printf("  %s: relative logit error %.4f, top-1 agreement %.3f\n", spec.summary().c_str(), a.rel_err, a.argmax);
  return a;
}

ArchSpec small(int hw = 16, int c = 1) {
  ArchSpec s = arch_preset("flynet-h3");
  s.in_h = s.in_w = hw;
  s.in_c = c;
  return s;
}

TEST(Lower, FlyNetH3TracksFloat) {
  // Measured 1.5% relative logit error, 24/24 top-1 agreement.
  const Agreement a = run_int_vs_float(small(), 1);
  EXPECT_LT(a.rel_err, 0.05);
  EXPECT_GE(a.argmax, 0.9);
}

TEST(Lower, EveryOptionLowersAndRuns) {
  struct Case {
    const char* what;
    ArchSpec spec;
  };
  std::vector<Case> cases;
  auto with = [](auto f) {
    ArchSpec s = small();
    f(s);
    return s;
  };
  cases.push_back({"sigmoid gate", with([](ArchSpec& s) { s.gate = Gate::sigmoid; })});
  cases.push_back({"no gate", with([](ArchSpec& s) { s.gate = Gate::none; })});
  cases.push_back({"funnel max-out", with([](ArchSpec& s) { s.reduce = Reduce::funnel_maxout; })});
  cases.push_back({"sum+relu", with([](ArchSpec& s) { s.reduce = Reduce::sum_relu; })});
  cases.push_back({"conv shortcut", with([](ArchSpec& s) { s.residual = Residual::conv3x3; })});
  cases.push_back({"dw-pw shortcut", with([](ArchSpec& s) { s.residual = Residual::dw_pw; })});
  cases.push_back({"no residual", with([](ArchSpec& s) { s.residual = Residual::none; })});
  cases.push_back({"h1", with([](ArchSpec& s) { s.heads = 1; })});
  cases.push_back({"h5 w0.35", with([](ArchSpec& s) { s.heads = 5; s.width = 0.35; })});
  cases.push_back({"imagenet variant 64x64x3", with([](ArchSpec& s) { s.in_h = s.in_w = 64; s.in_c = 3; s.variant = Variant::imagenet; })});
  ArchSpec mnv3 = arch_preset("mobilenetv3-small");
  mnv3.width = 0.5;
  mnv3.in_h = mnv3.in_w = 16;
  cases.push_back({"mobilenetv3-small", mnv3});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    // Measured 0.8% .. 4.8% (funnel max-out: U is requantized into the heads' range).
    const Agreement a = run_int_vs_float(c.spec, 2, {}, 2);
    EXPECT_LT(a.rel_err, 0.1);
    EXPECT_GE(a.argmax, 0.9);
  }
}

TEST(Lower, SingleRoundingAndPerTensorAlsoRun) {
  QuantizeOptions q;
  q.rounding = FLYNET_ROUNDING_SINGLE;
  EXPECT_LT(run_int_vs_float(small(), 3, q).rel_err, 0.05);
  q = QuantizeOptions{};
  q.per_tensor = true;
  EXPECT_LT(run_int_vs_float(small(), 3, q).rel_err, 0.1);
}

// The fake-quant simulation of the lowered graph, in integer arithmetic (an independent C++
// implementation of every kernel from the spec), equals the C99 reference on whole FlyNets:
// every code of every tensor, op by op (each op fed the reference's inputs) and end to end. In
// real arithmetic it stays within a code or two of the reference op by op.
TEST(Lower, FakeQuantSimulationEqualsTheReference) {
  struct Case {
    const char* what;
    ArchSpec spec;
    QuantizeOptions q;
  };
  std::vector<Case> cases;
  auto with = [](auto f) {
    ArchSpec s = small();
    f(s);
    return s;
  };
  cases.push_back({"softmax gate, funnel max-out", with([](ArchSpec& s) { s.reduce = Reduce::funnel_maxout; }), {}});
  cases.push_back({"sigmoid gate, max-out", with([](ArchSpec& s) { s.gate = Gate::sigmoid; }), {}});
  QuantizeOptions single;
  single.rounding = FLYNET_ROUNDING_SINGLE;
  cases.push_back({"sum+relu, conv shortcut, single rounding", with([](ArchSpec& s) {
                     s.reduce = Reduce::sum_relu;
                     s.residual = Residual::conv3x3;
                   }),
                   single});
  QuantizeOptions per_tensor;
  per_tensor.per_tensor = true;
  cases.push_back({"h5 w0.35 dw-pw shortcut, per tensor", with([](ArchSpec& s) {
                     s.heads = 5;
                     s.width = 0.35;
                     s.residual = Residual::dw_pw;
                   }),
                   per_tensor});
  ArchSpec mnv3 = arch_preset("mobilenetv3-small");  // SE: hard-sigmoid gate
  mnv3.width = 0.5;
  mnv3.in_h = mnv3.in_w = 16;
  cases.push_back({"mobilenetv3-small", mnv3, {}});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Model m = make_model(c.spec, 4);
    const std::vector<Tensor> images = make_images(c.spec, 2, 8, 5);
    CalibrationReport rep = calibrate(m, [&](const auto& use) { for (const Tensor& t : images) use(t); }, {});
    const IntGraph g = lower_to_int8(m, rep.calibration, c.q);
    IntRunner ref(g, /*keep_all_tensors=*/true);
    FakeQuantSim isolated(g), e2e(g), ideal(g, SimArithmetic::real);
    const IntTensor& in = g.tensors[size_t(g.input)];
    int64_t equal = 0, total = 0, e2e_equal = 0, e2e_total = 0;
    int worst_real = 0, same_top1 = 0;
    const int64_t px = images[0].numel() / 8;
    for (const Tensor& batch : images)
      for (int b = 0; b < 8; ++b) {
        std::vector<int8_t> x(static_cast<size_t>(px)), y(10);
        for (int64_t i = 0; i < px; ++i)
          x[size_t(i)] = int8_t(std::clamp(std::round(batch.data[size_t(b * px + i)] / in.scale) + in.zero_point, -128.0, 127.0));
        ref.run(x.data(), y.data());
        isolated.run_isolated([&](int32_t t) { return ref.tensor(t); },
                              [&](const IntOp& o, int32_t t, const std::vector<int32_t>& q) {
                                const int8_t* r = ref.tensor(t);
                                for (size_t i = 0; i < q.size(); ++i) {
                                  ++total;
                                  if (q[i] == r[i])
                                    ++equal;
                                  else if (total - equal <= 5)
                                    ADD_FAILURE() << o.name << " element " << i << ": reference " << int(r[i])
                                                  << ", simulation " << q[i];
                                }
                              });
        ideal.run_isolated([&](int32_t t) { return ref.tensor(t); },
                           [&](const IntOp&, int32_t t, const std::vector<int32_t>& q) {
                             const int8_t* r = ref.tensor(t);
                             for (size_t i = 0; i < q.size(); ++i) worst_real = std::max(worst_real, std::abs(q[i] - r[i]));
                           });
        e2e.run(x.data());
        for (const IntOp& o : g.ops)
          for (int32_t t : o.outputs) {
            const int8_t* r = ref.tensor(t);
            const std::vector<int32_t>& q = e2e.codes(t);
            for (size_t i = 0; i < q.size(); ++i) e2e_equal += q[i] == r[i];
            e2e_total += int64_t(q.size());
          }
        const auto& ql = e2e.codes(g.output);
        same_top1 += std::max_element(y.begin(), y.end()) - y.begin() == std::max_element(ql.begin(), ql.end()) - ql.begin();
      }
    std::printf("  %s: op by op %lld/%lld codes equal, end to end %lld/%lld, top-1 %d/16; real arithmetic op by op "
                "within %d codes\n",
                c.what, (long long)equal, (long long)total, (long long)e2e_equal, (long long)e2e_total, same_top1, worst_real);
    EXPECT_EQ(equal, total);
    EXPECT_EQ(e2e_equal, e2e_total);
    EXPECT_EQ(same_top1, 16);
    // Measured: 1 code (double rounding, fixed-point sigmoid/softmax, integer root, 16-bit hard-swish).
    EXPECT_LE(worst_real, 2);
  }
}

TEST(Lower, MissingCalibrationIsAClearError) {
  const Model m = Model::create(small(), 1);
  try {
    lower_to_int8(m, Calibration{}, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "no calibration range for 'b0.eca': run flynet calibrate first");
  }
}

// An even level count above 128 has codes up to L - 1 > 127: the lowering used to fall back
// to plain int8 while recording L levels; now it refuses before lowering anything.
TEST(Lower, RefusesWeightLevelsWhoseCodesInt8CannotHold) {
  const Model m = Model::create(small(), 1);
  for (int levels : {130, 256, 300, -2}) {
    QuantizeOptions q;
    q.weight_levels = levels;
    try {
      lower_to_int8(m, Calibration{}, q);
      ADD_FAILURE() << levels << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::usage) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("weight levels " + std::to_string(levels) + ": ", 0), 0u) << e.what();
    }
  }
}

}  // namespace
}  // namespace flynet
