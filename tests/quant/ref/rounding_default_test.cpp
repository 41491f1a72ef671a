// Built against flyref compiled with -DFLYREF_USE_SINGLE_ROUNDING: FLYNET_ROUNDING_DEFAULT (0)
// then means single rounding, and explicit modes are unaffected.
#include <gtest/gtest.h>

#include "flyref.h"
#include "test_util.hpp"

namespace {

TEST(CompileTimeDefaultRounding, SingleWhenBuiltWithTheSwitch) {
  ASSERT_EQ(FLYREF_DEFAULT_ROUNDING, FLYNET_ROUNDING_SINGLE);
  // -2 * 2^30 * 2^-32 = -0.5: single rounds up to 0, double away from zero to -1.
  EXPECT_EQ(flyref_requantize(-2, 1 << 30, -1, FLYNET_ROUNDING_DEFAULT), 0);
  EXPECT_EQ(flyref_requantize(-2, 1 << 30, -1, FLYNET_ROUNDING_DOUBLE), -1);
  // A kernel with rounding 0 follows the build default too (the conv golden of conv_test).
  fr_test::HandWorkedConv c;
  std::vector<int8_t> y;
  ASSERT_EQ(c.run(FLYNET_ROUNDING_DEFAULT, &y), FLYREF_OK);
  EXPECT_EQ(y[0], 3);  // double would give 2
  EXPECT_EQ(y[1], 4);
  EXPECT_EQ(y[2], 6);
  EXPECT_EQ(y[3], 7);
}

}  // namespace
