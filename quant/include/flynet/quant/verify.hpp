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
//
// verify_model is the whole of `flynet verify`: the integer run, the float model beside it, the
// fake-quant simulation, dumps, golden comparison, the emulated board and the gates, in that
// order, into one VerifyReport; the command only parses options and prints the report.
//
//   VerifyOptions o;
//   o.model = "m.fly"; o.data = "fashion-mnist"; o.float_model = "m.h5"; o.max_drop = 0.5;
//   VerifyReport r = verify_model(o);
//   if (!r.passed()) std::puts(r.failures.front().c_str());
#ifndef FLYNET_QUANT_VERIFY_HPP_
#define FLYNET_QUANT_VERIFY_HPP_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flynet/core/data.hpp"
#include "flynet/formats/fly_file.hpp"
#include "flynet/quant/compare.hpp"
#include "flynet/quant/metrics.hpp"
#include "flynet/quant/target_qemu.hpp"

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

/// The failure a golden mismatch gives: which image, op, tensor and element, and the two values.
std::string golden_mismatch_text(const GoldenResult& g);

struct VerifyOptions {
  std::string model;        ///< the .fly file
  std::string data;         ///< data set whose test split is run (required)
  std::string float_model;  ///< the float model (.h5): its outputs beside the integers; empty: none
  std::string dump;         ///< write the golden layout of the first dump_images images here
  std::string golden;       ///< compare layer by layer with the dumps in this directory
  std::string target;       ///< emulated board (qemu_boards()) to run the images on; empty: none
  std::string source;       ///< firmware sources; empty: the copy installed with flynet (QemuTargetOptions::source_dir)
  int64_t samples = 0;      ///< first N test images; 0: all (100 with a target)
  int64_t dump_images = 16;
  int64_t sim_samples = 1000;  ///< images for the fake-quant simulation; 0: skip, < 0: all
  int threads = 2;
  bool profile = false;        ///< with target: instructions per node on the board (QemuTargetOptions::profile)
  double min_agreement = -1;   ///< gate: top-1 agreement int8/float in percent; < 0: none
  double max_drop = -1;        ///< gate: top-1 drop float -> int8 in points; < 0: none
};

/// A QDQ float model's own simulation (qdq.hpp: the float graph with its quantize-dequantize
/// points) on the same images: how far the int8 file is from what the QDQ model computes.
struct VerifyQdq {
  int64_t images = 0;
  double agreement = 0;        ///< top-1 agreement int8/simulation
  double max_abs_diff = 0;     ///< largest |int8 logit (dequantized) - simulated logit|
  double max_lsb_diff = 0;     ///< the same in steps of the output grid
  ErrorMetrics int8_vs_sim;
};

/// The float model on the same images as the integer run.
struct VerifyFloat {
  Accuracy accuracy;           ///< against the labels
  double agreement = 0;        ///< top-1 agreement int8/float
  ErrorMetrics int8_vs_float;  ///< int8 outputs (dequantized) against the float logits
  double drop = 0;             ///< points: 100 x (float top-1 - int8 top-1)
  std::optional<VerifyQdq> qdq;  ///< when the float model records QDQ grids (flynet import of a QDQ model)
};

/// The emulated board's run of the same input codes.
struct VerifyTarget {
  QemuRunResult run;
  int64_t identical = 0;         ///< images whose output codes equal the host's
  int64_t first_difference = -1;  ///< the first image that differs; -1: none
};

struct VerifyReport {
  std::string data;            ///< the test split's source
  std::vector<std::string> classes;  ///< the data set's class names (empty when it has none)
  bool host_info = false;      ///< the file carries host info (needed for the simulation)
  IntRun run;                  ///< the integer reference on the test images
  Accuracy int8;               ///< its outputs against the labels
  std::optional<VerifyFloat> float_model;   ///< with a float model
  std::optional<CompareReport> simulation;  ///< with a float model, host info and sim_samples != 0
  int64_t dumped_images = 0;                ///< images written to VerifyOptions::dump
  std::optional<GoldenResult> golden;       ///< with VerifyOptions::golden
  std::optional<VerifyTarget> target;       ///< with VerifyOptions::target
  std::vector<std::string> failures;        ///< every failed check, in the order found

  bool passed() const { return failures.empty(); }
  double images_per_second() const { return run.seconds > 0 ? double(run.count) / run.seconds : 0.0; }
};

/// The parts of the report, in the order verify_model completes them.
enum class VerifyPart { int8, float_model, simulation, dump, golden, target, gates };

/// The stages asking for progress: "integer reference", "simulation and layers". The parts
/// come as each is complete (an emulated board takes minutes): float_model and simulation only
/// with a float model; dump, golden and target only when asked for; int8 and gates always.
using VerifyHooks = PartHooks<VerifyPart, VerifyReport>;

/// Runs the checks of `o`. A failed check is recorded in the report, not thrown. Throws
/// Error{usage} for options that do not go together (no --data; a drop gate or an agreement
/// gate without a float model; a file without normalisation and no float model), and what the
/// steps throw (unreadable files, images that do not fit, a target that cannot run).
VerifyReport verify_model(const VerifyOptions& o, const VerifyHooks& hooks = {});

}  // namespace flynet

#endif  // FLYNET_QUANT_VERIFY_HPP_
