// The .tflite size estimate, worked out by hand for one conv from the formula in tflite_size.hpp.
#include "flynet/formats/tflite_size.hpp"

#include <gtest/gtest.h>

namespace flynet {
namespace {

TEST(TfliteSize, OneConvByHand) {
  IntGraph g;
  auto add = [&](const std::string& name, int32_t type, std::array<int32_t, 4> d, size_t bytes) {
    IntTensor t;
    t.name = name;
    t.type = type;
    t.dims = d;
    t.data.assign(bytes, 1);
    g.tensors.push_back(t);
    return int32_t(g.tensors.size() - 1);
  };
  const int32_t x = add("x", 1, {1, 4, 4, 2}, 0), w = add("w", 1, {3, 1, 1, 2}, 6), b = add("b", 2, {1, 1, 1, 3}, 12),
                m = add("m", 2, {1, 1, 1, 3}, 12), s = add("s", 2, {1, 1, 1, 3}, 12), y = add("y", 1, {1, 4, 4, 3}, 0);
  g.ops.push_back(IntOp{"conv", 1, {x, w, b, m, s}, {y}, {}});
  const TfliteSize e = estimate_tflite_size(g);
  // Constant data (4-byte length + data padded to 16): w 4 + 16, b 4 + 16; m and s do not exist
  // in TFLite.
  EXPECT_EQ(e.constant_data, 40u);
  // Quantization: table 16 + scales (4 + 4c) + 4 + zero points 8c + 4; c = 1 for x and y (40
  // each), 3 for w and b (64 each).
  EXPECT_EQ(e.quantization, 208u);
  // Tensors: table 24 + shape (rank 4: 20, rank 1: 8) + name "x\0" (4 + 4) + Buffer table 8:
  // x, w, y 60 each; b (rank 1) 48.
  EXPECT_EQ(e.tensors, 228u);
  // Operator: table 20 + 3 inputs (16) + 1 output (8) + options 16 = 60; one operator code:
  // vector 8 + table 16.
  EXPECT_EQ(e.operators, 84u);
  // Fixed: 8 + Model 32 + SubGraph 24 + tensors vector 20 + buffers vector 24 + operators 8 +
  // inputs/outputs/subgraphs 24 + description 20 + metadata 12 + 24 + 20 + vtables 192.
  EXPECT_EQ(e.fixed, 408u);
  EXPECT_EQ(e.total(), 968u);
}

}  // namespace
}  // namespace flynet
