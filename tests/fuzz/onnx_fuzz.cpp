// The ONNX importer (flynet import): protobuf parsing, the ONNX checker and shape inference of
// Debian's libonnx, then flynet's mapping onto its graph, through a file on /dev/shm.
#include "flynet/core/onnx_import.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = (flynet::fuzz::scratch("onnx") / "m.onnx").string();
  flynet::fuzz::write_file(path, flynet::fuzz::view(data, size));
  flynet::fuzz::expect_error_or_value([&] { flynet::import_onnx(path, {}); });
  return 0;
}
