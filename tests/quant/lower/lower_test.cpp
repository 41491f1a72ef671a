// Float FlyNet -> calibrate -> lower to int8 -> run on the C99 reference: the integer logits,
// dequantized, must track the float logits for every architecture option.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>

#include "flynet/core/net.hpp"
#include "flynet/quant/calibrate.hpp"
#include "flynet/quant/fake_quant_sim.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flynet/quant/quantize.hpp"
#include "flynet_format.h"
#include "quant_fixtures.hpp"

namespace flynet {
namespace {

using Agreement = test::LogitAgreement;

Agreement run_int_vs_float(const ArchSpec& spec, uint64_t seed, const QuantizeOptions& qo = {}, int batches = 3) {
  Model m = test::random_bn_model(spec, seed);
  const std::vector<Tensor> images = test::random_images(spec, batches, 8, seed + 1);
  const IntGraph g = test::calibrated_int8(m, images, qo);
  const Agreement a = test::int8_vs_float(m, g, images);
  std::printf("  %s: relative logit error %.4f, top-1 agreement %.3f\n", spec.summary().c_str(), a.rel_err, a.argmax);
  return a;
}

ArchSpec small() { return test::small_flynet(); }

TEST(Lower, FlyNetH3TracksFloat) {
  // Measured 1.5% relative logit error, 24/24 top-1 agreement.
  const Agreement a = run_int_vs_float(small(), 1);
  EXPECT_LT(a.rel_err, 0.05);
  EXPECT_GE(a.argmax, 0.9);
}

TEST(Lower, EveryOptionLowersAndRuns) {
  for (const test::NamedArch& c : test::arch_options()) {
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
  cases.push_back({"mobilenetv3-small", test::small_mobilenet(), {}});  // SE: hard-sigmoid gate
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Model m = test::random_bn_model(c.spec, 4);
    const std::vector<Tensor> images = test::random_images(c.spec, 2, 8, 5);
    const IntGraph g = test::calibrated_int8(m, images, c.q);
    IntRunner ref(g, /*keep_all_tensors=*/true);
    FakeQuantSim isolated(g), e2e(g), ideal(g, SimArithmetic::real);
    const IntTensor& in = g.tensors[size_t(g.input)];
    int64_t equal = 0, total = 0, e2e_equal = 0, e2e_total = 0;
    int worst_real = 0, same_top1 = 0;
    const int64_t px = images[0].numel() / 8;
    for (const Tensor& batch : images)
      for (int b = 0; b < 8; ++b) {
        const std::vector<int8_t> x = test::quantize_pixels(in, batch.ptr() + b * px, px);
        std::vector<int8_t> y(10);
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
