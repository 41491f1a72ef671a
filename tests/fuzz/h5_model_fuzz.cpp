// The HDF5 model loader, through a file on /dev/shm (it reads paths, as the CLI does).
#include "flynet/formats/h5_store.hpp"
#include "flynet/formats/h5_read.hpp"
#include "fuzz_util.hpp"

// In this process, not in run_isolated's child: see h5::set_isolation_for_fuzzing.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  flynet::h5::set_isolation_for_fuzzing(false);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = (flynet::fuzz::scratch("h5-model") / "m.h5").string();
  flynet::fuzz::write_file(path, flynet::fuzz::view(data, size));
  flynet::fuzz::expect_error_or_value([&] { flynet::load_model_h5(path); });
  return 0;
}
