// Plain records of a stored model: what train writes and quantize reads. No behaviour here:
// the architecture lives in core; formats only knows named strings and named tensors.
#ifndef FLYNET_FORMATS_MODEL_RECORD_HPP_
#define FLYNET_FORMATS_MODEL_RECORD_HPP_

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace flynet {

enum class DType : uint8_t { f32 = 0, i8 = 1, i32 = 2, u8 = 3, i64 = 4 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: case DType::i32: return 4;
    case DType::i8: case DType::u8: return 1;
    case DType::i64: return 8;
  }
  return 0;
}
const char* dtype_name(DType t);

/// One named tensor, row-major, little-endian host bytes.
struct TensorRecord {
  std::string name;           ///< e.g. "b3.mdw.weight"
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  ///< product(shape) * dtype_size(dtype) bytes

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  static TensorRecord from_f32(std::string name, std::vector<int64_t> shape, const float* values);
  /// The values; throws Error{format} naming the tensor and `file` unless dtype is f32.
  std::vector<float> to_f32(const std::string& file = {}) const;
  bool operator==(const TensorRecord&) const = default;
};

/// A whole model: the architecture as key/value strings (core turns them into an ArchSpec),
/// free-form metadata (training results, dataset normalisation, ...) and tensors by name.
struct ModelRecord {
  std::map<std::string, std::string> arch;
  std::map<std::string, std::string> meta;
  std::vector<TensorRecord> tensors;

  const TensorRecord* find(const std::string& name) const;
  bool operator==(const ModelRecord&) const = default;
};

}  // namespace flynet

#endif  // FLYNET_FORMATS_MODEL_RECORD_HPP_
