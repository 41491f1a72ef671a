// The HDF5 model loader, through a file on /dev/shm (it reads paths, as the CLI does); see
// h5_fuzz.hpp for why each input is read twice.
#include "flynet/formats/h5_store.hpp"
#include "h5_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = (flynet::fuzz::scratch("h5-model") / "m.h5").string();
  flynet::fuzz::write_file(path, flynet::fuzz::view(data, size));
  flynet::fuzz::read_h5_twice([&] { flynet::load_model_h5(path); });
  return 0;
}
