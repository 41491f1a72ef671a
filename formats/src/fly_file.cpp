#include "flynet/formats/fly_file.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>

#include "flynet/formats/error.hpp"
#include "flynet/formats/limits.hpp"
#include "flynet_format.h"

namespace flynet {

namespace {

constexpr uint32_t kSectionAlign = FLYNET_FILE_SECTION_ALIGN;

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// ---------------------------------------------------------------------------------- roles

// What each op input slot means for storage and the flash bound (flynet_format.h records).
struct Roles {
  std::vector<uint8_t> bias, mult, shift;
  std::vector<int> uses, narrow_uses;  // narrow: a shift or a channel index
};

bool weighted(int32_t op) {
  return op == FLYNET_OP_CONV2D || op == FLYNET_OP_DEPTHWISE_CONV2D || op == FLYNET_OP_FULLY_CONNECTED;
}

Roles roles_of(const IntGraph& g) {
  const size_t nt = g.tensors.size();
  Roles r{std::vector<uint8_t>(nt, 0), std::vector<uint8_t>(nt, 0), std::vector<uint8_t>(nt, 0),
          std::vector<int>(nt, 0), std::vector<int>(nt, 0)};
  for (const IntOp& o : g.ops)
    for (size_t k = 0; k < o.inputs.size(); ++k) {
      const int32_t t = o.inputs[k];
      if (t < 0 || size_t(t) >= nt) continue;
      ++r.uses[size_t(t)];
      const bool w = weighted(o.op);
      if (w && k == 2) r.bias[size_t(t)] = 1;
      if (w && k == 3) r.mult[size_t(t)] = 1;
      if (w && k == 4) r.shift[size_t(t)] = 1;
      if ((w && k == 4) || (o.op == FLYNET_OP_CHANNEL_GATHER && k == 1)) ++r.narrow_uses[size_t(t)];
    }
  return r;
}

int32_t i32_at(const std::vector<uint8_t>& d, size_t k) {
  int32_t v;
  std::memcpy(&v, d.data() + 4 * k, 4);  // stored little-endian; flynet hosts are little-endian
  return v;
}

// Bits a set of d distinct codes needs (at least 1).
int bits_for(size_t distinct) {
  int b = 1;
  while ((size_t(1) << b) < distinct) ++b;
  return b;
}

std::vector<int8_t> distinct_codes(const std::vector<uint8_t>& data) {
  std::set<int8_t> s;
  for (uint8_t b : data) s.insert(int8_t(b));
  return {s.begin(), s.end()};
}

uint64_t stored_bytes(const FlyStorage& s, int32_t type, uint64_t n) {
  switch (s.storage) {
    case FLYNET_STORAGE_RAW: return type == FLYNET_TYPE_INT32 ? 4 * n : n;
    case FLYNET_STORAGE_PACKED: return (uint64_t(1) << s.bits) + (n * uint64_t(s.bits) + 7) / 8;
    case FLYNET_STORAGE_S8: return n;
    case FLYNET_STORAGE_S16: return 2 * n;
    default: return 0;
  }
}

// The stored form of constant t.
std::vector<uint8_t> encode(const IntTensor& t, const FlyStorage& s) {
  const size_t n = size_t(t.numel());
  std::vector<uint8_t> out;
  switch (s.storage) {
    case FLYNET_STORAGE_RAW: return t.data;
    case FLYNET_STORAGE_PACKED: {
      const std::vector<int8_t> codes = distinct_codes(t.data);
      out.assign(size_t(1) << s.bits, 0);
      for (size_t i = 0; i < codes.size(); ++i) out[i] = uint8_t(codes[i]);
      std::vector<uint32_t> idx(n);
      for (size_t k = 0; k < n; ++k)
        idx[k] = uint32_t(std::lower_bound(codes.begin(), codes.end(), int8_t(t.data[k])) - codes.begin());
      const std::vector<uint8_t> bits = pack_bits(idx, s.bits);
      out.insert(out.end(), bits.begin(), bits.end());
      return out;
    }
    case FLYNET_STORAGE_S8:
      for (size_t k = 0; k < n; ++k) out.push_back(uint8_t(int8_t(i32_at(t.data, k))));
      return out;
    case FLYNET_STORAGE_S16:
      for (size_t k = 0; k < n; ++k) {
        const uint16_t v = uint16_t(int16_t(i32_at(t.data, k)));
        out.push_back(uint8_t(v & 0xFF));
        out.push_back(uint8_t(v >> 8));
      }
      return out;
    default: throw Error(ErrorCode::internal, "fly: no stored form for an activation");
  }
}

// ---------------------------------------------------------------------------------- bytes out

struct Out {
  std::string b;
  void u8(uint32_t v) { b.push_back(char(uint8_t(v))); }
  void u16(uint32_t v) {
    u8(v & 0xFF);
    u8((v >> 8) & 0xFF);
  }
  void u32(uint32_t v) {
    u16(v & 0xFFFF);
    u16(v >> 16);
  }
  void u64(uint64_t v) {
    u32(uint32_t(v));
    u32(uint32_t(v >> 32));
  }
  void f32(float f) { u32(std::bit_cast<uint32_t>(f)); }
  void f64(double d) { u64(std::bit_cast<uint64_t>(d)); }
  void bytes(const void* p, size_t n) { b.append(static_cast<const char*>(p), n); }
  void pad_to(size_t a) {
    while (b.size() % a) u8(0);
  }
  void str16(const std::string& s, const std::string& what) {
    if (s.size() > 0xFFFF) throw Error(ErrorCode::unsupported, "cannot write .fly: " + what + " longer than 65535 bytes");
    u16(uint32_t(s.size()));
    bytes(s.data(), s.size());
  }
};

void put32(std::string& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + size_t(i)] = char(uint8_t(v >> (8 * i)));
}

uint32_t crc(const char* p, size_t n, uint32_t c = 0) {
  // zlib's crc32 takes uInt lengths; files are < 4 GB but go in chunks anyway.
  while (n > 0) {
    const uInt k = uInt(std::min<size_t>(n, 1u << 30));
    c = uint32_t(crc32(uLong(c), reinterpret_cast<const Bytef*>(p), k));
    p += k;
    n -= k;
  }
  return c;
}

void validate_for_write(const IntGraph& g, const FlyPlan& plan) {
  auto fail = [](ErrorCode c, const std::string& m) { throw Error(c, "cannot write .fly: " + m); };
  const size_t nt = g.tensors.size(), no = g.ops.size();
  if (nt == 0 || no == 0) fail(ErrorCode::format, "the graph has no tensors or no ops");
  if (nt > FLYNET_FILE_MAX_TENSORS) fail(ErrorCode::unsupported, std::to_string(nt) + " tensors (at most 65535)");
  if (no > FLYNET_FILE_MAX_OPS) fail(ErrorCode::unsupported, std::to_string(no) + " ops (at most 65535)");
  for (const IntTensor& t : g.tensors) {
    const std::string w = "tensor '" + t.name + "'";
    if (t.type != FLYNET_TYPE_INT8 && t.type != FLYNET_TYPE_INT32) fail(ErrorCode::format, w + " has an unknown type");
    for (int32_t d : t.dims) {
      if (d < 1) fail(ErrorCode::format, w + " has a non-positive dimension");
      if (uint32_t(d) > FLYNET_FILE_MAX_DIM) fail(ErrorCode::unsupported, w + " has a dimension above 65535");
    }
    if (t.type == FLYNET_TYPE_INT8 && (t.zero_point < -128 || t.zero_point > 127))
      fail(ErrorCode::format, w + " has a zero point outside int8");
    if (t.type == FLYNET_TYPE_INT32 && t.zero_point != 0) fail(ErrorCode::format, w + " is int32 with a zero point");
    if (uint64_t(t.numel()) * (t.type == FLYNET_TYPE_INT32 ? 4 : 1) > 0x7FFFFFFFu)
      fail(ErrorCode::unsupported, w + " is larger than 2 GB");
    if (t.constant() && t.data.size() != t.bytes()) fail(ErrorCode::format, w + " has data of the wrong size");
  }
  for (const IntOp& o : g.ops) {
    const std::string w = "op '" + o.name + "'";
    const int32_t words = flynet_op_param_words(o.op);
    if (words < 0) fail(ErrorCode::format, w + " has an unknown op code " + std::to_string(o.op));
    if (o.params.size() < size_t(words)) fail(ErrorCode::format, w + " has a short parameter record");
    if (o.params.size() > 255) fail(ErrorCode::unsupported, w + " has more than 255 parameter words");
    if (o.inputs.size() > 8 || o.outputs.empty() || o.outputs.size() > 2)
      fail(ErrorCode::unsupported, w + " has more than 8 inputs or not 1..2 outputs");
    for (int32_t t : o.inputs)
      if (t < -1 || t >= int32_t(nt)) fail(ErrorCode::format, w + " names a tensor out of range");
    for (int32_t t : o.outputs)
      if (t < 0 || t >= int32_t(nt) || g.tensors[size_t(t)].constant())
        fail(ErrorCode::format, w + " has an output that is not an activation");
  }
  for (int32_t io : {g.input, g.output}) {
    if (io < 0 || io >= int32_t(nt)) fail(ErrorCode::format, "input or output tensor out of range");
    const IntTensor& t = g.tensors[size_t(io)];
    if (t.constant() || t.type != FLYNET_TYPE_INT8) fail(ErrorCode::format, "input or output is not an int8 activation");
    const float s = float(t.scale);
    if (!(s > 0.f) || !std::isfinite(s)) fail(ErrorCode::format, "input or output '" + t.name + "' has no positive scale");
  }
  if (plan.tensor_offsets.size() != nt || plan.scratch_offsets.size() != no || plan.decode_offsets.size() != no)
    fail(ErrorCode::format, "the plan does not have one offset per tensor and two per op");
  if (plan.arena_lower_bound > plan.arena_size) fail(ErrorCode::format, "the plan's lower bound exceeds its arena");
  for (size_t t = 0; t < nt; ++t) {
    if (g.tensors[t].constant()) continue;
    const uint32_t off = plan.tensor_offsets[t];
    if (off % FLYNET_FILE_ARENA_ALIGN || uint64_t(off) + g.tensors[t].bytes() > plan.arena_size)
      fail(ErrorCode::format, "tensor '" + g.tensors[t].name + "' is misaligned or outside the planned arena");
  }
  for (size_t k = 0; k < no; ++k)
    for (uint32_t off : {plan.scratch_offsets[k], plan.decode_offsets[k]})
      if (off % FLYNET_FILE_ARENA_ALIGN || off > plan.arena_size)
        fail(ErrorCode::format, "op '" + g.ops[k].name + "' has a region misaligned or outside the planned arena");
}

// ---------------------------------------------------------------------------------- bytes in

class In {
 public:
  In(const uint8_t* p, size_t n, const std::string& file, const char* where, size_t base)
      : p_(p), n_(n), file_(file), where_(where), base_(base) {}
  bool done() const { return pos_ == n_; }
  size_t pos() const { return pos_; }
  const uint8_t* take(size_t k) {
    if (k > n_ - pos_)
      throw Error(ErrorCode::format,
                  std::string("corrupt .fly file: ") + where_ + " ends early at offset " + std::to_string(base_ + pos_),
                  file_);
    const uint8_t* q = p_ + pos_;
    pos_ += k;
    return q;
  }
  uint32_t u8() { return *take(1); }
  uint32_t u16() {
    const uint8_t* q = take(2);
    return uint32_t(q[0]) | uint32_t(q[1]) << 8;
  }
  uint32_t u32() {
    const uint8_t* q = take(4);
    return uint32_t(q[0]) | uint32_t(q[1]) << 8 | uint32_t(q[2]) << 16 | uint32_t(q[3]) << 24;
  }
  uint64_t u64() {
    const uint64_t lo = u32();
    return lo | uint64_t(u32()) << 32;
  }
  double f64() { return std::bit_cast<double>(u64()); }
  std::string str(size_t len) {
    const uint8_t* q = take(len);
    return std::string(reinterpret_cast<const char*>(q), len);
  }

 private:
  const uint8_t* p_;
  size_t n_, pos_ = 0;
  const std::string& file_;
  const char* where_;
  size_t base_;
};

uint32_t rd32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }
uint32_t rd16(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8; }

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

// Decoded (plain little-endian) bytes of a stored constant.
std::vector<uint8_t> decode(const uint8_t* p, const FlyStorage& s, int32_t type, size_t n) {
  std::vector<uint8_t> out;
  switch (s.storage) {
    case FLYNET_STORAGE_RAW: return std::vector<uint8_t>(p, p + (type == FLYNET_TYPE_INT32 ? 4 * n : n));
    case FLYNET_STORAGE_PACKED: {
      const size_t table = size_t(1) << s.bits;
      const std::vector<uint32_t> idx = unpack_bits(p + table, (n * size_t(s.bits) + 7) / 8, n, s.bits);
      out.resize(n);
      for (size_t k = 0; k < n; ++k) out[k] = p[idx[k]];
      return out;
    }
    case FLYNET_STORAGE_S8:
    case FLYNET_STORAGE_S16:
      out.resize(4 * n);
      for (size_t k = 0; k < n; ++k) {
        const int32_t v = s.storage == FLYNET_STORAGE_S8 ? int32_t(int8_t(p[k])) : int32_t(int16_t(rd16(p + 2 * k)));
        std::memcpy(out.data() + 4 * k, &v, 4);
      }
      return out;
    default: return out;
  }
}

}  // namespace

// ------------------------------------------------------------------------------------ packing

std::vector<uint8_t> pack_bits(const std::vector<uint32_t>& idx, int bits) {
  if (bits < 1 || bits > 8) throw Error(ErrorCode::internal, "pack_bits: width must be 1..8");
  std::vector<uint8_t> out((idx.size() * size_t(bits) + 7) / 8, 0);
  uint64_t pos = 0;
  for (uint32_t v : idx) {
    if (v >> bits) throw Error(ErrorCode::internal, "pack_bits: index does not fit the width");
    // A field spans at most two bytes (bits <= 8).
    const size_t byte = size_t(pos >> 3);
    const unsigned sh = unsigned(pos & 7);
    const uint32_t field = v << sh;
    out[byte] = uint8_t(out[byte] | (field & 0xFF));
    if (sh + unsigned(bits) > 8) out[byte + 1] = uint8_t(out[byte + 1] | (field >> 8));
    pos += uint64_t(bits);
  }
  return out;
}

std::vector<uint32_t> unpack_bits(const uint8_t* stream, size_t stream_bytes, size_t count, int bits) {
  if (bits < 1 || bits > 8) throw Error(ErrorCode::internal, "unpack_bits: width must be 1..8");
  if (stream_bytes < (count * size_t(bits) + 7) / 8) throw Error(ErrorCode::internal, "unpack_bits: stream too short");
  std::vector<uint32_t> out(count);
  uint64_t pos = 0;
  for (size_t k = 0; k < count; ++k, pos += uint64_t(bits)) {
    const size_t byte = size_t(pos >> 3);
    const unsigned sh = unsigned(pos & 7);
    uint32_t v = stream[byte];
    if (sh + unsigned(bits) > 8) v |= uint32_t(stream[byte + 1]) << 8;
    out[k] = (v >> sh) & ((1u << bits) - 1u);
  }
  return out;
}

// ------------------------------------------------------------------------------------ storage

std::vector<FlyStorage> choose_fly_storage(const IntGraph& g) {
  const Roles r = roles_of(g);
  std::vector<FlyStorage> s(g.tensors.size());
  for (size_t i = 0; i < g.tensors.size(); ++i) {
    const IntTensor& t = g.tensors[i];
    if (!t.constant()) continue;
    s[i].storage = FLYNET_STORAGE_RAW;
    const size_t n = size_t(t.numel());
    if (t.type == FLYNET_TYPE_INT8) {
      const int b = bits_for(distinct_codes(t.data).size());
      if (b < 8 && (size_t(1) << b) + (n * size_t(b) + 7) / 8 < n) s[i] = {FLYNET_STORAGE_PACKED, b};
    } else if (r.uses[i] > 0 && r.narrow_uses[i] == r.uses[i] && t.data.size() == 4 * n) {
      int32_t lo = 0, hi = 0;
      for (size_t k = 0; k < n; ++k) {
        lo = std::min(lo, i32_at(t.data, k));
        hi = std::max(hi, i32_at(t.data, k));
      }
      if (lo >= -128 && hi <= 127) s[i].storage = FLYNET_STORAGE_S8;
      else if (lo >= -32768 && hi <= 32767) s[i].storage = FLYNET_STORAGE_S16;
    }
  }
  return s;
}

std::optional<FlyBlocks> fly_blocks(const IntGraph& g, const std::vector<FlyStorage>& storage, size_t op) {
  const IntOp& o = g.ops.at(op);
  if ((o.op != FLYNET_OP_CONV2D && o.op != FLYNET_OP_DEPTHWISE_CONV2D) || o.inputs.size() < 2) return std::nullopt;
  const int32_t xi = o.inputs[0], wi = o.inputs[1];
  if (xi < 0 || wi < 0 || size_t(wi) >= storage.size() || size_t(xi) >= g.tensors.size() ||
      storage[size_t(wi)].storage != FLYNET_STORAGE_PACKED)
    return std::nullopt;
  const auto& x = g.tensors[size_t(xi)].dims;
  const auto& w = g.tensors[size_t(wi)].dims;
  FlyBlocks b;
  uint64_t unit;
  if (o.op == FLYNET_OP_DEPTHWISE_CONV2D) {
    // units: input channels, each with its ch_mult output channels at every tap
    if (w[0] != 1 || x[3] < 1 || w[3] % x[3] != 0) return std::nullopt;
    b.units = x[3];
    b.ch_per_unit = w[3] / x[3];
    b.c_out = w[3];
    unit = uint64_t(w[1]) * uint64_t(w[2]) * uint64_t(b.ch_per_unit);
  } else {
    // units: output channels (filter rows); a grouped conv is decoded whole
    if (w[3] != x[3]) return std::nullopt;
    b.units = w[0];
    b.ch_per_unit = 1;
    b.c_out = w[0];
    unit = uint64_t(w[1]) * uint64_t(w[2]) * uint64_t(w[3]);
  }
  uint64_t per = std::max<uint64_t>(FLYNET_FILE_DECODE_BLOCK_BYTES / unit, 1);
  if (per >= 8)
    per &= ~uint64_t(7);
  else if (per >= 4)
    per &= ~uint64_t(3);
  b.unit_bytes = unit;
  b.per_block = std::min<uint64_t>(per, uint64_t(b.units));
  return b;
}

std::vector<uint32_t> fly_decode_sizes(const IntGraph& g, const std::vector<FlyStorage>& storage) {
  std::vector<uint32_t> d(g.ops.size(), 0);
  for (size_t k = 0; k < g.ops.size(); ++k) {
    const std::optional<FlyBlocks> b = fly_blocks(g, storage, k);
    for (size_t j = 0; j < g.ops[k].inputs.size(); ++j) {
      const int32_t t = g.ops[k].inputs[j];
      if (t < 0 || size_t(t) >= storage.size()) continue;
      const FlyStorage& s = storage[size_t(t)];
      if (s.storage == FLYNET_STORAGE_ARENA || s.storage == FLYNET_STORAGE_RAW) continue;
      const IntTensor& x = g.tensors[size_t(t)];
      uint64_t bytes = x.bytes();
      // a packed FC reads its weights as stored; a blocked op holds one block of its weights and of
      // its per-channel inputs (flynet_format.h, PLAN)
      if (g.ops[k].op == FLYNET_OP_FULLY_CONNECTED && j == 1 && s.storage == FLYNET_STORAGE_PACKED)
        bytes = 0;
      else if (b && j == 1)
        bytes = b->per_block * b->unit_bytes;
      else if (b && j >= 2 && j <= 4 && x.numel() == b->c_out)
        bytes = 4 * b->per_block * uint64_t(b->ch_per_unit);
      d[k] += uint32_t(align_up(bytes, 4));
    }
  }
  return d;
}

uint32_t fly_version_major(const IntGraph& g, const std::vector<FlyStorage>& storage) {
  for (size_t k = 0; k < g.ops.size(); ++k) {
    const IntOp& o = g.ops[k];
    const bool packed_fc = o.op == FLYNET_OP_FULLY_CONNECTED && o.inputs.size() > 1 && o.inputs[1] >= 0 &&
                           size_t(o.inputs[1]) < storage.size() &&
                           storage[size_t(o.inputs[1])].storage == FLYNET_STORAGE_PACKED;
    if (packed_fc || fly_blocks(g, storage, k)) return FLYNET_FILE_VERSION_MAJOR;
  }
  return FLYNET_FILE_VERSION_MAJOR_MIN;
}

// ------------------------------------------------------------------------------------ writer

std::string write_fly(const IntGraph& g, const FlyPlan& plan, const FlyWriteOptions& opt) {
  validate_for_write(g, plan);
  const std::vector<FlyStorage> st = choose_fly_storage(g);
  const size_t nt = g.tensors.size();

  struct Section {
    uint32_t id, count;
    std::string bytes;
  };
  std::vector<Section> secs;

  Out model;
  model.u32(uint32_t(g.input));
  model.u32(uint32_t(g.output));
  model.f32(float(g.tensors[size_t(g.input)].scale));
  model.f32(float(g.tensors[size_t(g.output)].scale));
  secs.push_back({FLYNET_SECTION_MODEL, 0, model.b});

  Out tensors;
  uint32_t n_const = 0, n_act = 0;
  for (size_t i = 0; i < nt; ++i) {
    const IntTensor& t = g.tensors[i];
    for (int32_t d : t.dims) tensors.u16(uint32_t(d));
    tensors.u8(uint32_t(t.type));
    tensors.u8(uint32_t(uint8_t(int8_t(t.zero_point))));
    tensors.u8(uint32_t(st[i].storage));
    tensors.u8(uint32_t(st[i].bits));
    (t.constant() ? n_const : n_act) += 1;
  }
  secs.push_back({FLYNET_SECTION_TENSORS, uint32_t(nt), tensors.b});

  Out ops;
  for (const IntOp& o : g.ops) {
    ops.u8(uint32_t(o.op));
    ops.u8(uint32_t(o.inputs.size()));
    ops.u8(uint32_t(o.outputs.size()));
    ops.u8(uint32_t(o.params.size()));
    for (int32_t t : o.inputs) ops.u16(t < 0 ? FLYNET_FILE_NO_TENSOR : uint32_t(t));
    for (int32_t t : o.outputs) ops.u16(uint32_t(t));
    ops.pad_to(4);
    for (int32_t w : o.params) ops.u32(uint32_t(w));
  }
  secs.push_back({FLYNET_SECTION_OPS, uint32_t(g.ops.size()), ops.b});

  Out consts;
  for (size_t i = 0; i < nt; ++i) {
    if (!g.tensors[i].constant()) continue;
    consts.pad_to(FLYNET_FILE_CONSTANT_ALIGN);
    const std::vector<uint8_t> e = encode(g.tensors[i], st[i]);
    consts.bytes(e.data(), e.size());
  }
  secs.push_back({FLYNET_SECTION_CONSTANTS, n_const, consts.b});

  Out pl;
  pl.u32(plan.arena_size);
  pl.u32(plan.arena_lower_bound);
  for (size_t i = 0; i < nt; ++i)
    if (!g.tensors[i].constant()) pl.u32(plan.tensor_offsets[i]);
  for (size_t k = 0; k < g.ops.size(); ++k) {
    pl.u32(plan.scratch_offsets[k]);
    pl.u32(plan.decode_offsets[k]);
  }
  secs.push_back({FLYNET_SECTION_PLAN, n_act, pl.b});

  if (opt.host_info) {
    Out h;
    for (const IntTensor& t : g.tensors) {
      h.str16(t.name, "tensor name '" + t.name.substr(0, 40) + "...'");
      h.f64(t.scale);
      h.u32(uint32_t(t.levels));
      h.u32(uint32_t(t.channel_scales.size()));
      for (double c : t.channel_scales) h.f64(c);
    }
    for (const IntOp& o : g.ops) h.str16(o.name, "op name '" + o.name.substr(0, 40) + "...'");
    h.u32(uint32_t(g.meta.size()));
    for (const auto& [k, v] : g.meta) {
      h.str16(k, "meta key '" + k.substr(0, 40) + "...'");
      h.u32(uint32_t(v.size()));
      h.bytes(v.data(), v.size());
    }
    secs.push_back({FLYNET_SECTION_HOST, 0, h.b});
  }

  // Header and section table, then every section at the next multiple of 16.
  const uint32_t header_end = FLYNET_FILE_HEADER_SIZE + uint32_t(secs.size()) * FLYNET_FILE_SECTION_ENTRY_SIZE;
  Out f;
  f.b.assign(header_end, '\0');
  std::vector<uint32_t> offsets;
  for (const Section& s : secs) {
    f.pad_to(kSectionAlign);
    offsets.push_back(uint32_t(f.b.size()));
    f.bytes(s.bytes.data(), s.bytes.size());
  }
  if (f.b.size() > 0xFFFFFFFFu) throw Error(ErrorCode::unsupported, "cannot write .fly: the file would exceed 4 GB");
  std::string& b = f.b;
  b[0] = char(FLYNET_FILE_MAGIC_0);
  b[1] = char(FLYNET_FILE_MAGIC_1);
  b[2] = char(FLYNET_FILE_MAGIC_2);
  b[3] = char(FLYNET_FILE_MAGIC_3);
  const uint32_t major = fly_version_major(g, st);
  b[4] = char(major & 0xFF);
  b[5] = char(major >> 8);
  b[6] = char(FLYNET_FILE_VERSION_MINOR & 0xFF);
  b[7] = char(FLYNET_FILE_VERSION_MINOR >> 8);
  put32(b, FLYNET_FILE_OFF_FILE_SIZE, uint32_t(b.size()));
  put32(b, FLYNET_FILE_OFF_SECTION_COUNT, uint32_t(secs.size()));
  for (size_t i = 0; i < secs.size(); ++i) {
    const size_t e = FLYNET_FILE_HEADER_SIZE + i * FLYNET_FILE_SECTION_ENTRY_SIZE;
    put32(b, e, secs[i].id);
    put32(b, e + 4, offsets[i]);
    put32(b, e + 8, uint32_t(secs[i].bytes.size()));
    put32(b, e + 12, secs[i].count);
  }
  put32(b, FLYNET_FILE_OFF_PAYLOAD_CRC, crc(b.data() + header_end, b.size() - header_end));
  put32(b, FLYNET_FILE_OFF_HEADER_CRC,
        crc(b.data() + FLYNET_FILE_HEADER_SIZE, header_end - FLYNET_FILE_HEADER_SIZE,
            crc(b.data(), FLYNET_FILE_OFF_HEADER_CRC)));
  return b;
}

// ------------------------------------------------------------------------------------ reader

FlyModel read_fly(std::string_view bytes, const std::string& file) {
  auto bad = [&](const std::string& m) -> Error { return Error(ErrorCode::format, "corrupt .fly file: " + m, file); };
  const uint8_t* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t size = bytes.size();
  FlyModel m;
  m.graph.source = file;
  if (size < FLYNET_FILE_HEADER_SIZE)
    throw Error(ErrorCode::format, "truncated .fly file: " + std::to_string(size) + " bytes, less than its header", file);
  if (p[0] != FLYNET_FILE_MAGIC_0 || p[1] != FLYNET_FILE_MAGIC_1 || p[2] != FLYNET_FILE_MAGIC_2 ||
      p[3] != FLYNET_FILE_MAGIC_3)
    throw Error(ErrorCode::format, "not a .fly file (bad magic)", file);
  m.version_major = rd16(p + FLYNET_FILE_OFF_VERSION_MAJOR);
  m.version_minor = rd16(p + FLYNET_FILE_OFF_VERSION_MINOR);
  if (m.version_major < FLYNET_FILE_VERSION_MAJOR_MIN || m.version_major > FLYNET_FILE_VERSION_MAJOR)
    throw Error(ErrorCode::format,
                ".fly version " + std::to_string(m.version_major) + "." + std::to_string(m.version_minor) + " is " +
                    (m.version_major > FLYNET_FILE_VERSION_MAJOR ? "newer" : "older") + " than this reader reads (" +
                    std::to_string(FLYNET_FILE_VERSION_MAJOR_MIN) + ".x to " + std::to_string(FLYNET_FILE_VERSION_MAJOR) +
                    ".x)",
                file);
  const uint32_t file_size = rd32(p + FLYNET_FILE_OFF_FILE_SIZE);
  if (file_size > size)
    throw Error(ErrorCode::format,
                "truncated .fly file: " + std::to_string(size) + " of " + std::to_string(file_size) + " bytes", file);
  const uint32_t nsec = rd32(p + FLYNET_FILE_OFF_SECTION_COUNT);
  if (nsec < 1 || nsec > FLYNET_FILE_MAX_SECTIONS) throw bad("section count " + std::to_string(nsec) + " (1..16)");
  const uint32_t header_end = FLYNET_FILE_HEADER_SIZE + nsec * FLYNET_FILE_SECTION_ENTRY_SIZE;
  if (header_end > file_size) throw bad("the section table extends past the file size");
  const char* c = bytes.data();
  if (crc(c + FLYNET_FILE_HEADER_SIZE, header_end - FLYNET_FILE_HEADER_SIZE, crc(c, FLYNET_FILE_OFF_HEADER_CRC)) !=
      rd32(p + FLYNET_FILE_OFF_HEADER_CRC))
    throw bad("header CRC mismatch");
  if (crc(c + header_end, file_size - header_end) != rd32(p + FLYNET_FILE_OFF_PAYLOAD_CRC))
    throw bad("payload CRC mismatch");
  if (rd32(p + FLYNET_FILE_OFF_FLAGS) != 0 || rd32(p + FLYNET_FILE_OFF_RESERVED) != 0)
    throw bad("reserved header fields are not zero");

  // Sections.
  struct Sec {
    uint32_t off = 0, size = 0, count = 0;
    bool present = false;
  };
  Sec sec[FLYNET_SECTION_COUNT];
  uint64_t prev_end = header_end;
  for (uint32_t i = 0; i < nsec; ++i) {
    const uint8_t* e = p + FLYNET_FILE_HEADER_SIZE + i * FLYNET_FILE_SECTION_ENTRY_SIZE;
    const uint32_t id = rd32(e), off = rd32(e + 4), sz = rd32(e + 8), cnt = rd32(e + 12);
    if (off % kSectionAlign || off < prev_end || uint64_t(off) + sz > file_size)
      throw bad("section " + std::to_string(i) + " at " + hex(off) + " is misaligned, overlapping or past the end");
    prev_end = uint64_t(off) + sz;
    if (id >= 1 && id < FLYNET_SECTION_COUNT) {
      if (sec[id].present) throw bad("section id " + std::to_string(id) + " appears twice");
      sec[id] = {off, sz, cnt, true};
    }
  }
  for (uint32_t id = FLYNET_SECTION_MODEL; id <= FLYNET_SECTION_PLAN; ++id)
    if (!sec[id].present) throw bad("required section id " + std::to_string(id) + " is missing");
  if (sec[FLYNET_SECTION_MODEL].size != FLYNET_FILE_MODEL_SIZE || sec[FLYNET_SECTION_MODEL].count != 0)
    throw bad("MODEL section of the wrong size");
  const uint32_t nt = sec[FLYNET_SECTION_TENSORS].count, no = sec[FLYNET_SECTION_OPS].count;
  if (nt < 1 || nt > FLYNET_FILE_MAX_TENSORS || sec[FLYNET_SECTION_TENSORS].size != nt * FLYNET_FILE_TENSOR_RECORD_SIZE)
    throw bad("TENSORS section size does not match its count");
  if (no < 1 || no > FLYNET_FILE_MAX_OPS) throw bad("OPS section count " + std::to_string(no));
  if (uint64_t(sec[FLYNET_SECTION_PLAN].size) != 8 + 4 * uint64_t(sec[FLYNET_SECTION_PLAN].count) + 8 * uint64_t(no))
    throw bad("PLAN section size does not match its counts");
  const uint8_t* mp = p + sec[FLYNET_SECTION_MODEL].off;
  const float in_scale = std::bit_cast<float>(rd32(mp + 8)), out_scale = std::bit_cast<float>(rd32(mp + 12));
  if (!(in_scale > 0.f) || !std::isfinite(in_scale) || !(out_scale > 0.f) || !std::isfinite(out_scale))
    throw bad("input or output scale is not a positive number");

  // Tensor records.
  IntGraph& g = m.graph;
  m.storage.resize(nt);
  const uint8_t* tp = p + sec[FLYNET_SECTION_TENSORS].off;
  for (uint32_t i = 0; i < nt; ++i) {
    const uint8_t* r = tp + i * FLYNET_FILE_TENSOR_RECORD_SIZE;
    IntTensor t;
    for (int d = 0; d < 4; ++d) t.dims[size_t(d)] = int32_t(rd16(r + 2 * d));
    t.type = r[8];
    t.zero_point = int8_t(r[9]);
    FlyStorage s{r[10], r[11]};
    const std::string w = "tensor " + std::to_string(i) + " (record at " + hex(sec[FLYNET_SECTION_TENSORS].off + i * 12) + ")";
    for (int32_t d : t.dims)
      if (d < 1) throw bad(w + " has a zero dimension");
    if (t.type != FLYNET_TYPE_INT8 && t.type != FLYNET_TYPE_INT32) throw bad(w + " has an unknown type");
    if (t.type == FLYNET_TYPE_INT32 && t.zero_point != 0) throw bad(w + " is int32 with a zero point");
    // Four 16-bit dimensions reach 2^64 - 2^50: the product is taken unsigned, before numel().
    uint64_t n = t.type == FLYNET_TYPE_INT32 ? 4 : 1;
    for (int32_t d : t.dims) n = limits::mul_sat(n, uint64_t(d));
    if (n > 0x7FFFFFFFu) throw bad(w + " is larger than 2 GB");
    const bool ok = (s.storage == FLYNET_STORAGE_ARENA || s.storage == FLYNET_STORAGE_RAW)
                        ? s.bits == 0
                    : s.storage == FLYNET_STORAGE_PACKED
                        ? t.type == FLYNET_TYPE_INT8 && s.bits >= 1 && s.bits <= 8
                        : (s.storage == FLYNET_STORAGE_S8 || s.storage == FLYNET_STORAGE_S16) && t.type == FLYNET_TYPE_INT32 &&
                              s.bits == 0;
    if (!ok) throw bad(w + " has an invalid storage " + std::to_string(s.storage) + "/" + std::to_string(s.bits));
    m.storage[i] = s;
    g.tensors.push_back(std::move(t));
  }

  // Constants, in tensor order at 4-byte steps.
  const Sec& cs = sec[FLYNET_SECTION_CONSTANTS];
  uint64_t cursor = 0;
  uint32_t n_const = 0, n_act = 0;
  std::vector<uint64_t> const_at(nt, 0);
  for (uint32_t i = 0; i < nt; ++i) {
    if (m.storage[i].storage == FLYNET_STORAGE_ARENA) {
      ++n_act;
      continue;
    }
    ++n_const;
    cursor = align_up(cursor, FLYNET_FILE_CONSTANT_ALIGN);
    const_at[i] = cursor;
    cursor += stored_bytes(m.storage[i], g.tensors[i].type, uint64_t(g.tensors[i].numel()));
    if (cursor > cs.size) throw bad("constant of tensor " + std::to_string(i) + " extends past the CONSTANTS section");
  }
  if (cursor != cs.size || n_const != cs.count) throw bad("CONSTANTS section size or count does not match the tensors");
  for (uint32_t i = 0; i < nt; ++i)
    if (m.storage[i].storage != FLYNET_STORAGE_ARENA)
      g.tensors[i].data =
          decode(p + cs.off + const_at[i], m.storage[i], g.tensors[i].type, size_t(g.tensors[i].numel()));

  // Op records.
  const Sec& os = sec[FLYNET_SECTION_OPS];
  In ops(p + os.off, os.size, file, "OPS section", os.off);
  for (uint32_t k = 0; k < no; ++k) {
    const size_t at = os.off + ops.pos();
    const std::string w = "op " + std::to_string(k) + " (record at " + hex(at) + ")";
    if (os.size - ops.pos() < FLYNET_FILE_OP_HEADER_SIZE) throw bad(w + " is cut short");
    IntOp o;
    o.op = int32_t(ops.u8());
    const uint32_t nin = ops.u8(), nout = ops.u8(), np = ops.u8();
    const int32_t words = flynet_op_param_words(o.op);
    if (words < 0) throw bad(w + " has an unknown op code " + std::to_string(o.op));
    if (nin > 8 || nout < 1 || nout > 2) throw bad(w + " has " + std::to_string(nin) + " inputs, " + std::to_string(nout) + " outputs");
    if (np < uint32_t(words)) throw bad(w + " has a short parameter record");
    if (align_up(2 * (nin + nout), 4) + 4 * np > os.size - ops.pos()) throw bad(w + " extends past the OPS section");
    for (uint32_t j = 0; j < nin + nout; ++j) {
      const uint32_t t = ops.u16();
      if (j < nin && t == FLYNET_FILE_NO_TENSOR) {
        o.inputs.push_back(-1);
        continue;
      }
      if (t >= nt) throw bad(w + " names tensor " + std::to_string(t) + " of " + std::to_string(nt));
      if (j >= nin && m.storage[t].storage != FLYNET_STORAGE_ARENA) throw bad(w + " writes a constant");
      (j < nin ? o.inputs : o.outputs).push_back(int32_t(t));
    }
    ops.take(align_up(2 * (nin + nout), 4) - 2 * (nin + nout));
    for (uint32_t j = 0; j < np; ++j) o.params.push_back(int32_t(ops.u32()));
    g.ops.push_back(std::move(o));
  }
  if (!ops.done()) throw bad("OPS section has bytes after its last record");

  g.input = int32_t(rd32(mp));
  g.output = int32_t(rd32(mp + 4));
  for (uint32_t io : {rd32(mp), rd32(mp + 4)})
    if (io >= nt || m.storage[io].storage != FLYNET_STORAGE_ARENA || g.tensors[io].type != FLYNET_TYPE_INT8)
      throw bad("input or output is not an int8 activation");

  // Plan.
  const Sec& ps = sec[FLYNET_SECTION_PLAN];
  const uint8_t* pp = p + ps.off;
  m.plan.arena_size = rd32(pp);
  m.plan.arena_lower_bound = rd32(pp + 4);
  if (ps.count != n_act || m.plan.arena_lower_bound > m.plan.arena_size)
    throw bad("PLAN section count or lower bound inconsistent");
  m.plan.tensor_offsets.assign(nt, 0);
  for (uint32_t i = 0, a = 0; i < nt; ++i) {
    if (m.storage[i].storage != FLYNET_STORAGE_ARENA) continue;
    const uint32_t off = rd32(pp + 8 + 4 * a++);
    if (off % FLYNET_FILE_ARENA_ALIGN || uint64_t(off) + g.tensors[i].bytes() > m.plan.arena_size)
      throw bad("tensor " + std::to_string(i) + " is misaligned or outside the planned arena");
    m.plan.tensor_offsets[i] = off;
  }
  for (uint32_t k = 0; k < no; ++k) {
    const uint32_t s = rd32(pp + 8 + 4 * n_act + 8 * k), d = rd32(pp + 8 + 4 * n_act + 8 * k + 4);
    if (s % FLYNET_FILE_ARENA_ALIGN || d % FLYNET_FILE_ARENA_ALIGN || s > m.plan.arena_size || d > m.plan.arena_size)
      throw bad("op " + std::to_string(k) + " has a region misaligned or outside the planned arena");
    m.plan.scratch_offsets.push_back(s);
    m.plan.decode_offsets.push_back(d);
  }

  // Host info, or what the device sections alone say.
  if (sec[FLYNET_SECTION_HOST].present) {
    const Sec& hs = sec[FLYNET_SECTION_HOST];
    In h(p + hs.off, hs.size, file, "HOST section", hs.off);
    for (IntTensor& t : g.tensors) {
      t.name = h.str(h.u16());
      t.scale = h.f64();
      t.levels = int32_t(h.u32());
      const uint32_t nc = h.u32();
      if (nc > (hs.size - h.pos()) / 8) throw bad("HOST section: channel scales extend past its end");
      for (uint32_t k = 0; k < nc; ++k) t.channel_scales.push_back(h.f64());
    }
    for (IntOp& o : g.ops) o.name = h.str(h.u16());
    const uint32_t nm = h.u32();
    for (uint32_t k = 0; k < nm; ++k) {
      std::string key = h.str(h.u16());
      g.meta[key] = h.str(h.u32());
    }
    if (!h.done()) throw bad("HOST section has bytes after its last entry");
    m.host_info = true;
  } else {
    g.tensors[size_t(g.input)].scale = in_scale;
    g.tensors[size_t(g.output)].scale = out_scale;
  }

  // Size breakdown.
  FlySizes& z = m.sizes;
  const Roles roles = roles_of(g);
  z.file = file_size;
  z.header = header_end;
  z.graph = sec[FLYNET_SECTION_MODEL].size + sec[FLYNET_SECTION_TENSORS].size + os.size;
  z.plan = ps.size;
  z.host_info = sec[FLYNET_SECTION_HOST].present ? sec[FLYNET_SECTION_HOST].size : 0;
  z.arena_size = m.plan.arena_size;
  z.arena_lower_bound = m.plan.arena_lower_bound;
  z.tensors = nt;
  z.ops = no;
  z.constants = n_const;
  uint64_t weight_bits = 0;
  for (uint32_t i = 0; i < nt; ++i) {
    const IntTensor& t = g.tensors[i];
    if (!t.constant()) continue;
    const uint64_t n = uint64_t(t.numel()), stored = stored_bytes(m.storage[i], t.type, n);
    if (m.storage[i].storage == FLYNET_STORAGE_PACKED) ++z.packed_constants;
    if (t.type == FLYNET_TYPE_INT8) {
      z.weights += stored;
      weight_bits += n * uint64_t(bits_for(distinct_codes(t.data).size()));
    } else if (roles.bias[i] || roles.mult[i] || roles.shift[i]) {
      z.channel_params += stored;
      z.lower_bound_channel_params += n * (roles.shift[i] && !roles.bias[i] && !roles.mult[i] ? 1 : 4);
    } else {
      z.other_constants += stored;
    }
  }
  z.lower_bound_weights = (weight_bits + 7) / 8;
  z.lower_bound = z.lower_bound_weights + z.lower_bound_channel_params;
  z.padding = z.file - z.header - z.graph - z.weights - z.channel_params - z.other_constants - z.plan - z.host_info;
  return m;
}

FlySizes fly_sizes(std::string_view bytes, const std::string& file) { return read_fly(bytes, file).sizes; }

}  // namespace flynet
