// FLYREF_TEST_VECTOR_PATHS=0 runs a test binary on the portable loops (the ctests
// flyref_portable_paths), so that both the host vector paths and the loops a Cortex-M runs are
// checked against the naive reference by the same tests.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "flyref.h"

namespace {

class VectorPathsFromEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* v = std::getenv("FLYREF_TEST_VECTOR_PATHS");
    const bool on = !(v && std::string(v) == "0");
    flyref_set_vector_paths(on ? 1 : 0);
    std::printf("[ flyref ] kernels under test: %s\n",
                on && flyref_vector_paths_available() ? "host vector paths (AVX2)" : "portable loops");
  }
};

[[maybe_unused]] ::testing::Environment* const kEnv = ::testing::AddGlobalTestEnvironment(new VectorPathsFromEnv);

}  // namespace
