// The C reader of .fly files (flyref_model.h) and the interpreter's decoding of packed and
// narrow constants. Files come from the C++ writer (formats/fly_file.hpp, whose bytes are
// checked by hand in tests/formats/fly_file_test.cpp); CRCs are recomputed with zlib.
//
// Also built with -fsanitize=address,undefined (ctest flyref_model_asan): every buffer handed to
// the reader is a fresh allocation of exactly the size given, so a read past it is reported.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <memory>
#include <random>
#include <set>

#include "flynet/formats/fly_file.hpp"
#include "flyref_model.h"

namespace {

using flynet::FlyPlan;
using flynet::IntGraph;
using flynet::IntOp;
using flynet::IntTensor;

// ------------------------------------------------------------------------------ test graphs

struct Maker {
  IntGraph g;
  std::mt19937 rng{5};
  int32_t act(std::array<int32_t, 4> d, int32_t zp, double scale = 0.0) {
    IntTensor t;
    t.dims = d;
    t.zero_point = zp;
    t.scale = scale;
    return g.add_tensor(t);
  }
  int32_t i8(std::array<int32_t, 4> d, const std::vector<int>& codes) {
    IntTensor t;
    t.dims = d;
    for (int64_t k = 0; k < t.numel(); ++k) t.data.push_back(uint8_t(int8_t(codes[rng() % codes.size()])));
    return g.add_tensor(t);
  }
  int32_t i32(const std::vector<int32_t>& v) {
    IntTensor t;
    t.type = FLYNET_TYPE_INT32;
    t.dims = {1, 1, 1, int32_t(v.size())};
    t.data.resize(4 * v.size());
    std::memcpy(t.data.data(), v.data(), t.data.size());
    return g.add_tensor(t);
  }
  std::vector<int32_t> mults(int n) {
    std::vector<int32_t> v;
    for (int i = 0; i < n; ++i) v.push_back(int32_t((1u << 30) + rng() % (1u << 30)));
    return v;
  }
  std::vector<int32_t> shifts(int n, int lo, int hi) {
    std::vector<int32_t> v;
    for (int i = 0; i < n; ++i) v.push_back(lo + int32_t(rng() % uint32_t(hi - lo + 1)));
    return v;
  }
  template <class P>
  void op(int32_t code, std::vector<int32_t> in, std::vector<int32_t> out, const P* p) {
    IntOp o;
    o.op = code;
    o.inputs = std::move(in);
    o.outputs = std::move(out);
    if (p) o.set_params(*p);
    g.ops.push_back(o);
  }
};

// Every storage and the packed FC:
//   conv 3x3 (2-bit packed weights, S8 shifts, scratch) -> global avg pool -> FC (raw weights,
//   no bias, per-tensor mult and S8 shift) -> gather (S16 indices) -> FC (2-bit packed weights,
//   read as stored) -> MAXIMUM (no parameter record).
IntGraph zoo() {
  Maker m;
  std::vector<int> all;
  for (int v = -127; v <= 127; ++v) all.push_back(v);
  const std::vector<int> four = {-3, -1, 1, 3};
  const int32_t x = m.act({1, 6, 6, 3}, -5, 0.05);
  const int32_t w1 = m.i8({8, 3, 3, 3}, four), b1 = m.i32(m.shifts(8, -3000, 3000)), m1 = m.i32(m.mults(8)),
                s1 = m.i32(m.shifts(8, -9, -4));
  const int32_t y1 = m.act({1, 6, 6, 8}, 2);
  const flynet_conv2d_params pc{1, 1, 1, 1, 1, 1, -128, 127, FLYNET_ROUNDING_DOUBLE};
  m.op(FLYNET_OP_CONV2D, {x, w1, b1, m1, s1}, {y1}, &pc);
  const int32_t y2 = m.act({1, 1, 1, 8}, 2);
  const flynet_pool2d_params pp{6, 6, 1, 1, 0, 0, -128, 127};
  m.op(FLYNET_OP_AVG_POOL2D, {y1}, {y2}, &pp);
  const int32_t w3 = m.i8({130, 1, 1, 8}, all), m3 = m.i32(m.mults(1)), s3 = m.i32({-7});
  const int32_t y3 = m.act({1, 1, 1, 130}, -3);
  const flynet_fully_connected_params pf{0, -128, 127, FLYNET_ROUNDING_SINGLE};
  m.op(FLYNET_OP_FULLY_CONNECTED, {y2, w3, -1, m3, s3}, {y3}, &pf);
  std::vector<int32_t> idx;
  for (int k = 0; k < 24; ++k) idx.push_back(int32_t(m.rng() % 130));
  idx[3] = 129;
  const int32_t ix = m.i32(idx);
  const int32_t y4 = m.act({1, 1, 1, 24}, -3);
  const flynet_channel_gather_params pg{0};
  m.op(FLYNET_OP_CHANNEL_GATHER, {y3, ix}, {y4}, &pg);
  const int32_t w5 = m.i8({200, 1, 1, 24}, four), b5 = m.i32(m.shifts(200, -500, 500)), m5 = m.i32(m.mults(200)),
                s5 = m.i32(m.shifts(200, -6, -2));
  const int32_t y5 = m.act({1, 1, 1, 200}, 7);
  const flynet_fully_connected_params pf2{0, -100, 120, FLYNET_ROUNDING_DOUBLE};
  m.op(FLYNET_OP_FULLY_CONNECTED, {y4, w5, b5, m5, s5}, {y5}, &pf2);
  const int32_t y6 = m.act({1, 1, 1, 200}, 7, 0.1);
  m.op<int>(FLYNET_OP_MAXIMUM, {y5, y5}, {y6}, nullptr);
  m.g.input = x;
  m.g.output = y6;
  return m.g;
}

// Every other op, small, with parameters from the reference's own prepare helpers:
//   x [1,4,4,2] -> depthwise x3 (3-bit packed) -> VA-ECA descriptor -> ECA 1-D conv -> head
//   softmax and sigmoid -> gate multiply -> max over heads; x -> max pool -> requantize; add,
//   hard-swish, hard-sigmoid, concat.
IntGraph all_ops() {
  Maker m;
  const float s = 0.05f;
  auto check = [](flyref_status st) { EXPECT_EQ(st, FLYREF_OK); };
  const int32_t x = m.act({1, 4, 4, 2}, 1, s);
  const int32_t w = m.i8({1, 3, 3, 6}, {-60, -40, -20, -5, 5, 20, 40, 60}), b = m.i32(m.shifts(6, -100, 100)),
                mu = m.i32(m.mults(6)), sh = m.i32(m.shifts(6, -9, -6));
  const int32_t d = m.act({1, 4, 4, 6}, 1);
  const flynet_conv2d_params pd{1, 1, 1, 1, 1, 1, -128, 127, FLYNET_ROUNDING_DOUBLE};
  m.op(FLYNET_OP_DEPTHWISE_CONV2D, {x, w, b, mu, sh}, {d}, &pd);
  const int32_t mean = m.act({1, 1, 1, 6}, 0), sd = m.act({1, 1, 1, 6}, -100);
  const flynet_vaeca_descriptor_params pv{1 << 30, -4, 1 << 30, -8, 16, 0, 4, FLYNET_ROUNDING_DOUBLE};
  m.op(FLYNET_OP_VAECA_DESCRIPTOR, {d}, {mean, sd}, &pv);
  const int32_t ew = m.i8({1, 1, 3, 2}, {-50, 30, 90});
  const int32_t logit = m.act({1, 1, 1, 6}, 3, 0.1);
  const flynet_eca_conv1d_params pe{3, 1 << 30, -2, 1 << 30, -2, 6, -128, 127, FLYNET_ROUNDING_DOUBLE};
  m.op(FLYNET_OP_ECA_CONV1D, {mean, sd, ew}, {logit}, &pe);
  flynet_softmax_params psm{};
  check(flyref_softmax_prepare(1.0f, 0.1f, FLYNET_ROUNDING_DOUBLE, &psm));
  psm.row_size = 3;
  const int32_t sm = m.act({1, 1, 1, 6}, -128, 1.0 / 256);
  m.op(FLYNET_OP_SOFTMAX, {logit}, {sm}, &psm);
  flynet_logistic_params plg{};
  check(flyref_logistic_prepare(0.1f, &plg));
  const int32_t lg = m.act({1, 1, 1, 6}, -128, 1.0 / 256);
  m.op(FLYNET_OP_LOGISTIC, {logit}, {lg}, &plg);
  const flynet_mul_params pm{1 << 30, -6, -128, 127, FLYNET_ROUNDING_SINGLE};
  const int32_t gated = m.act({1, 4, 4, 6}, 2);
  m.op(FLYNET_OP_MUL, {d, sm}, {gated}, &pm);
  const flynet_max_group_params pg{3};
  const int32_t mg = m.act({1, 4, 4, 2}, 2);
  m.op(FLYNET_OP_MAX_GROUP, {gated}, {mg}, &pg);
  const flynet_pool2d_params pp{2, 2, 2, 2, 0, 0, -128, 127};
  const int32_t mp = m.act({1, 2, 2, 2}, 1);
  m.op(FLYNET_OP_MAX_POOL2D, {x}, {mp}, &pp);
  const flynet_requantize_params pr{1 << 30, 0, -128, 127, FLYNET_ROUNDING_DOUBLE};
  const int32_t rq = m.act({1, 2, 2, 2}, 2);
  m.op(FLYNET_OP_REQUANTIZE, {mp}, {rq}, &pr);
  flynet_add_params pa{};
  check(flyref_add_prepare(s, s, 2 * s, FLYNET_ROUNDING_DOUBLE, &pa));
  pa.act_min = -128;
  pa.act_max = 127;
  const int32_t ad = m.act({1, 4, 4, 2}, 0, 2 * s);
  m.op(FLYNET_OP_ADD, {mg, rq}, {ad}, &pa);  // rq broadcasts? no: [1,2,2,2] vs [1,4,4,2] is not
  m.g.ops.back().inputs = {mg, x};             // a broadcast, so add x (same shape) instead
  flynet_hard_swish_params phs{};
  check(flyref_hard_swish_prepare(2 * s, s, &phs));
  const int32_t hs = m.act({1, 4, 4, 2}, 2, s);
  m.op(FLYNET_OP_HARD_SWISH, {ad}, {hs}, &phs);
  flynet_leaky_relu_params plr{1 << 30, 1, 1 << 30, -3, -128, 127, FLYNET_ROUNDING_DOUBLE};  // 1 and 1/16
  const int32_t lr = m.act({1, 4, 4, 2}, 2, s);
  m.op(FLYNET_OP_LEAKY_RELU, {hs}, {lr}, &plr);
  flynet_hard_sigmoid_params phg{};
  check(flyref_hard_sigmoid_prepare(s, 1.0f / 256, 2, FLYNET_ROUNDING_DOUBLE, &phg));
  phg.act_min = -128;
  phg.act_max = 127;
  const int32_t hg = m.act({1, 4, 4, 2}, 2, 1.0 / 256);
  m.op(FLYNET_OP_HARD_SIGMOID, {lr}, {hg}, &phg);
  const flynet_concat_params pc{3};
  const int32_t cc = m.act({1, 4, 4, 4}, 2, s);
  m.op(FLYNET_OP_CONCAT, {hg, mg}, {cc}, &pc);
  const int32_t mx = m.act({1, 2, 2, 2}, 2, s);
  m.op<int>(FLYNET_OP_MAXIMUM, {rq, rq}, {mx}, nullptr);
  (void)lg;
  m.g.input = x;
  m.g.output = cc;
  return m.g;
}

// The one-op model of tests/formats/fly_file_test.cpp (golden bytes), whose output for
// x = {3, -1, 0, 5} was worked out by hand there: acc = bias + sum (x+1) w = {91, -203};
// 91 -> SRDHM(91, 2^30) = 46 -> RDBPOT(46, 1) = 23 -> +3 = 26;
// -203 -> SRDHM(-203, 0x50000000) = floor(-126.375) = -127 -> RDBPOT(-127, 2) = -32 -> +3 = -29.
IntGraph tiny() {
  Maker m;
  const int32_t x = m.act({1, 1, 1, 4}, -1, 0.5);
  IntTensor w;
  w.dims = {2, 1, 1, 4};
  for (int v : {-1, 1, 1, -1, 1, 1, -1, -1}) w.data.push_back(uint8_t(int8_t(v)));
  const int32_t wt = m.g.add_tensor(w);
  const int32_t b = m.i32({100, -200}), mu = m.i32({1 << 30, 0x50000000}), s = m.i32({-1, -2});
  const int32_t y = m.act({1, 1, 1, 2}, 3, 0.25);
  const flynet_fully_connected_params p{0, -128, 127, FLYNET_ROUNDING_DOUBLE};
  m.op(FLYNET_OP_FULLY_CONNECTED, {x, wt, b, mu, s}, {y}, &p);
  m.g.input = x;
  m.g.output = y;
  return m.g;
}

// Blocked nodes (flynet_format.h, PLAN; FLYNET_FILE_DECODE_BLOCK_BYTES = 8192), each with more
// than one block, the last one short, on two images:
//   x [2,5,5,40] -> 1x1 conv 40 -> 300 (3-bit weights, S8 shifts; rows of 40: blocks of 200, 100)
//     -> depthwise 5x5 x2, stride 2 (2-bit; units of 50: blocks of 160 and 140 input channels)
//   x -> 3x3 conv 40 -> 50, pad 1 (4-bit, no bias, per-tensor quantization; rows of 360: 16, ..., 2)
//   x -> 1x1 conv 40 -> 24 of 8 groups (grouped: decoded whole, not blocked)
IntGraph blocked() {
  Maker m;
  const std::vector<int> l2 = {-9, -3, 3, 9}, l3 = {-7, -5, -3, -1, 1, 3, 5, 7};
  std::vector<int> l4;
  for (int v = -8; v < 8; ++v) l4.push_back(v);
  const int32_t x = m.act({2, 5, 5, 40}, 3, 0.05);
  const int32_t w1 = m.i8({300, 1, 1, 40}, l3), b1 = m.i32(m.shifts(300, -3000, 3000)),
                m1 = m.i32(m.mults(300)), s1 = m.i32(m.shifts(300, -10, -6));
  const int32_t y1 = m.act({2, 5, 5, 300}, -2);
  const flynet_conv2d_params p1{1, 1, 0, 0, 1, 1, -128, 127, FLYNET_ROUNDING_DOUBLE};
  m.op(FLYNET_OP_CONV2D, {x, w1, b1, m1, s1}, {y1}, &p1);
  const int32_t w2 = m.i8({1, 5, 5, 600}, l2), b2 = m.i32(m.shifts(600, -500, 500)), m2 = m.i32(m.mults(600)),
                s2 = m.i32(m.shifts(600, -9, -5));
  const int32_t y2 = m.act({2, 3, 3, 600}, 5, 0.1);
  const flynet_conv2d_params p2{2, 2, 2, 2, 1, 1, -100, 110, FLYNET_ROUNDING_SINGLE};
  m.op(FLYNET_OP_DEPTHWISE_CONV2D, {y1, w2, b2, m2, s2}, {y2}, &p2);
  const int32_t w3 = m.i8({50, 3, 3, 40}, l4), m3 = m.i32(m.mults(1)), s3 = m.i32({-9});
  const int32_t y3 = m.act({2, 5, 5, 50}, 0);
  const flynet_conv2d_params p3{1, 1, 1, 1, 1, 1, -128, 127, FLYNET_ROUNDING_DOUBLE};
  m.op(FLYNET_OP_CONV2D, {x, w3, -1, m3, s3}, {y3}, &p3);
  const int32_t w4 = m.i8({24, 1, 1, 5}, l3), m4 = m.i32(m.mults(24)), s4 = m.i32(m.shifts(24, -8, -5));
  const int32_t y4 = m.act({2, 5, 5, 24}, 1);
  m.op(FLYNET_OP_CONV2D, {x, w4, -1, m4, s4}, {y4}, &p1);
  m.g.input = x;
  m.g.output = y2;
  return m.g;
}

// No reuse: activations one after another, then one scratch region (of `scratch_bytes`) and one
// decode region shared by all ops (each lives during its op only).
FlyPlan sequential_plan(const IntGraph& g, uint32_t scratch_bytes = 256) {
  FlyPlan p;
  uint32_t at = 0;
  for (const IntTensor& t : g.tensors) {
    p.tensor_offsets.push_back(t.constant() ? 0 : at);
    if (!t.constant()) at += uint32_t((t.bytes() + 3) / 4 * 4);
  }
  const std::vector<uint32_t> dec = flynet::fly_decode_sizes(g, flynet::choose_fly_storage(g));
  const uint32_t scratch = at, decode = at + scratch_bytes;
  p.scratch_offsets.assign(g.ops.size(), scratch);
  p.decode_offsets.assign(g.ops.size(), decode);
  p.arena_size = decode + *std::max_element(dec.begin(), dec.end());
  p.arena_lower_bound = at;
  return p;
}

std::string file_of(const IntGraph& g, uint32_t scratch_bytes = 256) {
  return flynet::write_fly(g, sequential_plan(g, scratch_bytes));
}

// An exactly-sized heap copy: ASan reports any byte read past `size`.
struct Buf {
  std::unique_ptr<uint8_t[]> p;
  size_t n;
  explicit Buf(std::string_view b) : p(new uint8_t[b.size() ? b.size() : 1]), n(b.size()) {
    if (n) std::memcpy(p.get(), b.data(), n);
  }
};

struct Loaded {
  flyref_status info_status, load_status;
  flyref_model_info info{};
  flyref_graph graph{};
  std::unique_ptr<uint8_t[]> tables;
};

// info_get and load on an exact copy; `keep` receives the copy (the graph points into it).
Loaded load(std::string_view bytes, std::unique_ptr<Buf>& keep) {
  keep = std::make_unique<Buf>(bytes);
  Loaded l;
  l.info_status = flyref_model_info_get(keep->p.get(), keep->n, &l.info);
  const size_t tb = l.info_status == FLYREF_OK ? l.info.table_bytes : 4096;
  l.tables.reset(new uint8_t[tb]);
  l.load_status = flyref_model_load(keep->p.get(), keep->n, l.tables.get(), tb, &l.graph);
  return l;
}

flyref_status status_of(std::string_view bytes) {
  std::unique_ptr<Buf> keep;
  const Loaded l = load(bytes, keep);
  // Both entry points validate the same way; load only adds the node checks (prepare).
  if (l.info_status != FLYREF_OK) {
    EXPECT_EQ(l.load_status, l.info_status);
  }
  return l.info_status != FLYREF_OK ? l.info_status : l.load_status;
}

uint32_t rd32(const std::string& b, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(uint8_t(b[at + size_t(i)])) << (8 * i);
  return v;
}
void wr32(std::string& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + size_t(i)] = char(uint8_t(v >> (8 * i)));
}
uint32_t zcrc(const std::string& b, size_t from, size_t n, uint32_t c = 0) {
  return uint32_t(crc32(c, reinterpret_cast<const Bytef*>(b.data()) + from, uInt(n)));
}
// Recomputes both CRCs (with zlib) so that the structural checks behind them run.
void refresh_crcs(std::string& b) {
  const uint32_t count = rd32(b, 12);
  const size_t header_end = 32 + 16 * size_t(count);
  const size_t file_size = rd32(b, 8);
  if (count < 1 || count > 16 || header_end > file_size || file_size > b.size()) return;
  wr32(b, 20, zcrc(b, header_end, file_size - header_end));
  wr32(b, 28, zcrc(b, 32, header_end - 32, zcrc(b, 0, 28)));
}

// Section entry i of a file: {id, offset, size, count}.
std::array<uint32_t, 4> section(const std::string& b, uint32_t id) {
  for (uint32_t i = 0; i < rd32(b, 12); ++i) {
    const size_t e = 32 + 16 * size_t(i);
    if (rd32(b, e) == id) return {id, rd32(b, e + 4), rd32(b, e + 8), rd32(b, e + 12)};
  }
  return {0, 0, 0, 0};
}

// The same graph with every constant raw (the interpreter's plain path) on the same plan.
struct RawGraph {
  std::vector<flyref_tensor> t;
  std::vector<flyref_node> n;
  flyref_graph g{};
  RawGraph(const IntGraph& ig, const flyref_graph& loaded) {
    for (int32_t i = 0; i < loaded.num_tensors; ++i) {
      flyref_tensor x = loaded.tensors[i];
      x.storage = 0;
      x.bits = 0;
      if (x.data) x.data = ig.tensors[size_t(i)].data.data();
      t.push_back(x);
    }
    n.assign(loaded.nodes, loaded.nodes + loaded.num_nodes);
    g = flyref_graph{t.data(), int32_t(t.size()), n.data(), int32_t(n.size())};
  }
};

// Invokes the loaded graph on `a` and the raw one on `b` (the same input) and compares every
// arena tensor.
void expect_same_run(const flyref_graph& loaded, std::vector<uint8_t>& a, const flyref_graph& raw, std::vector<uint8_t>& b) {
  ASSERT_EQ(flyref_graph_invoke(&loaded, a.data(), a.size()), FLYREF_OK);
  ASSERT_EQ(flyref_graph_invoke(&raw, b.data(), b.size()), FLYREF_OK);
  for (int32_t t = 0; t < loaded.num_tensors; ++t) {
    if (loaded.tensors[t].data) continue;
    const uint32_t off = loaded.tensors[t].arena_offset;
    EXPECT_EQ(0, std::memcmp(a.data() + off, b.data() + off, flyref_tensor_bytes(&loaded.tensors[t]))) << "tensor " << t;
  }
}

// ------------------------------------------------------------------------------ basics

TEST(FlyrefModel, Crc32IsTheIeeeChecksum) {
  EXPECT_EQ(flyref_crc32(0, reinterpret_cast<const uint8_t*>("123456789"), 9), 0xCBF43926u);
  EXPECT_EQ(flyref_crc32(0, nullptr, 0), 0u);
  std::mt19937 rng(1);
  for (size_t n : {size_t(1), size_t(3), size_t(64), size_t(1000)}) {
    std::string s(n, '\0');
    for (char& c : s) c = char(rng());
    EXPECT_EQ(flyref_crc32(0, reinterpret_cast<const uint8_t*>(s.data()), n), zcrc(s, 0, n));
    // chained over two parts
    const uint32_t a = flyref_crc32(0, reinterpret_cast<const uint8_t*>(s.data()), n / 2);
    EXPECT_EQ(flyref_crc32(a, reinterpret_cast<const uint8_t*>(s.data()) + n / 2, n - n / 2), zcrc(s, 0, n));
  }
}

TEST(FlyrefModel, UnpackAtEveryWidthMatchesANaiveBitLoop) {
  std::mt19937 rng(2);
  for (int bits = 1; bits <= 8; ++bits)
    for (int32_t count : {1, 5, 8, 9, 100, 257}) {
      int8_t table[256];
      for (int8_t& v : table) v = int8_t(rng());
      const size_t nbytes = (size_t(count) * size_t(bits) + 7) / 8;
      Buf packed(std::string(nbytes, '\0'));
      for (size_t i = 0; i < nbytes; ++i) packed.p[i] = uint8_t(rng());
      std::vector<int8_t> out(static_cast<size_t>(count));
      flyref_unpack_s8(packed.p.get(), bits, table, count, out.data());
      for (int32_t k = 0; k < count; ++k) {
        uint32_t idx = 0;
        for (int i = 0; i < bits; ++i) {
          const size_t j = size_t(k) * size_t(bits) + size_t(i);
          idx |= uint32_t((packed.p[j / 8] >> (j % 8)) & 1u) << i;
        }
        ASSERT_EQ(out[size_t(k)], table[idx]) << "bits " << bits << " element " << k;
      }
    }
}

TEST(FlyrefModel, DecodesEveryStorage) {
  const IntGraph g = zoo();
  std::unique_ptr<Buf> keep;
  Loaded l = load(file_of(g), keep);
  ASSERT_EQ(l.load_status, FLYREF_OK);
  std::set<int32_t> storages;
  for (int32_t i = 0; i < l.graph.num_tensors; ++i) {
    const flyref_tensor& t = l.graph.tensors[i];
    if (!t.data) continue;
    storages.insert(t.storage);
    std::vector<uint8_t> out(flyref_tensor_bytes(&t) + 4, 0xAB);
    ASSERT_EQ(flyref_tensor_decode(&t, out.data(), out.size() - 4), FLYREF_OK);
    EXPECT_EQ(0, std::memcmp(out.data(), g.tensors[size_t(i)].data.data(), out.size() - 4)) << "tensor " << i;
    EXPECT_EQ(out.back(), 0xAB);  // not one byte more
    EXPECT_EQ(flyref_tensor_decode(&t, out.data(), flyref_tensor_bytes(&t) - 1), FLYREF_ARG_ERROR);
  }
  EXPECT_EQ(storages, (std::set<int32_t>{FLYNET_STORAGE_RAW, FLYNET_STORAGE_PACKED, FLYNET_STORAGE_S8, FLYNET_STORAGE_S16}));
}

// ------------------------------------------------------------------------------ running

TEST(FlyrefModel, TinyModelGivesTheHandComputedOutput) {
  std::unique_ptr<Buf> keep;
  Loaded l = load(file_of(tiny()), keep);
  ASSERT_EQ(l.load_status, FLYREF_OK) << flyref_status_str(l.load_status);
  EXPECT_EQ(l.info.input, 0);
  EXPECT_EQ(l.info.output, 5);
  EXPECT_EQ(l.info.input_scale, 0.5f);
  EXPECT_EQ(l.info.output_scale, 0.25f);
  EXPECT_EQ(l.info.input_zero_point, -1);
  EXPECT_EQ(l.info.output_zero_point, 3);
  EXPECT_EQ(l.info.arena_size, 256u + 4u + 4u + 8u);
  EXPECT_EQ(l.graph.nodes[0].decode_size, 8u);  // 2 shifts widened to int32; the FC reads its packed weights
  std::vector<uint8_t> arena(l.info.arena_size);
  const int8_t x[4] = {3, -1, 0, 5};
  std::memcpy(arena.data() + l.graph.tensors[0].arena_offset, x, 4);
  ASSERT_EQ(flyref_graph_invoke(&l.graph, arena.data(), arena.size()), FLYREF_OK);
  const int8_t* y = reinterpret_cast<const int8_t*>(arena.data() + l.graph.tensors[5].arena_offset);
  EXPECT_EQ(y[0], 26);
  EXPECT_EQ(y[1], -29);
}

TEST(FlyrefModel, DecodedGraphGivesTheIntegersOfTheRawGraph) {
  const IntGraph g = zoo();
  std::unique_ptr<Buf> keep;
  Loaded l = load(file_of(g), keep);
  ASSERT_EQ(l.load_status, FLYREF_OK) << flyref_status_str(l.load_status);
  // The second FC reads its 4800 packed weights as stored: only its shifts are decoded.
  EXPECT_EQ(l.graph.nodes[4].decode_size, 200u * 4u);
  RawGraph raw(g, l.graph);
  ASSERT_EQ(flyref_graph_prepare(&raw.g, l.info.arena_size), FLYREF_OK);
  std::mt19937 rng(4);
  for (int it = 0; it < 20; ++it) {
    std::vector<uint8_t> a(l.info.arena_size), b(l.info.arena_size);
    for (size_t i = 0; i < 108; ++i) a[l.graph.tensors[0].arena_offset + i] = uint8_t(rng());
    std::memcpy(b.data(), a.data(), a.size());
    ASSERT_NO_FATAL_FAILURE(expect_same_run(l.graph, a, raw.g, b));
    // Node by node, as verify runs it: the same integers again.
    std::vector<uint8_t> c(l.info.arena_size);
    std::memcpy(c.data() + l.graph.tensors[0].arena_offset, b.data() + l.graph.tensors[0].arena_offset, 108);
    for (int32_t k = 0; k < l.graph.num_nodes; ++k)
      ASSERT_EQ(flyref_graph_invoke_range(&l.graph, c.data(), c.size(), k, k + 1), FLYREF_OK);
    const uint32_t out = l.graph.tensors[l.info.output].arena_offset;
    EXPECT_EQ(0, std::memcmp(c.data() + out, b.data() + out, 200));
  }
  std::vector<uint8_t> a(l.info.arena_size);
  EXPECT_EQ(flyref_graph_invoke_range(&l.graph, a.data(), a.size(), 2, 1), FLYREF_ARG_ERROR);
  EXPECT_EQ(flyref_graph_invoke_range(&l.graph, a.data(), a.size(), 0, 7), FLYREF_ARG_ERROR);
  EXPECT_EQ(flyref_graph_invoke_range(&l.graph, a.data(), a.size(), 3, 3), FLYREF_OK);
  EXPECT_EQ(flyref_graph_invoke(&l.graph, a.data(), a.size() - 1), FLYREF_ARENA_TOO_SMALL);
}

TEST(FlyrefModel, EveryOpLoadsAndRunsFromAFile) {
  const IntGraph g = all_ops();
  std::unique_ptr<Buf> keep;
  Loaded l = load(file_of(g), keep);
  ASSERT_EQ(l.load_status, FLYREF_OK) << flyref_status_str(l.load_status);
  std::set<int32_t> ops;
  for (int32_t k = 0; k < l.graph.num_nodes; ++k) ops.insert(l.graph.nodes[k].op);
  for (const IntOp& o : zoo().ops) ops.insert(o.op);
  EXPECT_EQ(ops.size(), size_t(FLYNET_OP_COUNT - 1));  // with the zoo: every op code
  RawGraph raw(g, l.graph);
  ASSERT_EQ(flyref_graph_prepare(&raw.g, l.info.arena_size), FLYREF_OK);
  std::vector<uint8_t> a(l.info.arena_size), b(l.info.arena_size);
  std::mt19937 rng(8);
  for (int i = 0; i < 32; ++i) a[l.graph.tensors[0].arena_offset + size_t(i)] = uint8_t(rng());
  b = a;
  ASSERT_NO_FATAL_FAILURE(expect_same_run(l.graph, a, raw.g, b));
}

// Blocked nodes give the integers of the same nodes on raw weights, with decode regions of one
// block (the C reader and the C++ writer agree on every size).
TEST(FlyrefModel, BlockedNodesGiveTheIntegersOfTheRawGraph) {
  const IntGraph g = blocked();
  std::unique_ptr<Buf> keep;
  Loaded l = load(file_of(g, 1024), keep);  // the 3x3 conv's im2col patch: 360 bytes
  ASSERT_EQ(l.load_status, FLYREF_OK) << flyref_status_str(l.load_status);
  EXPECT_EQ(l.info.version_major, 2u);
  const std::vector<flynet::FlyStorage> st = flynet::choose_fly_storage(g);
  const std::vector<uint32_t> planned = flynet::fly_decode_sizes(g, st);
  for (int32_t k = 0; k < l.graph.num_nodes; ++k) EXPECT_EQ(l.graph.nodes[k].decode_size, planned[size_t(k)]) << k;
  EXPECT_EQ(st[size_t(g.ops[0].inputs[1])].bits, 3);
  EXPECT_EQ(st[size_t(g.ops[1].inputs[1])].bits, 2);
  EXPECT_EQ(st[size_t(g.ops[2].inputs[1])].bits, 4);
  // By hand from the rule: 200 rows of 40 and 200 shifts; 160 input channels of 5x5x2 and 320
  // shifts; 16 rows of 360 and the one shift; the grouped conv whole: 120 weights and 24 shifts.
  EXPECT_EQ(l.graph.nodes[0].decode_size, 200u * 40u + 200u * 4u);
  EXPECT_EQ(l.graph.nodes[1].decode_size, 160u * 50u + 320u * 4u);
  EXPECT_EQ(l.graph.nodes[2].decode_size, 16u * 360u + 4u);
  EXPECT_EQ(l.graph.nodes[3].decode_size, 120u + 24u * 4u);
  RawGraph raw(g, l.graph);
  ASSERT_EQ(flyref_graph_prepare(&raw.g, l.info.arena_size), FLYREF_OK);
  std::mt19937 rng(9);
  for (int vec : {1, 0}) {
    const int was = flyref_set_vector_paths(vec);
    std::vector<uint8_t> a(l.info.arena_size), b(l.info.arena_size);
    for (size_t i = 0; i < 2000; ++i) a[l.graph.tensors[0].arena_offset + i] = uint8_t(rng());
    b = a;
    ASSERT_NO_FATAL_FAILURE(expect_same_run(l.graph, a, raw.g, b));
    flyref_set_vector_paths(was);
  }
}

// A file planned by the 1.0 rule (version 1.0, every packed conv's weights and shifts decoded
// whole) runs on the current reader: its regions are larger than the current rule needs.
TEST(FlyrefModel, AVersion1PlanStillRuns) {
  const IntGraph g = blocked();
  FlyPlan p = sequential_plan(g, 1024);
  uint32_t whole = 0;
  for (const IntOp& o : g.ops) {
    uint32_t d = 0;
    for (int32_t t : {o.inputs[1], o.inputs[4]}) d += uint32_t((g.tensors[size_t(t)].bytes() + 3) / 4 * 4);
    whole = std::max(whole, d);
  }
  p.arena_size = p.decode_offsets[0] + whole;
  std::string f = flynet::write_fly(g, p);
  ASSERT_EQ(f[4], 2);
  f[4] = 1;
  refresh_crcs(f);
  std::unique_ptr<Buf> k1, k2;
  Loaded l1 = load(f, k1), l2 = load(file_of(g, 1024), k2);
  ASSERT_EQ(l1.load_status, FLYREF_OK) << flyref_status_str(l1.load_status);
  ASSERT_EQ(l2.load_status, FLYREF_OK);
  EXPECT_EQ(l1.info.version_major, 1u);
  EXPECT_GT(l1.info.arena_size, l2.info.arena_size);
  std::vector<uint8_t> a(l1.info.arena_size), b(l2.info.arena_size);
  std::mt19937 rng(10);
  for (size_t i = 0; i < 2000; ++i) {
    a[l1.graph.tensors[0].arena_offset + i] = b[l2.graph.tensors[0].arena_offset + i] = uint8_t(rng());
  }
  ASSERT_EQ(flyref_graph_invoke(&l1.graph, a.data(), a.size()), FLYREF_OK);
  ASSERT_EQ(flyref_graph_invoke(&l2.graph, b.data(), b.size()), FLYREF_OK);
  const flyref_tensor& y = l1.graph.tensors[l1.info.output];
  EXPECT_EQ(0, std::memcmp(a.data() + y.arena_offset, b.data() + l2.graph.tensors[l2.info.output].arena_offset,
                           flyref_tensor_bytes(&y)));
}

// ------------------------------------------------------------------------------ rejection

TEST(FlyrefModel, EveryTruncationIsRejectedAsTruncated) {
  const std::string f = file_of(zoo());
  for (size_t n = 0; n < f.size(); ++n) ASSERT_EQ(status_of(f.substr(0, n)), FLYREF_MODEL_TRUNCATED) << n << " bytes";
  EXPECT_EQ(status_of(f), FLYREF_OK);
  EXPECT_EQ(status_of(f + "trailing bytes are ignored"), FLYREF_OK);
}

// Which status a single corrupted byte gives (flynet_format.h's order of checks).
flyref_status expected_for(const std::string& good, const std::string& bad, size_t off) {
  const uint32_t header_end = 32 + 16 * rd32(good, 12);
  if (off < 4) return FLYREF_MODEL_BAD_MAGIC;
  if (off < 6) return FLYREF_MODEL_UNSUPPORTED_VERSION;
  if (off >= 8 && off < 12) {
    const uint32_t fs = rd32(bad, 8);
    if (fs > bad.size()) return FLYREF_MODEL_TRUNCATED;
    if (fs < header_end) return FLYREF_MODEL_BAD_HEADER;
    return FLYREF_MODEL_HEADER_CRC;
  }
  if (off >= 12 && off < 16) {
    const uint32_t c = rd32(bad, 12);
    if (c < 1 || c > 16 || 32 + 16 * uint64_t(c) > good.size()) return FLYREF_MODEL_BAD_HEADER;
    return FLYREF_MODEL_HEADER_CRC;
  }
  if (off < header_end) return FLYREF_MODEL_HEADER_CRC;  // minor, flags, CRCs, section table
  return FLYREF_MODEL_PAYLOAD_CRC;
}

TEST(FlyrefModel, EverySingleByteCorruptionGetsTheStatusOfWhatItBreaks) {
  const std::string f = file_of(zoo());
  std::map<flyref_status, int> seen;
  for (size_t off = 0; off < f.size(); ++off)
    for (uint8_t mask : {uint8_t(0x01), uint8_t(0x80), uint8_t(0xFF)}) {
      std::string b = f;
      b[off] = char(uint8_t(b[off]) ^ mask);
      const flyref_status want = expected_for(f, b, off);
      ASSERT_EQ(status_of(b), want) << "offset " << off << " ^ " << int(mask);
      ++seen[want];
    }
  EXPECT_EQ(seen.size(), 6u);  // magic, version, truncated, header, header CRC, payload CRC
}

TEST(FlyrefModel, StructuralCorruptionsGetTheirStatus) {
  const std::string f = file_of(zoo());
  const auto model = section(f, FLYNET_SECTION_MODEL), tensors = section(f, FLYNET_SECTION_TENSORS),
             ops = section(f, FLYNET_SECTION_OPS), consts = section(f, FLYNET_SECTION_CONSTANTS),
             plan = section(f, FLYNET_SECTION_PLAN);
  const size_t T = tensors[1], O = ops[1], P = plan[1], M = model[1];
  auto rec = [&](int t) { return T + 12 * size_t(t); };  // tensor record
  struct Case {
    const char* what;
    std::function<void(std::string&)> edit;
    flyref_status want;
  };
  const std::vector<Case> cases = {
      {"major version 3", [](std::string& b) { b[4] = 3; }, FLYREF_MODEL_UNSUPPORTED_VERSION},
      {"major version 0", [](std::string& b) { b[4] = 0; }, FLYREF_MODEL_UNSUPPORTED_VERSION},
      {"flags set", [](std::string& b) { b[16] = 1; }, FLYREF_MODEL_BAD_HEADER},
      {"reserved set", [](std::string& b) { b[27] = 1; }, FLYREF_MODEL_BAD_HEADER},
      {"section misaligned", [](std::string& b) { wr32(b, 32 + 16 + 4, rd32(b, 32 + 16 + 4) + 4); }, FLYREF_MODEL_BAD_SECTION},
      {"section past the end", [](std::string& b) { wr32(b, 32 + 16 * 4 + 8, 1u << 20); }, FLYREF_MODEL_BAD_SECTION},
      {"sections overlap", [](std::string& b) { wr32(b, 32 + 8, 0x100); }, FLYREF_MODEL_BAD_SECTION},
      {"section repeated", [](std::string& b) { wr32(b, 32 + 16, 1); }, FLYREF_MODEL_BAD_SECTION},
      {"PLAN missing (unknown id)", [](std::string& b) { wr32(b, 32 + 16 * 4, 77); }, FLYREF_MODEL_BAD_SECTION},
      {"MODEL of 12 bytes", [](std::string& b) { wr32(b, 32 + 8, 12); }, FLYREF_MODEL_BAD_SECTION},
      {"tensor count 0", [](std::string& b) { wr32(b, 32 + 16 + 12, 0); }, FLYREF_MODEL_BAD_SECTION},
      {"tensor count off by one", [](std::string& b) { wr32(b, 32 + 16 + 12, rd32(b, 32 + 16 + 12) - 1); }, FLYREF_MODEL_BAD_SECTION},
      {"PLAN size off", [](std::string& b) { wr32(b, 32 + 16 * 4 + 12, rd32(b, 32 + 16 * 4 + 12) + 1); }, FLYREF_MODEL_BAD_SECTION},
      {"input scale NaN", [&](std::string& b) { wr32(b, M + 8, 0x7FC00000u); }, FLYREF_MODEL_BAD_SECTION},
      {"output scale negative", [&](std::string& b) { wr32(b, M + 12, 0xBF800000u); }, FLYREF_MODEL_BAD_SECTION},
      {"dimension 0", [&](std::string& b) { b[rec(0) + 2] = 0; }, FLYREF_MODEL_BAD_TENSOR},
      {"type 3", [&](std::string& b) { b[rec(0) + 8] = 3; }, FLYREF_MODEL_BAD_TENSOR},
      {"int32 with a zero point", [&](std::string& b) { b[rec(2) + 9] = 1; }, FLYREF_MODEL_BAD_TENSOR},
      {"storage 5", [&](std::string& b) { b[rec(0) + 10] = 5; }, FLYREF_MODEL_BAD_TENSOR},
      {"packed with 9 bits", [&](std::string& b) { b[rec(1) + 11] = 9; }, FLYREF_MODEL_BAD_TENSOR},
      {"packed with 0 bits", [&](std::string& b) { b[rec(1) + 11] = 0; }, FLYREF_MODEL_BAD_TENSOR},
      {"raw with bits", [&](std::string& b) { b[rec(2) + 11] = 2; }, FLYREF_MODEL_BAD_TENSOR},
      {"packed int32", [&](std::string& b) { b[rec(2) + 10] = 2, b[rec(2) + 11] = 2; }, FLYREF_MODEL_BAD_TENSOR},
      {"S8 int8", [&](std::string& b) { b[rec(1) + 10] = 3, b[rec(1) + 11] = 0; }, FLYREF_MODEL_BAD_TENSOR},
      {"huge tensor", [&](std::string& b) { for (int d = 0; d < 4; ++d) b[rec(0) + 2 * size_t(d) + 1] = char(0xFF); }, FLYREF_MODEL_BAD_TENSOR},
      {"packed weights wider", [&](std::string& b) { b[rec(1) + 11] = 3; }, FLYREF_MODEL_BAD_CONSTANTS},
      {"constant count off", [](std::string& b) { wr32(b, 32 + 16 * 3 + 12, rd32(b, 32 + 16 * 3 + 12) + 1); }, FLYREF_MODEL_BAD_CONSTANTS},
      {"constants section shorter", [](std::string& b) { wr32(b, 32 + 16 * 3 + 8, rd32(b, 32 + 16 * 3 + 8) - 1); }, FLYREF_MODEL_BAD_CONSTANTS},
      {"activation made constant", [&](std::string& b) { b[rec(5) + 10] = 1; }, FLYREF_MODEL_BAD_CONSTANTS},
      {"op code 0", [&](std::string& b) { b[O] = 0; }, FLYREF_NO_IMPL},
      {"op code 99", [&](std::string& b) { b[O] = 99; }, FLYREF_NO_IMPL},
      {"9 inputs", [&](std::string& b) { b[O + 1] = 9; }, FLYREF_MODEL_BAD_OP},
      {"0 outputs", [&](std::string& b) { b[O + 2] = 0; }, FLYREF_MODEL_BAD_OP},
      {"3 outputs", [&](std::string& b) { b[O + 2] = 3; }, FLYREF_MODEL_BAD_OP},
      {"short parameter record", [&](std::string& b) { b[O + 3] = 8; }, FLYREF_MODEL_BAD_OP},
      {"record past the section", [&](std::string& b) { b[O + 3] = 200; }, FLYREF_MODEL_BAD_OP},
      {"op count short", [](std::string& b) { wr32(b, 32 + 16 * 2 + 12, rd32(b, 32 + 16 * 2 + 12) - 1); }, FLYREF_MODEL_BAD_SECTION},
      {"input index out of range", [&](std::string& b) { b[O + 4] = 99; }, FLYREF_MODEL_BAD_INDEX},
      {"absent first input", [&](std::string& b) { b[O + 4] = char(0xFF), b[O + 5] = char(0xFF); }, FLYREF_FORMAT_ERROR},
      {"output is a constant", [&](std::string& b) { b[O + 4 + 10] = 1; }, FLYREF_MODEL_BAD_INDEX},
      {"model input is a constant", [&](std::string& b) { wr32(b, M, 1); }, FLYREF_MODEL_BAD_INDEX},
      {"model output out of range", [&](std::string& b) { wr32(b, M + 4, 500); }, FLYREF_MODEL_BAD_INDEX},
      {"lower bound above arena", [&](std::string& b) { wr32(b, P + 4, rd32(b, P) + 1); }, FLYREF_MODEL_BAD_PLAN},
      {"tensor offset misaligned", [&](std::string& b) { wr32(b, P + 8, 2); }, FLYREF_MODEL_BAD_PLAN},
      {"tensor past the arena", [&](std::string& b) { wr32(b, P + 8, rd32(b, P)); }, FLYREF_MODEL_BAD_PLAN},
      {"decode offset past the arena", [&](std::string& b) { wr32(b, P + 8 + 4 * 7 + 4, rd32(b, P) + 4); }, FLYREF_MODEL_BAD_PLAN},
      {"decode region runs off the arena", [&](std::string& b) { wr32(b, P + 8 + 4 * 7 + 4, rd32(b, P) - 4); }, FLYREF_ARENA_TOO_SMALL},
      {"decode region on the input", [&](std::string& b) { wr32(b, P + 8 + 4 * 7 + 4, 0); }, FLYREF_FORMAT_ERROR},
      {"scratch on the decode region", [&](std::string& b) { wr32(b, P + 8 + 4 * 7, rd32(b, P + 8 + 4 * 7 + 4)); }, FLYREF_FORMAT_ERROR},
      {"conv output with fewer channels", [&](std::string& b) { b[rec(5) + 6] = 4; }, FLYREF_SHAPE_ERROR},
      {"conv output past the arena", [&](std::string& b) { b[rec(5) + 3] = 1; }, FLYREF_MODEL_BAD_PLAN},
      // The reader guarantees memory safety, not meaning: a wider conv output still fits the
      // arena and the kernels pad, so it loads (and overwrites its neighbour when run).
      {"conv output one column wider", [&](std::string& b) { b[rec(5) + 4] = 7; }, FLYREF_OK},
      // CONSTANTS: conv weights (4-entry table + 216 x 2 bits = 58 bytes, padded to 60), bias
      // (32), multipliers (32), then the conv's shifts as int8 at 124.
      {"shift beyond [-31, 30]", [&](std::string& b) { b[consts[1] + 4 + 54 + 2 + 32 + 32] = 40; }, FLYREF_ARG_ERROR},
  };
  ASSERT_EQ(status_of(f), FLYREF_OK);
  for (const Case& c : cases) {
    std::string b = f;
    c.edit(b);
    refresh_crcs(b);
    EXPECT_EQ(status_of(b), c.want) << c.what << ": " << flyref_status_str(status_of(b));
  }
}

TEST(FlyrefModel, CallerMistakesGetTheirStatus) {
  const std::string f = file_of(zoo());
  flyref_model_info info;
  flyref_graph g;
  // The file at an address that is not 4-byte aligned.
  std::unique_ptr<uint8_t[]> shifted(new uint8_t[f.size() + 1]);
  std::memcpy(shifted.get() + 1, f.data(), f.size());
  EXPECT_EQ(flyref_model_info_get(shifted.get() + 1, f.size(), &info), FLYREF_ARG_ERROR);
  Buf b(f);
  EXPECT_EQ(flyref_model_info_get(nullptr, f.size(), &info), FLYREF_ARG_ERROR);
  EXPECT_EQ(flyref_model_info_get(b.p.get(), b.n, nullptr), FLYREF_ARG_ERROR);
  ASSERT_EQ(flyref_model_info_get(b.p.get(), b.n, &info), FLYREF_OK);
  EXPECT_EQ(info.num_tensors, 19);
  EXPECT_EQ(info.num_nodes, 6);
  EXPECT_EQ(info.table_bytes, ((19 * sizeof(flyref_tensor) + 7) / 8 * 8) + 6 * sizeof(flyref_node));
  EXPECT_EQ(info.has_host_info, 0);
  std::unique_ptr<uint64_t[]> tables(new uint64_t[info.table_bytes / 8 + 1]);
  EXPECT_EQ(flyref_model_load(b.p.get(), b.n, tables.get(), info.table_bytes - 1, &g), FLYREF_MODEL_TABLES_TOO_SMALL);
  EXPECT_EQ(flyref_model_load(b.p.get(), b.n, reinterpret_cast<uint8_t*>(tables.get()) + 4, info.table_bytes, &g),
            FLYREF_ARG_ERROR);
  EXPECT_EQ(flyref_model_load(b.p.get(), b.n, nullptr, info.table_bytes, &g), FLYREF_ARG_ERROR);
  EXPECT_EQ(flyref_model_load(b.p.get(), b.n, tables.get(), info.table_bytes, nullptr), FLYREF_ARG_ERROR);
  EXPECT_EQ(flyref_model_load(b.p.get(), b.n, tables.get(), info.table_bytes, &g), FLYREF_OK);
  // An unsupported version still reports which one it is.
  std::string v2 = f;
  v2[4] = 3;
  v2[6] = 7;
  Buf b2(v2);
  EXPECT_EQ(flyref_model_info_get(b2.p.get(), b2.n, &info), FLYREF_MODEL_UNSUPPORTED_VERSION);
  EXPECT_EQ(info.version_major, 3u);
  EXPECT_EQ(info.version_minor, 7u);
  EXPECT_STREQ(flyref_status_str(FLYREF_MODEL_PAYLOAD_CRC), "FLYREF_MODEL_PAYLOAD_CRC");
  for (int s = FLYREF_MODEL_TABLES_TOO_SMALL; s <= FLYREF_OK; ++s)
    EXPECT_STRNE(flyref_status_str(flyref_status(s)), "FLYREF_UNKNOWN_STATUS") << s;
}

// Random structural damage behind valid CRCs: whatever the reader accepts must also run on an
// arena of exactly the planned size without touching a byte outside the file, the tables or
// the arena (under ASan), and whatever it rejects gets a documented status.
void fuzz(const std::string& f, uint32_t seed);

TEST(FlyrefModel, RandomCorruptionsWithValidCrcsNeverReadOutOfBounds) {
  fuzz(file_of(zoo()), 20240607);
  fuzz(file_of(all_ops()), 77);
}

void fuzz(const std::string& f, uint32_t seed) {
  const std::set<flyref_status> known = {
      FLYREF_ARG_ERROR,          FLYREF_NO_IMPL,           FLYREF_FORMAT_ERROR,        FLYREF_ARENA_TOO_SMALL,
      FLYREF_SHAPE_ERROR,        FLYREF_MODEL_TRUNCATED,   FLYREF_MODEL_BAD_MAGIC,     FLYREF_MODEL_UNSUPPORTED_VERSION,
      FLYREF_MODEL_BAD_HEADER,   FLYREF_MODEL_BAD_SECTION, FLYREF_MODEL_BAD_TENSOR,    FLYREF_MODEL_BAD_CONSTANTS,
      FLYREF_MODEL_BAD_OP,       FLYREF_MODEL_BAD_INDEX,   FLYREF_MODEL_BAD_PLAN,      FLYREF_MODEL_HEADER_CRC};
  std::mt19937 rng(seed);
  std::map<flyref_status, int> seen;
  int ran = 0;
  const int iterations = 30000;
  for (int it = 0; it < iterations; ++it) {
    std::string b = f;
    const int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      // Mostly the structure (header fields, section table, records, plan), sometimes anywhere.
      size_t off = rng() % 4 ? 12 + rng() % (section(f, FLYNET_SECTION_CONSTANTS)[1] - 12) : rng() % b.size();
      if (off >= 20 && off < 24) off = 16;  // not the CRC fields (recomputed below)
      if (off >= 28 && off < 32) off = 24;
      const uint32_t r = rng();
      b[off] = char(r % 3 == 0 ? uint8_t(r >> 8) : r % 3 == 1 ? uint8_t(uint8_t(b[off]) ^ (1u << (r >> 8) % 8)) : uint8_t(b[off] + 1));
    }
    refresh_crcs(b);
    std::unique_ptr<Buf> keep;
    Loaded l = load(b, keep);
    const flyref_status st = l.info_status != FLYREF_OK ? l.info_status : l.load_status;
    ++seen[st];
    if (st != FLYREF_OK) {
      ASSERT_TRUE(known.count(st)) << flyref_status_str(st);
      continue;
    }
    if (l.info.arena_size > (1u << 20)) continue;  // a corrupted arena size: valid, but not worth allocating
    std::unique_ptr<uint8_t[]> arena(new uint8_t[l.info.arena_size]);
    for (uint32_t i = 0; i < l.info.arena_size; ++i) arena[i] = uint8_t(rng());
    const flyref_status run = flyref_graph_invoke(&l.graph, arena.get(), l.info.arena_size);
    ASSERT_TRUE(run == FLYREF_OK || known.count(run)) << flyref_status_str(run);
    ++ran;
  }
  std::printf("  %d corrupted files: %d loaded and ran;", iterations, ran);
  for (const auto& [s, n] : seen) std::printf(" %s %d", flyref_status_str(s), n);
  std::printf("\n");
  EXPECT_GT(ran, 100);
  EXPECT_GT(seen.size(), 10u);
}

}  // namespace
