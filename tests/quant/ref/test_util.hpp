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
  flyref_conv_params p{};
  p.input_offset = c.in_off;
  p.output_offset = c.out_off;
  p.stride_h = c.sh;
  p.stride_w = c.sw;
  p.pad_h = c.ph;
  p.pad_w = c.pw;
  p.dilation_h = c.dh;
  p.dilation_w = c.dw;
  p.activation = {c.amin, c.amax};
  p.rounding = rounding_of(c.single);
  return p;
}

/// The naive VA-ECA settings of kernel parameters.
inline naive::VaecaCfg vaeca_cfg(const flyref_vaeca_descriptor_params& p) {
  naive::VaecaCfg c;
  c.in_off = p.input_offset;
  c.mean_off = p.mean_offset;
  c.std_off = p.std_offset;
  c.mean_m = p.mean_multiplier;
  c.mean_s = p.mean_shift;
  c.std_m = p.std_multiplier;
  c.std_s = p.std_shift;
  c.frac = p.sqrt_frac_bits;
  c.eps_q = p.eps_q;
  c.single = p.rounding == FLYNET_ROUNDING_SINGLE;
  return c;
}
inline naive::EcaCfg eca_cfg(const flyref_eca_conv1d_params& p) {
  naive::EcaCfg c;
  c.heads = p.heads;
  c.mean_off = p.mean_offset;
  c.std_off = p.std_offset;
  c.mean_m = p.mean_multiplier;
  c.mean_s = p.mean_shift;
  c.std_m = p.std_multiplier;
  c.std_s = p.std_shift;
  c.sum_shift = p.sum_shift;
  c.out_off = p.output_offset;
  c.amin = p.activation.min;
  c.amax = p.activation.max;
  c.single = p.rounding == FLYNET_ROUNDING_SINGLE;
  return c;
}

}  // namespace fr_test

#endif  // FLYNET_TESTS_QUANT_REF_TEST_UTIL_HPP_
