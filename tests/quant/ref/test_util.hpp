// Small helpers shared by the flyref tests.
#ifndef FLYNET_TESTS_QUANT_REF_TEST_UTIL_HPP_
#define FLYNET_TESTS_QUANT_REF_TEST_UTIL_HPP_

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "flyref.h"
#include "naive_ref.hpp"

namespace fr_test {

inline flyref_dims D(int n, int h, int w, int c) { return flyref_dims{n, h, w, c}; }
inline flyref_dims D(const naive::Dims& d) { return flyref_dims{d.n, d.h, d.w, d.c}; }

/// Element-by-element comparison that names the first mismatching position.
inline ::testing::AssertionResult same(const std::vector<int8_t>& got, const std::vector<int8_t>& want) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << "size " << got.size() << " vs " << want.size();
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i])
      return ::testing::AssertionFailure() << "pos " << i << ": actual " << int(got[i]) << ", expected " << int(want[i]);
  return ::testing::AssertionSuccess();
}

/// A zero point at either end of the range most of the time, random otherwise.
inline int zero_point(naive::Rng& r) {
  switch (r.uni(0, 4)) {
    case 0: return -128;
    case 1: return 127;
    case 2: return 0;
    default: return static_cast<int>(r.uni(-128, 127));
  }
}

inline int rounding_of(bool single) { return single ? FLYNET_ROUNDING_SINGLE : FLYNET_ROUNDING_DOUBLE; }

/// Random clamp: mostly full range, sometimes a ReLU-like or narrow window.
inline void clamps(naive::Rng& r, int* lo, int* hi) {
  *lo = -128;
  *hi = 127;
  if (r.uni(0, 2) == 0) {
    *lo = static_cast<int>(r.uni(-128, 20));
    *hi = static_cast<int>(r.uni(*lo, 127));
  }
}

/// The kernel parameters of a naive convolution's settings.
inline flyref_conv_params conv_params(const naive::ConvCfg& c) {
  return {.input_offset = c.in_off, .output_offset = c.out_off, .stride_h = c.sh, .stride_w = c.sw,
          .pad_h = c.ph, .pad_w = c.pw, .dilation_h = c.dh, .dilation_w = c.dw,
          .activation = {c.amin, c.amax}, .rounding = rounding_of(c.single)};
}

/// Convolution parameters with unit strides and dilations, no padding, no offsets, full clamp.
inline flyref_conv_params unit_conv_params() {
  flyref_conv_params p{};
  p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
  p.activation = {-128, 127};
  return p;
}

/// The hand-worked convolution of conv_test (the arithmetic is worked there): x = 1..9 as a
/// 3x3 map with input offset 1, an all-ones 3x3 filter, pad 1, stride 2, bias -18, multiplier
/// x0.25 (2^30, shift -1), output offset 3.
struct HandWorkedConv {
  std::vector<int8_t> x{1, 2, 3, 4, 5, 6, 7, 8, 9}, w = std::vector<int8_t>(9, 1);
  int32_t bias = -18, mult = 1 << 30, shift = -1;
  flyref_dims in{1, 3, 3, 1}, f{1, 3, 3, 1}, out{1, 2, 2, 1};
  flyref_conv_params p = unit_conv_params();
  HandWorkedConv() {
    p.input_offset = 1;
    p.output_offset = 3;
    p.stride_h = p.stride_w = 2;
    p.pad_h = p.pad_w = 1;
  }
  flyref_status run(int32_t rounding, std::vector<int8_t>* y) {
    p.rounding = rounding;
    const flyref_quant_params q{&mult, &shift, 1};
    int8_t scratch[9];
    flyref_context ctx{scratch, 9};
    y->assign(4, 0);
    return flyref_conv2d_s8(&ctx, &p, &q, &in, x.data(), &f, w.data(), &bias, &out, y->data());
  }
};

/// The naive VA-ECA settings of kernel parameters.
inline naive::VaecaCfg vaeca_cfg(const flyref_vaeca_descriptor_params& p) {
  return {.in_off = p.input_offset, .mean_off = p.mean_offset, .std_off = p.std_offset,
          .mean_m = p.mean_multiplier, .mean_s = p.mean_shift, .std_m = p.std_multiplier, .std_s = p.std_shift,
          .frac = p.sqrt_frac_bits, .eps_q = p.eps_q, .single = p.rounding == FLYNET_ROUNDING_SINGLE};
}
inline naive::EcaCfg eca_cfg(const flyref_eca_conv1d_params& p) {
  return {.heads = p.heads, .mean_off = p.mean_offset, .std_off = p.std_offset,
          .mean_m = p.mean_multiplier, .mean_s = p.mean_shift, .std_m = p.std_multiplier, .std_s = p.std_shift,
          .sum_shift = p.sum_shift, .out_off = p.output_offset, .amin = p.activation.min, .amax = p.activation.max,
          .single = p.rounding == FLYNET_ROUNDING_SINGLE};
}
/// The same for a graph's records, whose offsets come from the zero points of the tensors.
inline naive::VaecaCfg vaeca_cfg(const flynet_vaeca_descriptor_params& p, int zp_in, int zp_mean, int zp_std) {
  return {.in_off = -zp_in, .mean_off = zp_mean, .std_off = zp_std,
          .mean_m = p.mean_multiplier, .mean_s = p.mean_shift, .std_m = p.std_multiplier, .std_s = p.std_shift,
          .frac = p.sqrt_frac_bits, .eps_q = uint64_t{p.eps_q_hi} << 32 | p.eps_q_lo,
          .single = p.rounding == FLYNET_ROUNDING_SINGLE};
}
inline naive::EcaCfg eca_cfg(const flynet_eca_conv1d_params& p, int zp_mean, int zp_std, int zp_out) {
  return {.heads = p.heads, .mean_off = -zp_mean, .std_off = -zp_std,
          .mean_m = p.mean_multiplier, .mean_s = p.mean_shift, .std_m = p.std_multiplier, .std_s = p.std_shift,
          .sum_shift = p.sum_shift, .out_off = zp_out, .amin = p.act_min, .amax = p.act_max,
          .single = p.rounding == FLYNET_ROUNDING_SINGLE};
}

/// Runs the VA-ECA descriptor kernel on z (outputs in *mean, *sd, pre-filled with 0x55) and
/// compares both outputs with the naive definition.
inline ::testing::AssertionResult descriptor_matches_naive(const flyref_vaeca_descriptor_params& p,
                                                           const naive::Dims& d, const std::vector<int8_t>& z,
                                                           std::vector<int8_t>* mean, std::vector<int8_t>* sd) {
  std::vector<int8_t> want_m, want_s;
  naive::vaeca_descriptor(vaeca_cfg(p), d, z, &want_m, &want_s);
  mean->assign(want_m.size(), 0x55);
  sd->assign(want_s.size(), 0x55);
  const flyref_dims dd = D(d);
  const flyref_status st = flyref_vaeca_descriptor_s8(&p, &dd, z.data(), mean->data(), sd->data());
  if (st != FLYREF_OK) return ::testing::AssertionFailure() << "status " << flyref_status_str(st);
  if (auto r = same(*mean, want_m); !r) return ::testing::AssertionFailure() << "mean, " << r.message();
  if (auto r = same(*sd, want_s); !r) return ::testing::AssertionFailure() << "std, " << r.message();
  return ::testing::AssertionSuccess();
}

/// Runs flyref_max_group_s8 with g heads on random codes (drawn from r) whose output map is o,
/// and compares with the naive max over each group.
inline ::testing::AssertionResult max_group_matches_naive(naive::Rng& r, int g, const naive::Dims& o) {
  naive::Dims in = o;
  in.c = o.c * g;
  const auto x = r.s8(in.count());
  const auto want = naive::max_group(x, o, g);
  std::vector<int8_t> got(o.count(), 0x55);
  const flyref_dims din = D(in), dout = D(o);
  const flyref_status st = flyref_max_group_s8(g, &din, x.data(), &dout, got.data());
  if (st != FLYREF_OK) return ::testing::AssertionFailure() << "status " << flyref_status_str(st);
  return same(got, want);
}

}  // namespace fr_test

#endif  // FLYNET_TESTS_QUANT_REF_TEST_UTIL_HPP_
