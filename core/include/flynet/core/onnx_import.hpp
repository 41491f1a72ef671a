// flynet import: an ONNX model (opsets 11..17) as a flynet Model that every later command takes
// as it takes a trained FlyNet. Parsing, the ONNX checker and shape inference are Debian's
// libonnx; this unit maps the checked graph onto core's Graph (ArchKind::imported, stored as
// graph_text.hpp's node list), converting the input from NCHW to flynet's NHWC. Conv weights
// are OIHW in both, so they are copied as they are.
//
// Everything is read and mapped in memory first: an op or attribute flynet cannot run throws
// Error{unsupported} naming the op, the node and the opset before anything is written.
//
//   ImportOptions o;
//   o.mean = {0.5f}; o.std = {0.25f};
//   Model m = import_onnx("net.onnx", o);
//   save_model(m, "net.h5");
#ifndef FLYNET_CORE_ONNX_IMPORT_HPP_
#define FLYNET_CORE_ONNX_IMPORT_HPP_

#include <string>
#include <vector>

#include "flynet/core/model.hpp"

namespace flynet {

enum class InputLayout { nchw, nhwc };

struct ImportOptions {
  /// The input normalisation x = (pixel/255 - mean) / std (one value or one per channel). Empty:
  /// the file's metadata_props "flynet.mean" / "flynet.std" when present, else not recorded.
  std::vector<float> mean, std;
  /// How the ONNX graph's input is laid out: NCHW (PyTorch) or NHWC (TensorFlow exporters).
  InputLayout layout = InputLayout::nchw;
};

/// Reads, checks and maps `path`. Throws Error{io} (unreadable), Error{format} (not ONNX, fails
/// the checker or shape inference), Error{unsupported} (an op, attribute or opset flynet lacks),
/// each naming `path`.
Model import_onnx(const std::string& path, const ImportOptions& opt);

}  // namespace flynet

#endif  // FLYNET_CORE_ONNX_IMPORT_HPP_
