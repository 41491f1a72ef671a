// Quantized ONNX (QDQ) for the importer (onnx_import.cpp): the scale and zero point of a
// QuantizeLinear / DequantizeLinear, the constants they quantize or dequantize (weights and
// int32 biases), and the checks that keep flynet's int8 exactly the QDQ model's: per-tensor
// int8/uint8 activations, symmetric int8 weights per output channel, opset 13 and later.
// Each function throws Error{unsupported} with a reason but no node or file; the importer
// adds both.
#ifndef FLYNET_CORE_ONNX_IMPORT_QDQ_HPP_
#define FLYNET_CORE_ONNX_IMPORT_QDQ_HPP_

#include <cstdint>
#include <string>
#include <vector>

#include "flynet/core/fake_quant.hpp"

namespace onnx {
class TensorProto;
}

namespace flynet::onnx_qdq {

// An initializer or Constant: its dims and values (floats for weights, integers for shapes and
// quantized codes), and its ONNX element type.
struct Const {
  std::vector<int64_t> dims;
  std::vector<float> f;
  std::vector<int64_t> i;
  int type = 0;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
  }
};

// The values of an INT8 or UINT8 tensor (libonnx's ParseData has no 8-bit types): its raw
// bytes, or its int32_data field.
std::vector<int64_t> small_ints(const onnx::TensorProto& t);

// A QuantizeLinear's or DequantizeLinear's parameters.
struct QParams {
  std::vector<float> scale;   // one (per tensor) or one per slice along `axis`
  std::vector<int64_t> zero;  // as many as scale
  int64_t axis = 1;
  int type = 0;               // ONNX element type of the quantized side (int8, uint8, int32)
  int64_t lo = INT64_MIN, hi = INT64_MAX;  // a Clip of the codes (PyTorch's reduced ranges)
};

// The parameters from the node's scale and zero point constants (zero == nullptr: absent,
// uint8 zeros) and its axis attribute; `data_type` is the quantized input's type for a
// DequantizeLinear, 0 for a QuantizeLinear (the zero point's type decides).
QParams read_params(const Const& scale, const Const* zero, int64_t axis, int data_type);

// QuantizeLinear of a constant: codes (x / scale rounded half to even, plus zero, saturated).
Const quantize(const Const& x, const QParams& q);
// DequantizeLinear of a constant of codes: (code - zero) * scale as floats.
Const dequantize(const Const& codes, const QParams& q);

// The int8 grid of a per-tensor activation quantization (a uint8 grid shifted by 128), and
// the int8 codes it keeps.
ActQuant activation_grid(const QParams& q);
std::pair<int32_t, int32_t> activation_codes(const QParams& q);
// A Clip of the codes of `q` to [lo, hi] (its bounds in the quantized type).
QParams clip_codes(QParams q, const Const* lo, const Const* hi);
bool same_params(const QParams& a, const QParams& b);

// Scales per output channel of a weight quantized with `q`, whose output channels lie along
// `out_axis` of `dims`: int8 (or uint8 with zero 128), zero points that keep it symmetric.
std::vector<float> weight_scales(const QParams& q, const std::vector<int64_t>& dims, int out_axis);

// A bias of int32 codes: the codes and their scales (one, or one per output channel).
std::vector<int32_t> bias_codes(const Const& codes, const QParams& q, int64_t channels, std::vector<float>& scales);

}  // namespace flynet::onnx_qdq

#endif  // FLYNET_CORE_ONNX_IMPORT_QDQ_HPP_
