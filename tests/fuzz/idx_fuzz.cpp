// The idx reader (plain or gzip). Input: a 2-byte little-endian length L, L bytes of the image
// file, the rest is the label file; train and test get the same pair.
#include "flynet/core/data.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path dir = flynet::fuzz::scratch("idx");
  if (size < 2) return 0;
  const size_t n = std::min<size_t>(size - 2, size_t(data[0]) | size_t(data[1]) << 8);
  const std::string_view images = flynet::fuzz::view(data + 2, n), labels = flynet::fuzz::view(data + 2 + n, size - 2 - n);
  flynet::fuzz::write_file(dir / "train-images-idx3-ubyte", images);
  flynet::fuzz::write_file(dir / "t10k-images-idx3-ubyte", images);
  flynet::fuzz::write_file(dir / "train-labels-idx1-ubyte", labels);
  flynet::fuzz::write_file(dir / "t10k-labels-idx1-ubyte", labels);
  flynet::fuzz::expect_error_or_value([&] { flynet::open_dataset(dir.string()); });
  return 0;
}
