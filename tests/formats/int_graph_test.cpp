#include "flynet/formats/int_graph.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "flynet/formats/error.hpp"
#include "flynet/formats/h5_store.hpp"

namespace flynet {
namespace {

IntGraph sample() {
  IntGraph g;
  g.meta["arch.width"] = "0.5";
  IntTensor x{"input", 1, {1, 4, 4, 2}, -3, 0.02, {}, 0, {}};
  IntTensor w{"conv.w", 1, {3, 1, 1, 2}, 0, 0, {0.5, 0.25, 0.125}, 8, {1, 2, 3, 4, 0xff, 0x80}};
  IntTensor b{"conv.b", 2, {1, 1, 1, 3}, 0, 0, {}, 0, {1, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}};
  IntTensor y{"conv.out", 1, {1, 4, 4, 3}, 5, 0.1, {}, 0, {}};
  g.input = g.add_tensor(x);
  const int32_t wi = g.add_tensor(w), bi = g.add_tensor(b);
  g.output = g.add_tensor(y);
  IntOp op{"conv", 1, {g.input, wi, bi, -1, -1}, {g.output}, {1, 1, 0, 0, 1, 1, -128, 127, 1}};
  g.ops.push_back(op);
  g.ops.push_back(IntOp{"", 18, {g.output}, {g.output}, {}});
  return g;
}

TEST(IntGraph, RecordAndHdf5RoundTrip) {
  const IntGraph g = sample();
  EXPECT_EQ(int_graph_from_record(int_graph_to_record(g), "x"), g);
  const std::string p = (std::filesystem::temp_directory_path() / "flynet_int_graph.h5").string();
  save_model_h5(int_graph_to_record(g), p);
  const ModelRecord back = load_model_h5(p);
  EXPECT_TRUE(is_int_graph(back));
  EXPECT_EQ(int_graph_from_record(back, p), g);
  std::filesystem::remove(p);
}

TEST(IntGraph, ParamsRecordRoundTrip) {
  struct P {
    int32_t a, b, c;
  };
  IntOp o;
  o.set_params(P{7, -8, 9});
  EXPECT_EQ(o.params, (std::vector<int32_t>{7, -8, 9}));
  const P p = o.get_params<P>();
  EXPECT_EQ(p.b, -8);
}

TEST(IntGraph, FloatModelIsRejected) {
  ModelRecord r;
  r.arch["arch"] = "flynet";
  try {
    int_graph_from_record(r, "m.h5");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "not a quantized (int8) model (m.h5)");
  }
}

TEST(IntGraph, CorruptionsAreFormatErrors) {
  const ModelRecord good = int_graph_to_record(sample());
  {
    ModelRecord r = good;
    for (TensorRecord& t : r.tensors)
      if (t.name == "graph.op_io") reinterpret_cast<int32_t*>(t.data.data())[0] = 99;
    EXPECT_THROW(int_graph_from_record(r, "m"), Error);
  }
  {
    ModelRecord r = good;
    for (TensorRecord& t : r.tensors)
      if (t.name == "const.1") t.data.pop_back();
    EXPECT_THROW(int_graph_from_record(r, "m"), Error);
  }
  {
    ModelRecord r = good;
    for (TensorRecord& t : r.tensors)
      if (t.name == "graph.op_params_offsets") reinterpret_cast<int32_t*>(t.data.data())[1] = 1000;
    EXPECT_THROW(int_graph_from_record(r, "m"), Error);
  }
  {
    ModelRecord r = good;
    std::erase_if(r.tensors, [](const TensorRecord& t) { return t.name == "graph.op_codes"; });
    EXPECT_THROW(int_graph_from_record(r, "m"), Error);
  }
}

}  // namespace
}  // namespace flynet
