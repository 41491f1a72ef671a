#include "qdq.hpp"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>

#include "flynet/formats/error.hpp"

namespace flynet::onnx_qdq {

namespace {

constexpr int kUint8 = onnx::TensorProto::UINT8, kInt8 = onnx::TensorProto::INT8, kInt32 = onnx::TensorProto::INT32;

[[noreturn]] void refuse(const std::string& why) { throw Error(ErrorCode::unsupported, why); }

std::string type_name(int type) {
  return type == kInt8 ? "int8" : type == kUint8 ? "uint8" : type == kInt32 ? "int32" : "ONNX type " + std::to_string(type);
}

std::pair<int64_t, int64_t> code_range(int type) {
  if (type == kInt8) return {-128, 127};
  if (type == kUint8) return {0, 255};
  return {INT32_MIN, INT32_MAX};
}

// Which scale element value `e` of a tensor of `dims` uses: 0 per tensor, else its index along the axis.
class SliceIndex {
 public:
  SliceIndex(const QParams& q, const std::vector<int64_t>& dims) : per_tensor_(q.scale.size() == 1) {
    if (per_tensor_) return;
    const int64_t rank = int64_t(dims.size());
    const int64_t axis = q.axis < 0 ? q.axis + rank : q.axis;
    if (axis < 0 || axis >= rank || dims[size_t(axis)] != int64_t(q.scale.size()))
      refuse("quantization axis " + std::to_string(q.axis) + " whose scales do not fit the tensor");
    size_ = dims[size_t(axis)];
    for (int64_t k = axis + 1; k < rank; ++k) inner_ *= dims[size_t(k)];
  }
  size_t operator()(int64_t e) const { return per_tensor_ ? 0 : size_t((e / inner_) % size_); }

 private:
  bool per_tensor_;
  int64_t size_ = 1, inner_ = 1;
};

}  // namespace

std::vector<int64_t> small_ints(const onnx::TensorProto& t) {
  std::vector<int64_t> v;
  if (t.has_raw_data()) {
    for (const char ch : t.raw_data())
      v.push_back(t.data_type() == kInt8 ? int64_t(static_cast<int8_t>(ch)) : int64_t(static_cast<uint8_t>(ch)));
  } else {
    v.assign(t.int32_data().begin(), t.int32_data().end());
  }
  return v;
}

QParams read_params(const Const& scale, const Const* zero, int64_t axis, int data_type) {
  QParams q;
  q.scale = scale.f;
  q.axis = axis;
  if (q.scale.empty() || scale.dims.size() > 1) refuse("a quantization scale that is not a scalar or a vector");
  if (std::any_of(q.scale.begin(), q.scale.end(), [](float s) { return !(s > 0.f) || !std::isfinite(s); }))
    refuse("a quantization scale that is not a positive number");
  q.type = data_type ? data_type : zero ? zero->type : kUint8;
  if (q.type != kInt8 && q.type != kUint8 && !(data_type == kInt32))
    refuse("quantized type " + type_name(q.type) + " (flynet imports int8 and uint8, and int32 biases)");
  q.zero = zero ? zero->i : std::vector<int64_t>(q.scale.size(), 0);
  if (zero && zero->type != q.type) refuse("a zero point of " + type_name(zero->type) + " for " + type_name(q.type) + " data");
  if (q.zero.size() != q.scale.size()) refuse("as many zero points as scales");
  return q;
}

Const quantize(const Const& x, const QParams& q) {
  if (x.f.empty()) refuse("QuantizeLinear of a constant that is not float");
  const SliceIndex at(q, x.dims);
  const auto [lo, hi] = code_range(q.type);
  Const c;
  c.dims = x.dims;
  c.type = q.type;
  for (int64_t e = 0; e < x.numel(); ++e) {
    const size_t k = at(e);
    const float r = std::nearbyint(x.f[size_t(e)] / q.scale[k]);  // ONNX: round half to even
    c.i.push_back(std::clamp(int64_t(r) + q.zero[k], lo, hi));
  }
  return c;
}

Const dequantize(const Const& codes, const QParams& q) {
  if (codes.i.size() != size_t(codes.numel())) refuse("DequantizeLinear of a constant that holds no integer codes");
  const SliceIndex at(q, codes.dims);
  Const c;
  c.dims = codes.dims;
  c.type = onnx::TensorProto::FLOAT;
  for (int64_t e = 0; e < codes.numel(); ++e) {
    const size_t k = at(e);
    c.f.push_back(float(codes.i[size_t(e)] - q.zero[k]) * q.scale[k]);
  }
  return c;
}

ActQuant activation_grid(const QParams& q) {
  if (q.scale.size() != 1) refuse("per-channel activation quantization (flynet quantizes activations per tensor)");
  if (q.type == kInt32) refuse("int32 activations (flynet's activations are int8)");
  return ActQuant{q.scale[0], int32_t(q.zero[0] - (q.type == kUint8 ? 128 : 0))};
}

std::pair<int32_t, int32_t> activation_codes(const QParams& q) {
  const int64_t shift = q.type == kUint8 ? 128 : 0;
  const auto [lo, hi] = code_range(q.type);
  return {int32_t(std::max(lo, q.lo) - shift), int32_t(std::min(hi, q.hi) - shift)};
}

QParams clip_codes(QParams q, const Const* lo, const Const* hi) {
  auto bound = [&](const Const* c, int64_t& at, bool upper) {
    if (!c) return;
    if (c->i.size() != 1 || c->type != q.type) refuse("Clip of quantized codes by a bound that is not one code of their type");
    at = upper ? std::min(at, c->i[0]) : std::max(at, c->i[0]);
  };
  bound(lo, q.lo, false);
  bound(hi, q.hi, true);
  if (q.lo > q.hi) refuse("Clip of quantized codes to an empty range");
  return q;
}

bool same_params(const QParams& a, const QParams& b) {
  return a.scale == b.scale && a.zero == b.zero && a.type == b.type && (a.scale.size() == 1 || a.axis == b.axis);
}

std::vector<float> weight_scales(const QParams& q, const std::vector<int64_t>& dims, int out_axis) {
  if (q.type != kInt8 && q.type != kUint8) refuse(type_name(q.type) + " weights (flynet's weights are int8)");
  const int64_t symmetric = q.type == kInt8 ? 0 : 128;
  for (int64_t z : q.zero)
    if (z != symmetric)
      refuse("asymmetric " + type_name(q.type) + " weights (zero point " + std::to_string(z) +
             "; flynet's int8 weights are symmetric, zero point " + std::to_string(symmetric) + ")");
  const int64_t channels = dims[size_t(out_axis)];
  if (q.scale.size() == 1) return std::vector<float>(size_t(channels), q.scale[0]);
  const int64_t axis = q.axis < 0 ? q.axis + int64_t(dims.size()) : q.axis;
  if (axis != out_axis)
    refuse("weights quantized along axis " + std::to_string(q.axis) + " (flynet's weight scales are per output channel, axis " +
           std::to_string(out_axis) + ")");
  return q.scale;
}

std::vector<int32_t> bias_codes(const Const& codes, const QParams& q, int64_t channels, std::vector<float>& scales) {
  if (q.type != kInt32) refuse(type_name(q.type) + " bias (flynet's biases are int32 or float)");
  if (std::any_of(q.zero.begin(), q.zero.end(), [](int64_t z) { return z != 0; })) refuse("an int32 bias with a zero point");
  if (codes.numel() != channels || (q.scale.size() != 1 && int64_t(q.scale.size()) != channels))
    refuse("an int32 bias that is not one per output channel");
  scales = q.scale;
  return std::vector<int32_t>(codes.i.begin(), codes.i.end());
}

}  // namespace flynet::onnx_qdq
