// The HDF5 data set reader, through a file on /dev/shm.
#include "flynet/core/data.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = (flynet::fuzz::scratch("h5-data") / "d.h5").string();
  flynet::fuzz::write_file(path, flynet::fuzz::view(data, size));
  flynet::fuzz::expect_error_or_value([&] { flynet::open_dataset(path); });
  return 0;
}
