// The .fly model file (byte layout: the top comment of flynet_format.h): an IntGraph and its
// offline arena plan to bytes and back. This is the plain writer and reader; planning the arena
// is quant's job (quant/include/flynet/quant/export.hpp: export_fly plans, writes and checks the
// file with the C reader the device runs).
//
//   FlyPlan plan = ...;                                  // from quant's planner
//   std::string bytes = write_fly(graph, plan);          // device file (no names)
//   std::string full  = write_fly(graph, plan, {.host_info = true});
//   FlyModel m = read_fly(full, "model.fly");            // m.graph == graph, m.plan == plan
//   std::printf("%.3f x the lower bound\n", m.sizes.ratio());   // without the host info
//
// The writer picks each constant's storage itself (choose_fly_storage): weights whose distinct
// codes fit in fewer than 8 bits are bit-packed with a code table, shifts and channel indices
// are stored as int8/int16, biases and multipliers stay raw int32 so the device reads them in
// place from flash.
#ifndef FLYNET_FORMATS_FLY_FILE_HPP_
#define FLYNET_FORMATS_FLY_FILE_HPP_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flynet/formats/int_graph.hpp"

namespace flynet {

/// How one tensor is stored in the file (flynet_storage and, for PACKED, bits per element).
struct FlyStorage {
  int32_t storage = 0;  ///< FLYNET_STORAGE_*: ARENA for activations
  int32_t bits = 0;     ///< PACKED: 1 .. 8; otherwise 0
  bool operator==(const FlyStorage&) const = default;
};

/// The writer's choice for every tensor of `g` (rules: flynet_format.h, CONSTANTS section).
std::vector<FlyStorage> choose_fly_storage(const IntGraph& g);

/// How a blocked op (PACKED weights of a one-group CONV2D or a DEPTHWISE_CONV2D) decodes its
/// weights a block at a time (flynet_format.h, PLAN).
struct FlyBlocks {
  int32_t units = 0;        ///< output channels (conv) or input channels (depthwise)
  int32_t ch_per_unit = 1;  ///< output channels per unit: 1, or ch_mult for depthwise
  int32_t c_out = 0;        ///< output channels of the op
  uint64_t unit_bytes = 0;  ///< decoded weights of one unit
  uint64_t per_block = 0;   ///< units per block
};

/// The blocks of op `op` for the given storage, or nothing when it decodes its inputs whole.
std::optional<FlyBlocks> fly_blocks(const IntGraph& g, const std::vector<FlyStorage>& storage, size_t op);

/// Bytes of each op's decode region for the given storage: its non-RAW constant inputs decoded,
/// in input order, each rounded up to 4, a blocked op's weights and per-channel inputs one block
/// of them, a FULLY_CONNECTED's PACKED weights none (what the C interpreter computes in prepare).
std::vector<uint32_t> fly_decode_sizes(const IntGraph& g, const std::vector<FlyStorage>& storage);

/// The version major a file of this graph is written with: FLYNET_FILE_VERSION_MAJOR when some
/// conv, depthwise or FC has PACKED weights (a 1.0 reader would size its decode region by the
/// 1.0 rule, larger than the plan's), else FLYNET_FILE_VERSION_MAJOR_MIN (1), which every
/// reader since 1.0 reads.
uint32_t fly_version_major(const IntGraph& g, const std::vector<FlyStorage>& storage);

/// The offline arena plan a file carries. Offsets are multiples of 4.
struct FlyPlan {
  uint32_t arena_size = 0;         ///< bytes of arena: activations, scratch and decode regions
  uint32_t arena_lower_bound = 0;  ///< the planner's lower bound (informational, <= arena_size)
  std::vector<uint32_t> tensor_offsets;   ///< one per tensor: arena offset of each activation (constants: 0)
  std::vector<uint32_t> scratch_offsets;  ///< one per op
  std::vector<uint32_t> decode_offsets;   ///< one per op
  bool operator==(const FlyPlan&) const = default;
};

struct FlyWriteOptions {
  /// Also store what only host tools read: tensor and op names, real-valued scales, per-channel
  /// weight scales, weight levels and the meta map, so that read_fly gives back the IntGraph
  /// exactly. Costs ~8 bytes per output channel plus the names; the device never reads it.
  bool host_info = false;
};

/// The file's bytes. Throws Error{unsupported} for a graph beyond the format's limits (more than
/// 65535 tensors or ops, a dimension above 65535, more than 8 inputs, 2 outputs or 255 parameter
/// words), Error{format} for an inconsistent graph or plan (index out of range, constant size
/// not matching its shape, unknown op, plan offsets not one per tensor/op or misaligned, input
/// or output not an int8 activation with a positive scale).
std::string write_fly(const IntGraph& g, const FlyPlan& plan, const FlyWriteOptions& opt = {});

/// Where the bytes of a file go, and how they compare with the flash lower bound.
struct FlySizes {
  uint64_t file = 0;             ///< the whole file
  uint64_t header = 0;           ///< header and section table
  uint64_t graph = 0;            ///< MODEL, TENSORS and OPS sections (records and parameters)
  uint64_t weights = 0;          ///< int8 constants as stored (packed bits and code tables, or raw)
  uint64_t channel_params = 0;   ///< biases, multipliers, shifts of conv/depthwise/FC as stored
  uint64_t other_constants = 0;  ///< the rest of the constants (channel indices)
  uint64_t plan = 0;             ///< PLAN section
  uint64_t host_info = 0;        ///< HOST section (0 when absent)
  uint64_t padding = 0;          ///< alignment between sections and between constants
  /// Flash lower bound: sum over int8 constants of elements x bits / 8, bits = max(1,
  /// ceil(log2 distinct codes)), plus 4 bytes per bias, 4 per multiplier and 1 per shift element.
  uint64_t lower_bound = 0;
  uint64_t lower_bound_weights = 0;         ///< its weights part
  uint64_t lower_bound_channel_params = 0;  ///< its per-channel part
  uint64_t arena_size = 0;         ///< RAM the plan needs (activations, scratch, decode regions)
  uint64_t arena_lower_bound = 0;  ///< the planner's lower bound for that arena
  uint64_t tensors = 0, ops = 0, constants = 0, packed_constants = 0;

  // The flash budget of issue #7 is about what the device keeps in flash. The device never
  // reads the host-info section (it is there for host tools, and `flynet export` leaves it out
  // unless asked), so every figure below is judged without it; export and info both use these.

  /// The bytes the device reads: the file without its host-info section.
  uint64_t device() const { return file - host_info; }
  /// device() / lower bound (0 when there is no bound: a graph without constants).
  double ratio() const { return lower_bound ? double(device()) / double(lower_bound) : 0.0; }
  /// The budget, 1.05 x lower bound + 4 KB, in whole bytes (rounded down).
  uint64_t budget() const { return uint64_t(1.05 * double(lower_bound)) + 4096; }
  /// device() <= 1.05 x lower bound + 4 KB.
  bool within_budget() const { return double(device()) <= 1.05 * double(lower_bound) + 4096.0; }
};

struct FlyModel {
  /// The graph with every constant decoded to plain bytes (int8, or int32 little-endian).
  /// Without host info: names and meta empty, channel_scales empty, levels 0, and scale 0
  /// except the input's and output's (their float32 values from the MODEL section).
  IntGraph graph;
  FlyPlan plan;
  std::vector<FlyStorage> storage;  ///< how each tensor was stored
  uint32_t version_major = 0, version_minor = 0;
  bool host_info = false;
  FlySizes sizes;
};

/// Parses and validates `bytes` with the checks of the C reader, in the same order (header,
/// CRCs, sections, records, indices, plan offsets). Throws Error{format} naming `file`, with the
/// byte offset where it helps: "not a .fly file (bad magic)", ".fly version 2.0 is newer than
/// this reader (1.x)", "truncated: 812 of 4096 bytes", "payload CRC mismatch", ...
FlyModel read_fly(std::string_view bytes, const std::string& file = {});

/// The size breakdown of `bytes` (read_fly(...).sizes).
FlySizes fly_sizes(std::string_view bytes, const std::string& file = {});

/// Bit packing as the file stores PACKED constants: index k at bits [k*bits, (k+1)*bits) of the
/// stream, LSB first. Every index must be < 2^bits; bits in 1 .. 8 (Error{internal} otherwise).
std::vector<uint8_t> pack_bits(const std::vector<uint32_t>& indices, int bits);
/// The inverse: `count` indices from a stream of at least ceil(count*bits/8) bytes.
std::vector<uint32_t> unpack_bits(const uint8_t* stream, size_t stream_bytes, size_t count, int bits);

}  // namespace flynet

#endif  // FLYNET_FORMATS_FLY_FILE_HPP_
