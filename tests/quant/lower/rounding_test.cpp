// `flynet quantize --rounding single` reaches every op record: FlyNet lowered with each of its
// options (together every op kind the lowering produces) with QuantizeOptions::rounding single
// and with the default; every op whose flynet_format.h parameter record has a rounding field
// says single, or double for the default, in the IntGraph, after the .q.h5 file quantize writes
// and export reads, and in the node records the C reader loads from the exported .fly.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "flynet/formats/h5_store.hpp"
#include "flynet/formats/int_graph.hpp"
#include "flynet/quant/calibrate.hpp"
#include "flynet/quant/export.hpp"
#include "flynet/quant/fly_runner.hpp"
#include "flynet/quant/quantize.hpp"
#include "flynet_format.h"
#include "quant_fixtures.hpp"

namespace flynet {
namespace {

template <class P>
int32_t field(const void* record) {
  P p;
  std::memcpy(&p, record, sizeof p);
  return p.rounding;
}

// The rounding field of an op's parameter record, read through the record's own struct; none
// for the ops whose record has no such field (pools, softmax, hard-swish, data movement).
std::optional<int32_t> rounding_field(int32_t op, const void* record) {
  switch (op) {
    case FLYNET_OP_CONV2D:
    case FLYNET_OP_DEPTHWISE_CONV2D: return field<flynet_conv2d_params>(record);
    case FLYNET_OP_FULLY_CONNECTED: return field<flynet_fully_connected_params>(record);
    case FLYNET_OP_ADD: return field<flynet_add_params>(record);
    case FLYNET_OP_MUL: return field<flynet_mul_params>(record);
    case FLYNET_OP_LOGISTIC: return field<flynet_logistic_params>(record);
    case FLYNET_OP_HARD_SIGMOID: return field<flynet_hard_sigmoid_params>(record);
    case FLYNET_OP_REQUANTIZE: return field<flynet_requantize_params>(record);
    case FLYNET_OP_VAECA_DESCRIPTOR: return field<flynet_vaeca_descriptor_params>(record);
    case FLYNET_OP_ECA_CONV1D: return field<flynet_eca_conv1d_params>(record);
    default: return std::nullopt;
  }
}

// Checks every op of `g` and returns the op kinds that carry the field.
std::set<int32_t> expect_rounding(const IntGraph& g, int32_t want, const char* where) {
  std::set<int32_t> kinds;
  for (const IntOp& o : g.ops) {
    // At least the record's words (MAXIMUM, which has none, carries one reserved word).
    EXPECT_GE(o.params.size(), size_t(flynet_op_param_words(o.op))) << where << ": " << o.name;
    if (o.params.size() < size_t(flynet_op_param_words(o.op))) continue;
    const std::optional<int32_t> r = rounding_field(o.op, o.params.data());
    if (!r) continue;
    kinds.insert(o.op);
    EXPECT_EQ(*r, want) << where << ": " << o.name << " (op " << o.op << ")";
  }
  return kinds;
}

TEST(Rounding, TheChosenModeReachesEveryOpRecord) {
  std::vector<test::NamedArch> archs{{"flynet-h3", test::small_flynet()}};
  for (const test::NamedArch& a : test::arch_options()) archs.push_back(a);
  const std::string file = (std::filesystem::temp_directory_path() /
                            ("flynet-rounding-" + std::to_string(::getpid()) + ".q.h5")).string();
  std::set<int32_t> kinds;
  int64_t records = 0;
  uint64_t seed = 60;
  for (const test::NamedArch& a : archs) {
    SCOPED_TRACE(a.what);
    Model m = test::random_bn_model(a.spec, ++seed);
    const std::vector<Tensor> images = test::random_images(a.spec, 1, 8, seed + 100);
    const Calibration cal = calibrate(m, test::batches_of(images), {}).calibration;
    for (const auto& [name, want] : {std::pair{"single", FLYNET_ROUNDING_SINGLE}, std::pair{"double", FLYNET_ROUNDING_DOUBLE}}) {
      SCOPED_TRACE(name);
      QuantizeOptions q;  // the default: double
      if (want == FLYNET_ROUNDING_SINGLE) q.rounding = FLYNET_ROUNDING_SINGLE;
      const IntGraph g = lower_to_int8(m, cal, q);
      EXPECT_EQ(g.meta.at("quant.rounding"), name);
      const std::set<int32_t> k = expect_rounding(g, want, "lowered graph");
      kinds.insert(k.begin(), k.end());

      // What quantize writes and export reads.
      save_model_h5(int_graph_to_record(g), file);
      const IntGraph back = int_graph_from_record(load_model_h5(file), file);
      expect_rounding(back, want, ".q.h5");

      // The records the C reader hands the kernels.
      const FlyRunner fly(export_fly(back).bytes);
      const flyref_graph& fg = fly.graph();
      ASSERT_EQ(fg.num_nodes, int32_t(g.ops.size()));
      for (int32_t n = 0; n < fg.num_nodes; ++n) {
        EXPECT_EQ(fg.nodes[n].op, g.ops[size_t(n)].op);
        const std::optional<int32_t> r = rounding_field(fg.nodes[n].op, fg.nodes[n].params);
        if (!r) continue;
        EXPECT_EQ(*r, want) << ".fly node " << n << ": " << g.ops[size_t(n)].name;
        ++records;
      }
    }
  }
  std::filesystem::remove(file);
  // Together the options produce every op kind with a rounding field.
  EXPECT_EQ(kinds, (std::set<int32_t>{FLYNET_OP_CONV2D, FLYNET_OP_DEPTHWISE_CONV2D, FLYNET_OP_FULLY_CONNECTED,
                                      FLYNET_OP_ADD, FLYNET_OP_MUL, FLYNET_OP_LOGISTIC, FLYNET_OP_HARD_SIGMOID,
                                      FLYNET_OP_REQUANTIZE, FLYNET_OP_VAECA_DESCRIPTOR, FLYNET_OP_ECA_CONV1D}));
  std::printf("  %zu architectures x 2 modes: %lld .fly node records with a rounding field checked\n", archs.size(),
              (long long)records);
}

}  // namespace
}  // namespace flynet
