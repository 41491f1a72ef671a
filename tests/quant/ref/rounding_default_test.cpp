// Built against flyref compiled with -DFLYREF_USE_SINGLE_ROUNDING: FLYNET_ROUNDING_DEFAULT (0)
// then means single rounding, and explicit modes are unaffected.
#include <gtest/gtest.h>

#include "flyref.h"

namespace {

TEST(CompileTimeDefaultRounding, SingleWhenBuiltWithTheSwitch) {
  ASSERT_EQ(FLYREF_DEFAULT_ROUNDING, FLYNET_ROUNDING_SINGLE);
  // -2 * 2^30 * 2^-32 = -0.5: single rounds up to 0, double away from zero to -1.
  EXPECT_EQ(flyref_requantize(-2, 1 << 30, -1, FLYNET_ROUNDING_DEFAULT), 0);
  EXPECT_EQ(flyref_requantize(-2, 1 << 30, -1, FLYNET_ROUNDING_DOUBLE), -1);
  // A kernel with rounding 0 follows the build default too (same numbers as the conv golden).
  const int8_t x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  int8_t w[9], y[4], scratch[9];
  for (auto& v : w) v = 1;
  const int32_t bias = -18, mult = 1 << 30, shift = -1;
  const flyref_dims in{1, 3, 3, 1}, f{1, 3, 3, 1}, out{1, 2, 2, 1};
  flyref_conv_params p{};
  p.input_offset = 1;
  p.output_offset = 3;
  p.stride_h = p.stride_w = 2;
  p.pad_h = p.pad_w = 1;
  p.dilation_h = p.dilation_w = 1;
  p.activation = {-128, 127};
  p.rounding = FLYNET_ROUNDING_DEFAULT;
  const flyref_quant_params q{&mult, &shift, 1};
  flyref_context ctx{scratch, 9};
  ASSERT_EQ(flyref_conv2d_s8(&ctx, &p, &q, &in, x, &f, w, &bias, &out, y), FLYREF_OK);
  EXPECT_EQ(y[0], 3);  // double would give 2
  EXPECT_EQ(y[1], 4);
  EXPECT_EQ(y[2], 6);
  EXPECT_EQ(y[3], 7);
}

}  // namespace
