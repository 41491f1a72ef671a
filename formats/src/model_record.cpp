#include "flynet/formats/model_record.hpp"

#include "flynet/formats/error.hpp"

namespace flynet {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::i8: return "i8";
    case DType::i32: return "i32";
    case DType::u8: return "u8";
    case DType::i64: return "i64";
  }
  return "?";
}

TensorRecord TensorRecord::from_f32(std::string name, std::vector<int64_t> shape, const float* values) {
  TensorRecord t;
  t.name = std::move(name);
  t.dtype = DType::f32;
  t.shape = std::move(shape);
  const size_t bytes = size_t(t.numel()) * sizeof(float);
  t.data.resize(bytes);
  if (bytes) std::memcpy(t.data.data(), values, bytes);
  return t;
}

std::vector<float> TensorRecord::to_f32(const std::string& file) const {
  if (dtype != DType::f32)
    throw Error(ErrorCode::format,
                "tensor '" + name + "' holds " + dtype_name(dtype) + " values where float32 (f32) is expected", file);
  std::vector<float> v(static_cast<size_t>(numel()));
  if (data.size() != v.size() * sizeof(float))
    throw Error(ErrorCode::format, "tensor '" + name + "' has " + std::to_string(data.size()) +
                                       " bytes, its shape needs " + std::to_string(v.size() * 4), file);
  if (!v.empty()) std::memcpy(v.data(), data.data(), data.size());
  return v;
}

const TensorRecord* ModelRecord::find(const std::string& name) const {
  for (const TensorRecord& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace flynet
