// The CIFAR reader: the input is data_batch_1.bin and test_batch.bin of a CIFAR-10 folder, or
// train.bin and test.bin of a CIFAR-100 folder when its first byte is odd.
#include "flynet/core/data.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path ten = flynet::fuzz::scratch("cifar") / "10", hundred = flynet::fuzz::scratch("cifar") / "100";
  const std::string_view bytes = flynet::fuzz::view(data, size);
  const bool cifar100 = size > 0 && (data[0] & 1);
  const std::filesystem::path& dir = cifar100 ? hundred : ten;
  flynet::fuzz::write_file(dir / (cifar100 ? "train.bin" : "data_batch_1.bin"), bytes);
  flynet::fuzz::write_file(dir / (cifar100 ? "test.bin" : "test_batch.bin"), bytes);
  flynet::fuzz::expect_error_or_value([&] { flynet::open_dataset(dir.string()); });
  return 0;
}
