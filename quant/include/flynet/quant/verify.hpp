// flynet verify on the host: a .fly file run exactly as the device runs it (FlyRunner: the C99
// reader and interpreter on the file's own arena plan) over a labelled data set, in parallel,
// with the outputs kept for the comparisons the command reports, and layer-by-layer dumps
// written or compared bit for bit ("golden" dumps from a board or an earlier run).
//
// Golden dump layout (a directory):
//   layers.tsv          one line per dumped tensor, in execution order:
//                       op index, op name, output slot, tensor index, tensor name, bytes, offset
//   image_00000.bin ... for each image, every op's outputs back to back in that order (int8
//                       codes; the offsets of layers.tsv), the first image of the set first
//   inputs.bin          the quantized input images, back to back (what a board must run)
//   outputs.bin         their output codes, back to back
// A board produces the same files by copying each node's output tensor after it ran.
#ifndef FLYNET_QUANT_VERIFY_HPP_
#define FLYNET_QUANT_VERIFY_HPP_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "flynet/core/data.hpp"
#include "flynet/formats/fly_file.hpp"

namespace flynet {

struct IntRunOptions {
  int64_t samples = 0;  ///< first N images of the set; 0 = all
  int threads = 2;      ///< TBB threads, one FlyRunner each
};

/// The integer reference's outputs on a data set.
struct IntRun {
  int64_t count = 0;
  int classes = 0;
  std::vector<int8_t> inputs;   ///< [count, input bytes] the quantized images (for targets)
  std::vector<int8_t> codes;    ///< [count, classes] output codes
  std::vector<int32_t> labels;  ///< [count]
  double seconds = 0;           ///< wall time of the integer runs alone
};

/// The input quantization of a .fly file: normalised pixels (pixel/255 - mean) / std quantized
/// with the file's input scale and zero point (round half away from zero, clamp to int8).
struct InputQuant {
  std::vector<float> mean, std;
  double scale = 1;
  int32_t zero_point = 0;
};

/// Runs the first opt.samples images of `data` through the file. Throws Error{shape} when the
/// images do not fit the model's input.
IntRun run_int_reference(const std::string& bytes, const FlyModel& model, const InputQuant& iq,
                         std::shared_ptr<const Dataset> data, const IntRunOptions& opt,
                         const std::function<void(int64_t, int64_t)>& progress = {});

/// One dumped tensor of the golden layout.
struct GoldenLayer {
  int32_t op = 0, slot = 0, tensor = 0;
  std::string op_name, tensor_name;
  uint64_t bytes = 0, offset = 0;
};
std::vector<GoldenLayer> golden_layers(const FlyModel& model);

/// Writes the golden layout of the first `images` inputs of `run` to `dir` (created; files
/// written atomically).
void write_golden(const std::string& dir, const std::string& bytes, const FlyModel& model, const IntRun& run,
                  int64_t images);

/// The first difference between the file's layer outputs and the dumps in `dir`.
struct GoldenResult {
  int64_t images = 0;          ///< images compared
  bool match = true;
  int64_t image = -1;          ///< first mismatching image
  GoldenLayer layer;           ///< its first mismatching tensor (execution order)
  int64_t index = -1;          ///< element index in that tensor
  std::array<int32_t, 4> position{};  ///< N, H, W, C of that element
  int expected = 0, got = 0;   ///< dump value, this run's value
  int64_t differing = 0;       ///< elements of that tensor that differ in that image
};
/// Compares layer by layer for every image_NNNNN.bin in `dir` (with the inputs of `run`; the
/// dump must hold at most run.count images). Throws Error{format} naming the file for a dump
/// whose size or layers.tsv does not match the model.
GoldenResult compare_golden(const std::string& dir, const std::string& bytes, const FlyModel& model,
                            const IntRun& run);

}  // namespace flynet

#endif  // FLYNET_QUANT_VERIFY_HPP_
