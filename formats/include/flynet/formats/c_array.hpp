// The model as C source for firmware: a header with the shapes, quantization and arena size as
// macros, and a source file with the bytes as an aligned `const uint8_t[]` (it lands in flash).
//
//   CArrayModel m; m.name = "flynet_model"; m.bytes = file_bytes; ...
//   CArraySource c = emit_c_array(m, "flynet_model.h");
//   write_file_atomically("flynet_model.h", c.header); write_file_atomically("flynet_model.c", c.source);
#ifndef FLYNET_FORMATS_C_ARRAY_HPP_
#define FLYNET_FORMATS_C_ARRAY_HPP_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace flynet {

struct CArrayModel {
  std::string name;                      ///< C identifier of the array; macros are its upper case
  std::vector<uint8_t> bytes;            ///< the .fly file
  std::array<int32_t, 4> input_dims{};   ///< NHWC
  double input_scale = 0;
  int32_t input_zero_point = 0;
  std::array<int32_t, 4> output_dims{};  ///< NHWC
  double output_scale = 0;
  int32_t output_zero_point = 0;
  uint64_t arena_bytes = 0;              ///< the planned arena (activations and scratch)
  uint64_t table_bytes = 0;              ///< loader tables (flyref_model_load), 0: no macro
  std::vector<float> input_mean, input_std;  ///< per channel: x = (pixel / 255 - mean) / std
  unsigned alignment = 16;               ///< of the array: the reader needs 4, DMA/caches like 16+
  std::string comment;                   ///< a line saying where the model came from
};

struct CArraySource {
  std::string header, source;
};

/// True when `name` is a C identifier that is not a C99 keyword.
bool is_c_identifier(const std::string& name);

/// The header (to be saved as `header_name`, which the source includes) and the source.
/// Throws Error{usage} for a name that is not a C identifier.
CArraySource emit_c_array(const CArrayModel& m, const std::string& header_name);

}  // namespace flynet

#endif  // FLYNET_FORMATS_C_ARRAY_HPP_
