#include "flynet/formats/tflite_size.hpp"

#include <algorithm>
#include <set>

#include "flynet_format.h"

namespace flynet {

namespace {

uint64_t pad4(uint64_t n) { return (n + 3) & ~uint64_t(3); }
// A FlatBuffer vector: a 4-byte length and the elements, padded to 4 bytes.
uint64_t vec(uint64_t n, uint64_t elem) { return 4 + pad4(n * elem); }
// A table: its 4-byte vtable offset, the fields, and (shared by tables of the same layout, so
// counted once per kind below) a vtable.
uint64_t table(uint64_t field_bytes) { return 4 + pad4(field_bytes); }

}  // namespace

TfliteSize estimate_tflite_size(const IntGraph& g) {
  TfliteSize s;
  // Inputs of conv/depthwise/FC: 0 x, 1 w, 2 bias, 3 mult, 4 shift. The multiplier and shift
  // tensors do not exist in TFLite; weights and biases carry per-channel quantization.
  std::set<int32_t> skip, per_channel;
  for (const IntOp& op : g.ops)
    if (op.op == FLYNET_OP_CONV2D || op.op == FLYNET_OP_DEPTHWISE_CONV2D || op.op == FLYNET_OP_FULLY_CONNECTED) {
      if (op.inputs.size() > 1) per_channel.insert(op.inputs[1]);
      if (op.inputs.size() > 2 && op.inputs[2] >= 0) per_channel.insert(op.inputs[2]);
      for (size_t k = 3; k < op.inputs.size(); ++k) skip.insert(op.inputs[k]);
    }
  for (size_t i = 0; i < g.tensors.size(); ++i) {
    const IntTensor& t = g.tensors[i];
    if (skip.count(int32_t(i))) continue;
    if (t.constant()) {
      // 16-byte aligned data: on average the padding before it is what aligns the next one.
      const uint64_t n = t.bytes();
      s.constant_data += 4 + ((n + 15) & ~uint64_t(15));
    }
    // Channel count: conv/FC weights [O,..], depthwise [1,K,K,O], bias [1,1,1,O]: the largest of
    // the first and last dims is the output channel count for all of them.
    const uint64_t c = per_channel.count(int32_t(i)) ? uint64_t(std::max(t.dims[0], t.dims[3])) : 1;
    // QuantizationParameters: scale (float) and zero_point (int64, 8-aligned) vectors,
    // quantized_dimension.
    s.quantization += table(12) + vec(c, 4) + 4 + c * 8 + 4;
    // Tensor: shape vector (rank 4; biases rank 1), type, buffer, name, quantization; Buffer table.
    const uint64_t rank = t.dims[0] == 1 && t.dims[1] == 1 && t.dims[2] == 1 && t.constant() ? 1 : 4;
    s.tensors += table(20) + vec(rank, 4) + vec(t.name.size() + 1, 1) + table(4);
  }
  std::set<int32_t> codes;
  for (const IntOp& op : g.ops) {
    codes.insert(op.op);
    uint64_t in = 0;
    for (int32_t k : op.inputs)
      if (!skip.count(k)) ++in;
    // Operator: opcode_index, inputs, outputs, builtin options type + table (the largest, conv's,
    // holds padding, strides, dilations, activation: 6 small fields).
    s.operators += table(16) + vec(in, 4) + vec(op.outputs.size(), 4) + table(12);
  }
  // OperatorCode tables (builtin code, version), their vector; vtables, one per table kind
  // (Model, SubGraph, Tensor, Quantization, Operator, options kinds, OperatorCode, Buffer).
  s.operators += vec(codes.size(), 4) + codes.size() * table(12);
  // "TFL3" header and root offset; Model (version, operator_codes, subgraphs, description,
  // buffers, metadata) and SubGraph (tensors, inputs, outputs, operators, name) tables with their
  // offset vectors; the converter's description and min_runtime_version metadata; ~12 vtables.
  const uint64_t nt = g.tensors.size() - skip.size();
  s.fixed = 8 + table(28) + table(20) + vec(nt, 4) + vec(nt + 1, 4) + vec(g.ops.size(), 4) + vec(1, 4) * 3 +
            vec(16, 1) + table(8) + vec(20, 1) + vec(16, 1) + 12 * 16;
  return s;
}

}  // namespace flynet
