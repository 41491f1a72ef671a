// Test helpers for the layers: random tensors, a finite-difference gradient check, and a
// comparison of two tensors. The reference forward loops live in the tests themselves.
#ifndef FLYNET_TESTS_CORE_LAYERS_LAYER_CHECK_HPP_
#define FLYNET_TESTS_CORE_LAYERS_LAYER_CHECK_HPP_

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "flynet/core/layers.hpp"

namespace flynet::test {

// The shapes here are tiny: one thread avoids OpenMP wake-ups dominating on a busy machine.
inline const bool kOneThread = [] {
  set_num_threads(1);
  return true;
}();

inline Tensor random_tensor(std::vector<int64_t> shape, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  Tensor t(std::move(shape));
  std::uniform_real_distribution<float> u(lo, hi);
  for (float& v : t.data) v = u(rng);
  return t;
}

/// One layer invocation: node, inputs, parameters, context.
struct LayerCase {
  Node node;
  std::vector<Tensor> x;
  std::vector<Tensor> p;
  RunCtx ctx;

  ConstTensorPtrs xs() const {
    ConstTensorPtrs v;
    for (const Tensor& t : x) v.push_back(&t);
    return v;
  }
  TensorPtrs ps() {
    TensorPtrs v;
    for (Tensor& t : p) v.push_back(&t);
    return v;
  }
  Tensor run(Layer& l) {
    Tensor y;
    l.forward(ctx, xs(), ps(), y);
    return y;
  }
};

inline void expect_close(const Tensor& got, const Tensor& want, double tol, const char* what) {
  ASSERT_EQ(got.shape, want.shape) << what;
  int bad = 0;
  for (int64_t i = 0; i < got.numel() && bad < 5; ++i) {
    const double g = got.data[size_t(i)], w = want.data[size_t(i)];
    if (!(std::fabs(g - w) <= tol * (1.0 + std::fabs(w)))) {
      ADD_FAILURE() << what << " [" << i << "]: got " << g << " want " << w;
      ++bad;
    }
  }
}

/// Checks backward against central differences of L = sum(y * r) for every input and every
/// trainable parameter, at `positions` random entries of each (all entries when fewer).
/// `skip` may exclude an input (e.g. integer-like or kink-adjacent) by index.
inline void grad_check(LayerCase c, int positions, double eps, double tol, uint32_t seed = 7,
                       std::vector<bool> check_input = {}) {
  auto layer = make_layer(c.node);
  std::mt19937 rng(seed);
  Tensor y = c.run(*layer);
  Tensor r = random_tensor(y.shape, rng);
  std::vector<Tensor> dx(c.x.size());
  TensorPtrs dxp, dpp;
  for (size_t i = 0; i < c.x.size(); ++i) {
    dx[i] = Tensor(c.x[i].shape, 0.f);
    dxp.push_back(&dx[i]);
  }
  std::vector<Tensor> dp(c.p.size());
  for (size_t i = 0; i < c.p.size(); ++i) {
    const bool trainable = i < c.node.params.size() && c.node.params[i].trainable();
    dp[i] = Tensor(c.p[i].shape, 0.f);
    dpp.push_back(trainable ? &dp[i] : nullptr);
  }
  layer->backward(c.ctx, c.xs(), c.ps(), y, r, dxp, dpp);

  auto loss = [&]() {
    Tensor yy = c.run(*layer);
    double s = 0.0;
    for (int64_t i = 0; i < yy.numel(); ++i) s += double(yy.data[size_t(i)]) * r.data[size_t(i)];
    return s;
  };
  auto check = [&](Tensor& t, const Tensor& grad, const std::string& what) {
    std::vector<int64_t> idx;
    if (t.numel() <= positions) {
      for (int64_t i = 0; i < t.numel(); ++i) idx.push_back(i);
    } else {
      std::uniform_int_distribution<int64_t> u(0, t.numel() - 1);
      for (int k = 0; k < positions; ++k) idx.push_back(u(rng));
    }
    int bad = 0;
    for (int64_t i : idx) {
      const float keep = t.data[size_t(i)];
      t.data[size_t(i)] = keep + float(eps);
      const double lp = loss();
      t.data[size_t(i)] = keep - float(eps);
      const double lm = loss();
      t.data[size_t(i)] = keep;
      const double num = (lp - lm) / (2 * eps);
      const double ana = grad.data[size_t(i)];
      if (!(std::fabs(num - ana) <= tol * (1.0 + std::fabs(num))) && bad < 5) {
        ADD_FAILURE() << c.node.name << " " << what << "[" << i << "]: numeric " << num << " analytic " << ana;
        ++bad;
      }
    }
  };
  for (size_t i = 0; i < c.x.size(); ++i)
    if (check_input.empty() || check_input[i]) check(c.x[i], dx[i], "input" + std::to_string(i));
  for (size_t i = 0; i < c.p.size(); ++i)
    if (dpp[i]) check(c.p[i], dp[i], c.node.params[i].name);
}

}  // namespace flynet::test

#endif  // FLYNET_TESTS_CORE_LAYERS_LAYER_CHECK_HPP_
