// How large the same int8 model would be as a .tflite file (TensorFlow Lite's FlatBuffer), for
// the comparison in `flynet info` and the README. We cannot run TensorFlow's converter here,
// so this is an itemised estimate from the FlatBuffer layout of TFLite's schema, counting what
// such a file must hold and never more:
//  - weights at 8 bits, biases and other constant tensors at their size, each in its own
//    Buffer whose data vector is 16-byte aligned (4-byte length + data + padding);
//  - per-channel quantization stored as a float32 scale and an int64 zero point per channel,
//    for every weight tensor and every bias tensor; one of each for every other tensor;
//  - one Tensor table per tensor (shape vector, type, buffer index, name string, quantization
//    table), one Operator table per op (input/output index vectors, builtin options), one
//    OperatorCode per distinct op, one Buffer per tensor, and the Model/SubGraph tables;
//  - tensor names as short as ours (TensorFlow's converter writes much longer ones).
// TFLite has no per-channel multiplier/shift tensors (TFLM derives them at init, in RAM), so
// those are not counted. The result is therefore a lower bound of a real .tflite file.
#ifndef FLYNET_FORMATS_TFLITE_SIZE_HPP_
#define FLYNET_FORMATS_TFLITE_SIZE_HPP_

#include <cstdint>

#include "flynet/formats/int_graph.hpp"

namespace flynet {

struct TfliteSize {
  uint64_t constant_data = 0;   ///< weights, biases, indices (with alignment padding)
  uint64_t quantization = 0;    ///< QuantizationParameters tables and their vectors
  uint64_t tensors = 0;         ///< Tensor tables, shapes, names, Buffer tables
  uint64_t operators = 0;       ///< Operator tables, index vectors, options, operator codes
  uint64_t fixed = 0;           ///< file header, Model and SubGraph tables, metadata
  uint64_t total() const { return constant_data + quantization + tensors + operators + fixed; }
};

TfliteSize estimate_tflite_size(const IntGraph& g);

}  // namespace flynet

#endif  // FLYNET_FORMATS_TFLITE_SIZE_HPP_
