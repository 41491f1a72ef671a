// The HDF5 data set reader, through a file on /dev/shm; see h5_fuzz.hpp for why each input is
// read twice.
#include "flynet/core/data.hpp"
#include "h5_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = (flynet::fuzz::scratch("h5-data") / "d.h5").string();
  flynet::fuzz::write_file(path, flynet::fuzz::view(data, size));
  flynet::fuzz::read_h5_twice([&] { flynet::open_dataset(path); });
  return 0;
}
