#include "flynet/core/arch.hpp"

#include <gtest/gtest.h>

#include "flynet/formats/error.hpp"

namespace flynet {
namespace {

TEST(Arch, MakeDivisibleMatchesTorchvisionRule) {
  // new = max(8, int(v + 4) // 8 * 8), +8 if new < 0.9 v; values worked by hand.
  EXPECT_EQ(make_divisible(16 * 0.5), 8);
  EXPECT_EQ(make_divisible(16 * 0.4), 8);     // 6.4 -> 8 (the minimum)
  EXPECT_EQ(make_divisible(24 * 0.5), 16);    // 12 -> int(16)//8*8 = 16
  EXPECT_EQ(make_divisible(40 * 0.5), 24);    // 20 -> 24
  EXPECT_EQ(make_divisible(8 * 4.5), 40);     // 36 -> 40
  EXPECT_EQ(make_divisible(96 * 0.75), 72);   // 72
  EXPECT_EQ(make_divisible(19.0), 24);        // 23 // 8 * 8 = 16 < 17.1 -> 24
  EXPECT_EQ(make_divisible(1024 * 0.5), 512);
}

TEST(Arch, EcaKernelSize) {
  EXPECT_EQ(eca_kernel_size(8), 3);
  EXPECT_EQ(eca_kernel_size(127), 3);
  EXPECT_EQ(eca_kernel_size(128), 5);
  EXPECT_EQ(eca_kernel_size(2047), 5);
  EXPECT_EQ(eca_kernel_size(2048), 7);
}

TEST(Arch, MapRoundTrip) {
  ArchSpec s = arch_preset("flynet-h3");
  s.width = 0.75;
  s.heads = 5;
  s.gate = Gate::sigmoid;
  s.reduce = Reduce::funnel_maxout;
  s.residual = Residual::dw_pw;
  s.in_h = 32;
  s.in_w = 40;
  s.in_c = 3;
  s.classes = 100;
  EXPECT_EQ(ArchSpec::from_map(s.to_map()), s);
  EXPECT_EQ(ArchSpec::from_map(arch_preset("mobilenetv3-small").to_map()), arch_preset("mobilenetv3-small"));
}

TEST(Arch, UnknownChoiceNamesTheValidOnes) {
  try {
    parse_choice(kGateChoices, "tanh", "gate");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "unknown gate 'tanh' (expected softmax|sigmoid|none)");
    EXPECT_EQ(e.code(), ErrorCode::usage);
  }
}

TEST(Arch, InputShapeParsing) {
  int h, w, c;
  parse_input_shape("224x224x3", h, w, c);
  EXPECT_EQ(h, 224);
  EXPECT_EQ(w, 224);
  EXPECT_EQ(c, 3);
  for (const char* bad : {"28x28", "28x28x1x", "axbxc", "28x28x", ""})
    EXPECT_THROW(parse_input_shape(bad, h, w, c), Error) << bad;
}

TEST(Arch, ValidationRejectsOutOfRange) {
  ArchSpec s;
  s.width = 1.5;
  EXPECT_THROW(s.validate(), Error);
  s = ArchSpec{};
  s.heads = 6;
  EXPECT_THROW(s.validate(), Error);
  s = ArchSpec{};
  s.classes = 1;
  EXPECT_THROW(s.validate(), Error);
  EXPECT_THROW(arch_preset("resnet"), Error);
}

TEST(Arch, SmallVariantIsAutomaticForSmallInputs) {
  ArchSpec s;
  EXPECT_TRUE(s.small_input());
  s.in_h = s.in_w = 224;
  EXPECT_FALSE(s.small_input());
  s.variant = Variant::small;
  EXPECT_TRUE(s.small_input());
}

}  // namespace
}  // namespace flynet
