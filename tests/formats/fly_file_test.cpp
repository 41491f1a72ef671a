// The .fly writer and reader (formats/fly_file.hpp): the exact bytes of a tiny model laid out
// by hand from the spec in flynet_format.h, round trips, the storage choice, bit packing at
// every width against a naive bit loop, and the reader's messages.
#include "flynet/formats/fly_file.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <zlib.h>

#include "flynet/formats/error.hpp"
#include "flynet_format.h"

namespace flynet {
namespace {

// ------------------------------------------------------------------------------- golden bytes

// A one-op model: y[2] = FC(x[4]) with 1-bit packed weights, raw int32 bias and multipliers,
// shifts stored as int8.
//   t0 x     [1,1,1,4] int8 zp -1, scale 0.5                       activation
//   t1 w     [2,1,1,4] int8 {-1,1,1,-1, 1,1,-1,-1}: 2 codes -> PACKED, 1 bit (2 + 1 < 8 bytes)
//   t2 bias  [1,1,1,2] int32 {100, -200}                           RAW (read in place)
//   t3 mult  [1,1,1,2] int32 {2^30, 0x50000000}                    RAW
//   t4 shift [1,1,1,2] int32 {-1, -2}                              S8 (input 4 of an FC)
//   t5 y     [1,1,1,2] int8 zp 3, scale 0.25                       activation
//   op 0: FULLY_CONNECTED {t0,t1,t2,t3,t4} -> {t5}, params {filter_offset 0, -128, 127, DOUBLE}
//   plan: arena 16 (lower bound 16): x at 0, y at 4, no scratch, decode region at 8 holding the
//   shifts widened to int32 (8 bytes) -> 8 .. 16; the FC reads its packed weights as stored.
//   Version 2.0: the file has PACKED FC weights, which a 1.0 reader would decode into the region.
IntGraph tiny_graph() {
  IntGraph g;
  auto act = [&](std::array<int32_t, 4> d, int32_t zp, double scale) {
    IntTensor t;
    t.dims = d;
    t.zero_point = zp;
    t.scale = scale;
    return g.add_tensor(t);
  };
  auto i32 = [&](std::vector<int32_t> v) {
    IntTensor t;
    t.type = FLYNET_TYPE_INT32;
    t.dims = {1, 1, 1, int32_t(v.size())};
    t.data.resize(4 * v.size());
    std::memcpy(t.data.data(), v.data(), t.data.size());
    return g.add_tensor(t);
  };
  const int32_t x = act({1, 1, 1, 4}, -1, 0.5);
  IntTensor w;
  w.dims = {2, 1, 1, 4};
  for (int v : {-1, 1, 1, -1, 1, 1, -1, -1}) w.data.push_back(uint8_t(int8_t(v)));
  const int32_t wt = g.add_tensor(w);
  const int32_t b = i32({100, -200}), m = i32({1 << 30, 0x50000000}), s = i32({-1, -2});
  const int32_t y = act({1, 1, 1, 2}, 3, 0.25);
  IntOp op;
  op.op = FLYNET_OP_FULLY_CONNECTED;
  op.inputs = {x, wt, b, m, s};
  op.outputs = {y};
  op.set_params(flynet_fully_connected_params{0, -128, 127, FLYNET_ROUNDING_DOUBLE});
  g.ops.push_back(op);
  g.input = x;
  g.output = y;
  return g;
}

FlyPlan tiny_plan() { return FlyPlan{16, 16, {0, 0, 0, 0, 0, 4}, {0}, {8}}; }

// Laid out by hand from the spec (and by an independent Python script using zlib.crc32 for the
// two CRCs, which are the only values not derivable by eye).
const uint8_t kGolden[296] = {
    // ---- header (0 .. 32)
    'F', 'L', 'Y', 'N',                  // 0  magic
    0x02, 0x00, 0x00, 0x00,              // 4  version 2.0
    0x28, 0x01, 0x00, 0x00,              // 8  file_size 296
    0x05, 0x00, 0x00, 0x00,              // 12 section_count 5 -> header_end 32 + 5*16 = 112
    0x00, 0x00, 0x00, 0x00,              // 16 flags
    0x54, 0x67, 0xb5, 0x72,              // 20 payload CRC of [112, 296) = 0x72b56754
    0x00, 0x00, 0x00, 0x00,              // 24 reserved
    0x22, 0xbe, 0x9f, 0x20,              // 28 header CRC of [0,28)+[32,112) = 0x209fbe22
    // ---- section table (32 .. 112): id, offset, size, count
    0x01, 0, 0, 0, 0x70, 0, 0, 0, 0x10, 0, 0, 0, 0x00, 0, 0, 0,  // MODEL      @112, 16 B
    0x02, 0, 0, 0, 0x80, 0, 0, 0, 0x48, 0, 0, 0, 0x06, 0, 0, 0,  // TENSORS    @128, 72 B, 6
    0x03, 0, 0, 0, 0xd0, 0, 0, 0, 0x20, 0, 0, 0, 0x01, 0, 0, 0,  // OPS        @208, 32 B, 1
    0x04, 0, 0, 0, 0xf0, 0, 0, 0, 0x16, 0, 0, 0, 0x04, 0, 0, 0,  // CONSTANTS  @240, 22 B, 4
    0x05, 0, 0, 0, 0x10, 1, 0, 0, 0x18, 0, 0, 0, 0x02, 0, 0, 0,  // PLAN       @272, 24 B, 2 acts
    // ---- MODEL (112 .. 128)
    0x00, 0, 0, 0,                       // input t0
    0x05, 0, 0, 0,                       // output t5
    0x00, 0x00, 0x00, 0x3f,              // f32 0.5
    0x00, 0x00, 0x80, 0x3e,              // f32 0.25
    // ---- TENSORS (128 .. 200): u16 N,H,W,C | type | zp | storage | bits
    1, 0, 1, 0, 1, 0, 4, 0, 0x01, 0xff, 0x00, 0x00,  // t0 int8 zp -1, ARENA
    2, 0, 1, 0, 1, 0, 4, 0, 0x01, 0x00, 0x02, 0x01,  // t1 int8, PACKED 1 bit
    1, 0, 1, 0, 1, 0, 2, 0, 0x02, 0x00, 0x01, 0x00,  // t2 int32, RAW
    1, 0, 1, 0, 1, 0, 2, 0, 0x02, 0x00, 0x01, 0x00,  // t3 int32, RAW
    1, 0, 1, 0, 1, 0, 2, 0, 0x02, 0x00, 0x03, 0x00,  // t4 int32, S8
    1, 0, 1, 0, 1, 0, 2, 0, 0x01, 0x03, 0x00, 0x00,  // t5 int8 zp 3, ARENA
    0, 0, 0, 0, 0, 0, 0, 0,                          // padding to 208
    // ---- OPS (208 .. 240)
    0x03, 0x05, 0x01, 0x04,              // FULLY_CONNECTED, 5 inputs, 1 output, 4 words
    0, 0, 1, 0, 2, 0, 3, 0, 4, 0,        // inputs t0..t4
    5, 0,                                // output t5 (12 index bytes: already 4-aligned)
    0x00, 0x00, 0x00, 0x00,              // filter_offset 0
    0x80, 0xff, 0xff, 0xff,              // act_min -128
    0x7f, 0x00, 0x00, 0x00,              // act_max 127
    0x01, 0x00, 0x00, 0x00,              // rounding DOUBLE
    // ---- CONSTANTS (240 .. 262)
    0xff, 0x01,                          // t1 code table: index 0 -> -1, index 1 -> 1
    0x36,                                // indices 0,1,1,0,1,1,0,0 LSB first = 0b00110110
    0x00,                                // padding to 4
    0x64, 0x00, 0x00, 0x00, 0x38, 0xff, 0xff, 0xff,  // t2 100, -200
    0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x50,  // t3 2^30, 0x50000000
    0xff, 0xfe,                          // t4 -1, -2 as int8
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0,        // padding to 272
    // ---- PLAN (272 .. 296)
    0x10, 0, 0, 0,                       // arena_size 16
    0x10, 0, 0, 0,                       // arena_lower_bound 16
    0x00, 0, 0, 0,                       // t0 at 0
    0x04, 0, 0, 0,                       // t5 at 4
    0x00, 0, 0, 0,                       // op 0 scratch (none)
    0x08, 0, 0, 0,                       // op 0 decode region at 8
};

TEST(FlyFile, GoldenBytesOfATinyModel) {
  const std::string b = write_fly(tiny_graph(), tiny_plan());
  ASSERT_EQ(b.size(), sizeof kGolden);
  for (size_t i = 0; i < b.size(); ++i) EXPECT_EQ(uint8_t(b[i]), kGolden[i]) << "byte " << i;
  // And back: the golden bytes are the same graph (no names, exact float scales here).
  const FlyModel m = read_fly(std::string_view(reinterpret_cast<const char*>(kGolden), sizeof kGolden));
  EXPECT_TRUE(m.graph == tiny_graph());
  EXPECT_EQ(m.plan, tiny_plan());
  EXPECT_EQ(m.version_major, 2u);
  EXPECT_EQ(m.version_minor, 0u);
  EXPECT_FALSE(m.host_info);
  EXPECT_EQ(m.storage[1], (FlyStorage{FLYNET_STORAGE_PACKED, 1}));
  EXPECT_EQ(m.storage[4], (FlyStorage{FLYNET_STORAGE_S8, 0}));
  // Sizes: header 112, graph 16 + 72 + 32, weights 3 (table + bits), per-channel 8 + 8 + 2,
  // plan 24, padding 8 + 1 + 10; lower bound 8 weights x 1 bit + 2 x (4 + 4 + 1) = 1 + 18.
  const FlySizes& s = m.sizes;
  EXPECT_EQ(s.file, 296u);
  EXPECT_EQ(s.header, 112u);
  EXPECT_EQ(s.graph, 120u);
  EXPECT_EQ(s.weights, 3u);
  EXPECT_EQ(s.channel_params, 18u);
  EXPECT_EQ(s.other_constants, 0u);
  EXPECT_EQ(s.plan, 24u);
  EXPECT_EQ(s.padding, 19u);
  EXPECT_EQ(s.lower_bound, 19u);
  EXPECT_EQ(s.arena_size, 16u);
  EXPECT_EQ(fly_decode_sizes(tiny_graph(), m.storage), std::vector<uint32_t>{8});
}

// The same model as flynet 1.0 wrote it: version 1.0, and a plan whose decode region also held the
// decoded weights (arena 24; the bytes differ from kGolden at 4, 20..23, 28..31, 272 and 276). A
// current reader reads it as it is: its decode region is larger than the current rule needs.
TEST(FlyFile, AVersion1FileStillReads) {
  std::string b(reinterpret_cast<const char*>(kGolden), sizeof kGolden);
  b[4] = 1;
  b[272] = b[276] = 24;
  const uint8_t crcs[8] = {0x58, 0x8d, 0x63, 0x3d, 0x29, 0x62, 0x0f, 0xe5};  // by Python zlib.crc32, as kGolden's
  std::memcpy(&b[20], crcs, 4);
  std::memcpy(&b[28], crcs + 4, 4);
  const FlyModel m = read_fly(b);
  EXPECT_EQ(m.version_major, 1u);
  EXPECT_TRUE(m.graph == tiny_graph());
  EXPECT_EQ(m.plan.arena_size, 24u);
  EXPECT_EQ(m.plan.decode_offsets, std::vector<uint32_t>{8});
  // A graph without packed conv, depthwise or FC weights is still written as 1.0.
  IntGraph g = tiny_graph();
  g.tensors[1].data = {1, 2, 3, 4, 5, 6, 7, 8};  // 8 distinct codes: stored RAW
  EXPECT_EQ(read_fly(write_fly(g, tiny_plan())).version_major, 1u);
}

// ------------------------------------------------------------------------------- round trips

// Every storage: packed 3-bit weights, raw weights, raw bias/mult, S8 shifts, S16 gather
// indices, an absent bias, a MAXIMUM without parameters, names, meta and scales.
IntGraph mixed_graph(uint32_t seed) {
  std::mt19937 rng(seed);
  IntGraph g;
  auto act = [&](std::array<int32_t, 4> d, int32_t zp, std::string name) {
    IntTensor t;
    t.name = std::move(name);
    t.dims = d;
    t.zero_point = zp;
    t.scale = 0.01 + 0.001 * double(rng() % 100);
    return g.add_tensor(t);
  };
  auto i32 = [&](std::vector<int32_t> v, std::string name) {
    IntTensor t;
    t.name = std::move(name);
    t.type = FLYNET_TYPE_INT32;
    t.dims = {1, 1, 1, int32_t(v.size())};
    t.data.resize(4 * v.size());
    std::memcpy(t.data.data(), v.data(), t.data.size());
    return g.add_tensor(t);
  };
  auto i8 = [&](std::array<int32_t, 4> d, std::vector<int> codes, std::string name, int levels) {
    IntTensor t;
    t.name = std::move(name);
    t.dims = d;
    t.levels = levels;
    for (int64_t k = 0; k < t.numel(); ++k) t.data.push_back(uint8_t(int8_t(codes[rng() % codes.size()])));
    for (int c = 0; c < d[0]; ++c) t.channel_scales.push_back(0.001 * (1 + c));
    return g.add_tensor(t);
  };
  std::vector<int> all;
  for (int v = -127; v <= 127; ++v) all.push_back(v);
  // Tensor indices: 0 x, 1..4 conv w/bias/mult/shift, 5 conv out, 6..8 fc w/mult/shift,
  // 9 fc out, 10 gather index, 11 gather out, 12 max out.
  const int32_t x = act({1, 6, 6, 3}, -5, "input");
  const int32_t w1 = i8({8, 3, 3, 3}, {-7, -5, -3, -1, 1, 3, 5, 7}, "conv.weight", 8);
  const int32_t b1 = i32(std::vector<int32_t>(8, 7), "conv.bias");
  const int32_t m1 = i32(std::vector<int32_t>(8, 1 << 30), "conv.mult");
  const int32_t s1 = i32({-3, -2, -1, 0, 1, 2, 3, 4}, "conv.shift");
  const int32_t y1 = act({1, 6, 6, 8}, 2, "conv");
  IntOp conv{"conv", FLYNET_OP_CONV2D, {x, w1, b1, m1, s1}, {y1}, {}};
  conv.set_params(flynet_conv2d_params{1, 1, 1, 1, 1, 1, -128, 127, 1});
  g.ops.push_back(conv);
  const int32_t w2 = i8({140, 1, 1, 288}, all, "fc.weight", 0);
  const int32_t m2 = i32({1 << 30}, "fc.mult"), s2 = i32({-5}, "fc.shift");
  const int32_t y2 = act({1, 1, 1, 140}, 0, "fc");
  IntOp fc{"fc", FLYNET_OP_FULLY_CONNECTED, {y1, w2, -1, m2, s2}, {y2}, {}};
  fc.set_params(flynet_fully_connected_params{0, -128, 127, 1});
  g.ops.push_back(fc);
  std::vector<int32_t> idx;
  for (int k = 0; k < 10; ++k) idx.push_back(int32_t(rng() % 140));
  idx[0] = 139;  // > 127: S16
  const int32_t ix = i32(idx, "gather.index");
  const int32_t y3 = act({1, 1, 1, 10}, 0, "gather");
  IntOp ga{"gather", FLYNET_OP_CHANNEL_GATHER, {y2, ix}, {y3}, {}};
  ga.set_params(flynet_channel_gather_params{0});
  g.ops.push_back(ga);
  const int32_t y4 = act({1, 1, 1, 10}, 0, "max");
  g.ops.push_back(IntOp{"max", FLYNET_OP_MAXIMUM, {y3, y3}, {y4}, {}});
  g.input = x;
  g.output = y4;
  g.meta = {{"arch.arch", "flynet"}, {"quant.rounding", "double"}, {"empty", ""}};
  return g;
}

FlyPlan simple_plan(const IntGraph& g) {
  FlyPlan p;
  uint32_t at = 0;
  for (const IntTensor& t : g.tensors) {
    p.tensor_offsets.push_back(t.constant() ? 0 : at);
    if (!t.constant()) at += uint32_t((t.bytes() + 3) / 4 * 4);
  }
  p.scratch_offsets.assign(g.ops.size(), at);
  p.decode_offsets.assign(g.ops.size(), at + 64);
  p.arena_size = at + 64 + 1024;
  p.arena_lower_bound = at;
  return p;
}

TEST(FlyFile, RoundTripWithHostInfoGivesTheSameGraph) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    const IntGraph g = mixed_graph(seed);
    const FlyPlan plan = simple_plan(g);
    FlyWriteOptions o;
    o.host_info = true;
    const std::string b = write_fly(g, plan, o);
    const FlyModel m = read_fly(b, "mixed.fly");
    EXPECT_TRUE(m.host_info);
    EXPECT_TRUE(m.graph == g);
    EXPECT_EQ(m.plan, plan);
    EXPECT_EQ(m.storage[1], (FlyStorage{FLYNET_STORAGE_PACKED, 3}));
    EXPECT_EQ(m.storage[2].storage, FLYNET_STORAGE_RAW);  // bias
    EXPECT_EQ(m.storage[3].storage, FLYNET_STORAGE_RAW);  // multipliers
    EXPECT_EQ(m.storage[4].storage, FLYNET_STORAGE_S8);   // shifts
    EXPECT_EQ(m.storage[6].storage, FLYNET_STORAGE_RAW);  // 255 distinct codes
    EXPECT_EQ(m.storage[7].storage, FLYNET_STORAGE_RAW);  // per-tensor multiplier
    EXPECT_EQ(m.storage[8].storage, FLYNET_STORAGE_S8);   // per-tensor shift
    EXPECT_EQ(m.storage[10].storage, FLYNET_STORAGE_S16); // an index of 139
    // Writing what was read gives the same bytes.
    EXPECT_EQ(write_fly(m.graph, m.plan, o), b);

    // Without host info: the device view, identical but for names, meta and scales.
    const FlyModel d = read_fly(write_fly(g, plan));
    IntGraph want = g;
    for (IntTensor& t : want.tensors) {
      t.name.clear();
      t.channel_scales.clear();
      t.levels = 0;
      t.scale = 0;
    }
    for (IntOp& o2 : want.ops) o2.name.clear();
    want.meta.clear();
    want.tensors[size_t(g.input)].scale = float(g.tensors[size_t(g.input)].scale);
    want.tensors[size_t(g.output)].scale = float(g.tensors[size_t(g.output)].scale);
    EXPECT_TRUE(d.graph == want);
    EXPECT_LT(d.sizes.file, m.sizes.file);
    EXPECT_EQ(d.sizes.host_info, 0u);
    // The only differences: the HOST section, its section table entry and padding.
    EXPECT_EQ(m.sizes.file + d.sizes.header + d.sizes.padding,
              d.sizes.file + m.sizes.header + m.sizes.padding + m.sizes.host_info);
  }
}

TEST(FlyFile, StorageChoice) {
  const IntGraph g = mixed_graph(7);
  const std::vector<FlyStorage> s = choose_fly_storage(g);
  EXPECT_EQ(s[0].storage, FLYNET_STORAGE_ARENA);
  EXPECT_EQ(s[1], (FlyStorage{FLYNET_STORAGE_PACKED, 3}));
  // A tensor whose packed form (code table included) is not smaller stays raw: 8 codes in 11
  // elements -> 3 bits: 8 + 5 = 13 > 11; in 14 elements: 8 + 6 = 14, not smaller; in 15: 8 + 6.
  IntGraph h = g;
  for (int64_t n : {11, 14, 15}) {
    h.tensors[1].dims = {1, 1, 1, int32_t(n)};
    h.tensors[1].data.clear();
    for (int64_t k = 0; k < n; ++k) h.tensors[1].data.push_back(uint8_t(int8_t(2 * (k % 8) - 7)));
    const FlyStorage want = n < 15 ? FlyStorage{FLYNET_STORAGE_RAW, 0} : FlyStorage{FLYNET_STORAGE_PACKED, 3};
    EXPECT_EQ(choose_fly_storage(h)[1], want) << n;
  }
  // A shift tensor also used as something else stays raw.
  IntGraph k = g;
  k.ops[0].inputs[2] = k.ops[0].inputs[4];  // the shifts are also the bias
  EXPECT_EQ(choose_fly_storage(k)[4].storage, FLYNET_STORAGE_RAW);
  // All codes equal: 1 bit.
  IntGraph one = g;
  std::fill(one.tensors[1].data.begin(), one.tensors[1].data.end(), uint8_t(1));
  EXPECT_EQ(choose_fly_storage(one)[1], (FlyStorage{FLYNET_STORAGE_PACKED, 1}));
}

// ------------------------------------------------------------------------------- bit packing

// The naive definition: bit j of the stream is bit j%8 of byte j/8; index k's bit i is bit
// k*bits + i of the stream.
std::vector<uint8_t> naive_pack(const std::vector<uint32_t>& idx, int bits) {
  std::vector<uint8_t> out((idx.size() * size_t(bits) + 7) / 8, 0);
  for (size_t k = 0; k < idx.size(); ++k)
    for (int i = 0; i < bits; ++i)
      if ((idx[k] >> i) & 1u) {
        const size_t j = k * size_t(bits) + size_t(i);
        out[j / 8] = uint8_t(out[j / 8] | (1u << (j % 8)));
      }
  return out;
}

std::vector<uint32_t> naive_unpack(const std::vector<uint8_t>& stream, size_t count, int bits) {
  std::vector<uint32_t> out(count, 0);
  for (size_t k = 0; k < count; ++k)
    for (int i = 0; i < bits; ++i) {
      const size_t j = k * size_t(bits) + size_t(i);
      out[k] |= uint32_t((stream[j / 8] >> (j % 8)) & 1u) << i;
    }
  return out;
}

TEST(FlyFile, PackingAtEveryWidthMatchesANaiveBitLoop) {
  std::mt19937 rng(11);
  for (int bits = 1; bits <= 8; ++bits)
    for (size_t count : {size_t(0), size_t(1), size_t(2), size_t(7), size_t(8), size_t(9), size_t(63), size_t(1000)}) {
      SCOPED_TRACE("bits " + std::to_string(bits) + ", count " + std::to_string(count));
      std::vector<uint32_t> idx(count);
      for (uint32_t& v : idx) v = rng() % (1u << bits);
      if (count) idx.back() = (1u << bits) - 1;  // the last field ends on the stream's last bits
      const std::vector<uint8_t> packed = pack_bits(idx, bits);
      EXPECT_EQ(packed, naive_pack(idx, bits));
      EXPECT_EQ(packed.size(), (count * size_t(bits) + 7) / 8);
      EXPECT_EQ(unpack_bits(packed.data(), packed.size(), count, bits), idx);
      // Unpacking random streams (not produced by pack_bits) too.
      std::vector<uint8_t> stream(packed.size());
      for (uint8_t& b : stream) b = uint8_t(rng());
      EXPECT_EQ(unpack_bits(stream.data(), stream.size(), count, bits), naive_unpack(stream, count, bits));
    }
  EXPECT_THROW(pack_bits({4}, 2), Error);
  EXPECT_THROW(pack_bits({0}, 9), Error);
}

// ------------------------------------------------------------------------------- errors

std::string message_of(std::string_view bytes) {
  try {
    read_fly(bytes, "m.fly");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::format);
    return e.message();
  }
  return "no error";
}

void refresh_crcs(std::string& b) {
  const uint32_t header_end = 32 + 16 * uint32_t(uint8_t(b[12]));
  auto put = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + size_t(i)] = char(uint8_t(v >> (8 * i)));
  };
  put(20, uint32_t(crc32(0, reinterpret_cast<const Bytef*>(b.data()) + header_end, uInt(b.size() - header_end))));
  uint32_t c = uint32_t(crc32(0, reinterpret_cast<const Bytef*>(b.data()), 28));
  c = uint32_t(crc32(c, reinterpret_cast<const Bytef*>(b.data()) + 32, header_end - 32));
  put(28, c);
}

TEST(FlyFile, ReaderMessagesNameTheFileAndTheProblem) {
  const std::string good(reinterpret_cast<const char*>(kGolden), sizeof kGolden);
  EXPECT_EQ(message_of(good.substr(0, 20)), "truncated .fly file: 20 bytes, less than its header (m.fly)");
  EXPECT_EQ(message_of(good.substr(0, 200)), "truncated .fly file: 200 of 296 bytes (m.fly)");
  std::string b = good;
  b[0] = 'X';
  EXPECT_EQ(message_of(b), "not a .fly file (bad magic) (m.fly)");
  b = good;
  b[4] = 3;
  b[6] = 1;
  EXPECT_EQ(message_of(b), ".fly version 3.1 is newer than this reader reads (1.x to 2.x) (m.fly)");
  b[4] = 0;
  EXPECT_EQ(message_of(b), ".fly version 0.1 is older than this reader reads (1.x to 2.x) (m.fly)");
  b = good;
  b[150] ^= 1;
  EXPECT_EQ(message_of(b), "corrupt .fly file: payload CRC mismatch (m.fly)");
  b = good;
  b[40] ^= 1;
  EXPECT_EQ(message_of(b), "corrupt .fly file: header CRC mismatch (m.fly)");
  b = good;
  b[208] = 99;  // op code
  refresh_crcs(b);
  EXPECT_EQ(message_of(b), "corrupt .fly file: op 0 (record at 0xd0) has an unknown op code 99 (m.fly)");
  b = good;
  b[212] = 9;  // input index 9 of 6 tensors
  refresh_crcs(b);
  EXPECT_EQ(message_of(b), "corrupt .fly file: op 0 (record at 0xd0) names tensor 9 of 6 (m.fly)");
  b = good;
  b[138] = 7;  // t0 storage
  refresh_crcs(b);
  EXPECT_EQ(message_of(b), "corrupt .fly file: tensor 0 (record at 0x80) has an invalid storage 7/0 (m.fly)");
  b = good;
  for (size_t k = 128; k < 136; ++k) b[k] = char(0xff);  // t0 is 65535^4: 2^64 - 2^50 elements
  refresh_crcs(b);
  EXPECT_EQ(message_of(b), "corrupt .fly file: tensor 0 (record at 0x80) is larger than 2 GB (m.fly)");
  // Trailing bytes (a larger flash region) are ignored.
  EXPECT_TRUE(read_fly(good + std::string(13, '\x5a')).graph == tiny_graph());
}

TEST(FlyFile, WriterRejectsWhatTheFormatCannotHold) {
  auto code_of = [](const IntGraph& g, const FlyPlan& p) {
    try {
      write_fly(g, p);
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::internal;
  };
  IntGraph g = tiny_graph();
  g.tensors[0].dims = {1, 1, 1, 70000};
  EXPECT_EQ(code_of(g, tiny_plan()), ErrorCode::unsupported);
  g = tiny_graph();
  g.ops[0].inputs[1] = 6;
  EXPECT_EQ(code_of(g, tiny_plan()), ErrorCode::format);
  g = tiny_graph();
  g.ops[0].op = 77;
  EXPECT_EQ(code_of(g, tiny_plan()), ErrorCode::format);
  g = tiny_graph();
  g.tensors[2].data.pop_back();
  EXPECT_EQ(code_of(g, tiny_plan()), ErrorCode::format);
  g = tiny_graph();
  g.tensors[0].scale = 0;
  EXPECT_EQ(code_of(g, tiny_plan()), ErrorCode::format);
  FlyPlan p = tiny_plan();
  p.tensor_offsets[5] = 22;  // y (2 bytes) at 22 fits 24 but is not 4-aligned
  EXPECT_EQ(code_of(tiny_graph(), p), ErrorCode::format);
  p = tiny_plan();
  p.tensor_offsets.pop_back();
  EXPECT_EQ(code_of(tiny_graph(), p), ErrorCode::format);
}

// ----------------------------------------------------------------------------- flash budget

// The budget of issue #7 (1.05 x lower bound + 4 KB) is about what the device keeps in flash:
// the host-info section, which it never reads, does not count. Figures by hand.
TEST(FlyFile, FlashBudgetIsJudgedWithoutTheHostInfo) {
  FlySizes s;
  s.file = 10000;
  s.host_info = 3000;
  s.lower_bound = 4000;
  EXPECT_EQ(s.device(), 7000u);
  EXPECT_DOUBLE_EQ(s.ratio(), 1.75);   // 7000 / 4000, not 10000 / 4000
  EXPECT_EQ(s.budget(), 8296u);        // 4200 + 4096
  EXPECT_TRUE(s.within_budget());      // 7000 <= 8296 (the whole file, 10000, would not be)
  s.host_info = 0;
  EXPECT_DOUBLE_EQ(s.ratio(), 2.5);
  EXPECT_FALSE(s.within_budget());

  // The budget in whole bytes rounds 1.05 x bound down; the check compares with the exact value.
  s.lower_bound = 1001;                // 1.05 x 1001 = 1051.05
  EXPECT_EQ(s.budget(), 5147u);
  s.file = 5147;
  EXPECT_TRUE(s.within_budget());
  s.file = 5148;
  EXPECT_FALSE(s.within_budget());

  s.lower_bound = 0;                   // a graph without constants
  EXPECT_EQ(s.ratio(), 0.0);
  EXPECT_EQ(s.budget(), 4096u);

  // The tiny model of the golden bytes: 8 one-bit weights (1 byte), 2 biases and 2 multipliers
  // of 4 bytes, 2 shifts of 1 byte: a bound of 19 bytes; the device file is 296 bytes.
  const FlySizes d = read_fly(std::string_view(reinterpret_cast<const char*>(kGolden), sizeof kGolden)).sizes;
  EXPECT_EQ(d.lower_bound, 19u);
  EXPECT_EQ(d.host_info, 0u);
  EXPECT_EQ(d.device(), 296u);
  EXPECT_DOUBLE_EQ(d.ratio(), 296.0 / 19.0);
  EXPECT_EQ(d.budget(), 4115u);        // 1.05 x 19 = 19.95 -> 19, + 4096
  // With host info the file grows, the device's part by its section table entry and padding only.
  IntGraph g = tiny_graph();
  g.tensors[0].name = "a rather long input name that the host info carries";
  g.meta["note"] = std::string(200, 'x');
  FlyWriteOptions o;
  o.host_info = true;
  const FlySizes h = read_fly(write_fly(g, tiny_plan(), o)).sizes;
  EXPECT_GT(h.host_info, 200u);
  EXPECT_EQ(h.lower_bound, 19u);
  EXPECT_EQ(h.device(), h.file - h.host_info);
  EXPECT_LE(h.device(), 296u + 16u + 12u);  // + a section table entry and at most 3 paddings of 4
  EXPECT_DOUBLE_EQ(h.ratio(), double(h.file - h.host_info) / 19.0);
}

}  // namespace
}  // namespace flynet
