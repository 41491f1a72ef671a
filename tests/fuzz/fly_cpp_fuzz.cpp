// The C++ .fly reader (read_fly) and the host runner's load (FlyRunner: the C reader behind the
// C++ checks, the arena's limit), on the input as it is and with its CRCs fixed; neither may
// allocate the arena a hostile plan claims.
#include <string>

#include "flynet/formats/fly_file.hpp"
#include "flynet/quant/fly_runner.hpp"
#include "fuzz_util.hpp"

extern "C" {
#include "fly_crc.h"
}

namespace {

void read_both(std::string_view bytes) {
  flynet::fuzz::expect_error_or_value([&] { flynet::read_fly(bytes, "fuzz.fly"); });
  flynet::fuzz::expect_error_or_value([&] { flynet::FlyRunner r(bytes, "fuzz.fly"); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(flynet::fuzz::view(data, size));
  read_both(bytes);
  if (fuzz_fly_fix_crcs(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size())) read_both(bytes);
  return 0;
}
