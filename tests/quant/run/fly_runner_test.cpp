// FlyRunner: the exported bytes of a small FlyNet run node by node, the callback called once per
// node in order, each node's inputs and outputs then equal to IntRunner's (every tensor kept);
// the whole run equal with and without the callback; constants read in place, or absent when
// stored encoded (packed, narrow); sizes; a moved runner; a rejected file and a failing node named.
#include "flynet/quant/fly_runner.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <random>

#include "flynet/formats/error.hpp"
#include "flynet/formats/fly_file.hpp"
#include "flynet/quant/export.hpp"
#include "flynet/quant/int_runner.hpp"
#include "int_graph_builder.hpp"
#include "quant_fixtures.hpp"

namespace flynet {
namespace {

IntGraph small_graph(uint64_t seed, const QuantizeOptions& q = {}) {
  const ArchSpec s = test::small_flynet();
  std::mt19937 rng(static_cast<uint32_t>(seed));
  Model m = test::random_bn_model(s, seed, rng);
  return test::calibrated_int8(m, {test::random_batch(s, 8, rng)}, q);
}

std::vector<int8_t> random_codes(size_t n, std::mt19937& rng) {
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = int8_t(int(rng() % 256u) - 128);
  return v;
}

TEST(FlyRunner, EachNodeOnceInOrderWithTheIntRunnerTensors) {
  const IntGraph g = small_graph(51);
  const std::string bytes = export_fly(g).bytes;
  FlyRunner fly(bytes, "small.fly");
  IntRunner ref(g, /*keep_all_tensors=*/true);
  ASSERT_EQ(fly.graph().num_nodes, int32_t(g.ops.size()));
  const size_t nin = g.tensors[size_t(g.input)].bytes(), nout = g.tensors[size_t(g.output)].bytes();
  std::mt19937 rng(52);
  for (int k = 0; k < 3; ++k) {
    const std::vector<int8_t> x = random_codes(nin, rng);
    std::vector<int8_t> y_ref(nout), y_plain(nout), y_nodes(nout);
    ref.run(x.data(), y_ref.data());
    fly.run(x.data(), y_plain.data());
    std::vector<int32_t> order;
    int64_t compared = 0;
    fly.run(x.data(), y_nodes.data(), [&](int32_t node) {
      order.push_back(node);
      const IntOp& o = g.ops[size_t(node)];
      // Its outputs, and its activation inputs: still live in the plan while it runs.
      std::vector<int32_t> seen = o.outputs;
      for (int32_t t : o.inputs)
        if (t >= 0 && !g.tensors[size_t(t)].constant()) seen.push_back(t);
      for (int32_t t : seen) {
        const size_t n = g.tensors[size_t(t)].bytes();
        ASSERT_EQ(fly.tensor_bytes(t), n) << o.name;
        ASSERT_NE(fly.tensor(t), nullptr) << o.name;
        EXPECT_EQ(0, std::memcmp(fly.tensor(t), ref.tensor(t), n)) << o.name << " tensor " << g.tensors[size_t(t)].name;
        compared += int64_t(n);
      }
    });
    std::vector<int32_t> want(g.ops.size());
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(order, want);
    EXPECT_EQ(y_plain, y_ref);
    EXPECT_EQ(y_nodes, y_ref);
    EXPECT_GT(compared, int64_t(nin + nout));
  }
}

TEST(FlyRunner, SizesAndConstantsAsTheFileHoldsThem) {
  for (int levels : {0, 4}) {
    SCOPED_TRACE(levels ? "4 weight levels (packed)" : "int8 weights");
    QuantizeOptions q;
    q.weight_levels = levels;
    const IntGraph g = small_graph(53, q);
    const FlyExport e = export_fly(g);
    const FlyModel file = read_fly(e.bytes);
    const FlyRunner fly(e.bytes);
    EXPECT_EQ(fly.info().input, g.input);
    EXPECT_EQ(fly.info().output, g.output);
    EXPECT_EQ(fly.input_bytes(), g.tensors[size_t(g.input)].bytes());
    EXPECT_EQ(fly.output_bytes(), g.tensors[size_t(g.output)].bytes());
    EXPECT_EQ(fly.arena_size(), e.arena.arena_size);
    EXPECT_EQ(fly.tensor_bytes(-1), 0u);
    EXPECT_EQ(fly.tensor_bytes(int32_t(g.tensors.size())), 0u);
    int raw = 0, packed = 0, narrow = 0;
    for (size_t i = 0; i < g.tensors.size(); ++i) {
      const IntTensor& t = g.tensors[i];
      if (!t.constant()) continue;
      EXPECT_EQ(fly.tensor_bytes(int32_t(i)), t.bytes()) << t.name;
      const int32_t storage = file.storage[i].storage;
      if (storage == FLYNET_STORAGE_RAW) {
        ++raw;
        ASSERT_NE(fly.tensor(int32_t(i)), nullptr) << t.name;
        EXPECT_EQ(0, std::memcmp(fly.tensor(int32_t(i)), t.data.data(), t.bytes())) << t.name;
      } else {
        packed += storage == FLYNET_STORAGE_PACKED;
        narrow += storage == FLYNET_STORAGE_S8 || storage == FLYNET_STORAGE_S16;
        EXPECT_EQ(fly.tensor(int32_t(i)), nullptr) << t.name;  // exists only decoded, inside its node
      }
    }
    EXPECT_GT(raw, 10);
    EXPECT_GT(narrow, 10);  // int32 biases and shifts that fit 8 or 16 bits
    if (levels) {
      EXPECT_GT(packed, 10);
    } else {
      EXPECT_EQ(packed, 0);
    }
  }
}

TEST(FlyRunner, AMovedRunnerStillRuns) {
  const IntGraph g = small_graph(54);
  const std::string bytes = export_fly(g).bytes;
  std::mt19937 rng(55);
  const std::vector<int8_t> x = random_codes(g.tensors[size_t(g.input)].bytes(), rng);
  std::vector<int8_t> want(g.tensors[size_t(g.output)].bytes()), a(want.size()), b(want.size());
  IntRunner(g).run(x.data(), want.data());
  FlyRunner first(bytes);
  FlyRunner second(std::move(first));
  second.run(x.data(), a.data());
  EXPECT_EQ(a, want);
  FlyRunner third(bytes);
  third = std::move(second);
  third.run(x.data(), b.data(), [](int32_t) {});
  EXPECT_EQ(b, want);
}

TEST(FlyRunner, ARejectedFileIsAFormatErrorNamingIt) {
  const std::string bytes = export_fly(small_graph(56)).bytes;
  std::string flipped = bytes;
  flipped[bytes.size() / 2] = char(flipped[bytes.size() / 2] ^ 0x10);
  for (const std::string& bad : {std::string(), bytes.substr(0, bytes.size() - 1), flipped}) {
    try {
      FlyRunner r(bad, "bad.fly");
      ADD_FAILURE() << bad.size() << " bytes accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::format);
      EXPECT_EQ(e.file(), "bad.fly");
      EXPECT_EQ(std::string(e.what()).rfind("the .fly reader rejects the model: ", 0), 0u) << e.what();
    }
  }
}

TEST(FlyRunner, AFailingNodeIsNamed) {
  // Requantize with a shift out of range: prepare cannot see it, the kernel refuses it.
  test::IntGraphBuilder b(1);
  const int32_t x = b.input({1, 1, 1, 4}, 1.0, 0), y = b.act("y", {1, 1, 1, 4}, 1.0, 0);
  b.op(FLYNET_OP_REQUANTIZE, {x}, {y}, flynet_requantize_params{1 << 30, 1, -128, 127, FLYNET_ROUNDING_DOUBLE});
  const int32_t z = b.act("z", {1, 1, 1, 4}, 1.0, 0);
  b.op(FLYNET_OP_REQUANTIZE, {y}, {z}, flynet_requantize_params{1 << 30, 40, -128, 127, FLYNET_ROUNDING_DOUBLE});
  FlyRunner fly(export_fly(b.g).bytes, "shift.fly");
  std::vector<int8_t> in(4, 1), out(4);
  std::vector<int32_t> ran;
  for (bool by_node : {false, true}) {
    try {
      if (by_node) fly.run(in.data(), out.data(), [&](int32_t k) { ran.push_back(k); });
      else fly.run(in.data(), out.data());
      ADD_FAILURE() << "ran";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::unsupported);
      EXPECT_EQ(e.file(), "shift.fly");
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(by_node ? "the .fly model failed at node 1: " : "the .fly model failed: ", 0), 0u) << what;
    }
  }
  EXPECT_EQ(ran, std::vector<int32_t>{0});  // node 0 ran, node 1 failed
}

}  // namespace
}  // namespace flynet
