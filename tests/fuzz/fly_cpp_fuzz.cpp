// The C++ .fly reader (read_fly) and the host runner's load (FlyRunner: the C reader behind the
// C++ checks, the arena's limit); neither may allocate the arena a hostile plan claims.
#include "flynet/formats/fly_file.hpp"
#include "flynet/quant/fly_runner.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes = flynet::fuzz::view(data, size);
  flynet::fuzz::expect_error_or_value([&] { flynet::read_fly(bytes, "fuzz.fly"); });
  flynet::fuzz::expect_error_or_value([&] { flynet::FlyRunner r(bytes, "fuzz.fly"); });
  return 0;
}
