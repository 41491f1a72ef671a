// Runs the flynet binary as a user would and captures its exit code, stdout and stderr.
#ifndef FLYNET_TESTS_CLI_RUN_FLYNET_HPP_
#define FLYNET_TESTS_CLI_RUN_FLYNET_HPP_

// FLYNET_TEST_HAS_ASAN: the binary under test is built with AddressSanitizer (clang names it
// with __has_feature, gcc with __SANITIZE_ADDRESS__), whose shadow memory rules out `ulimit -v`.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FLYNET_TEST_HAS_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(FLYNET_TEST_HAS_ASAN)
#define FLYNET_TEST_HAS_ASAN 1
#endif

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <random>
#include <fstream>
#include <sstream>
#include <string>

#include "flynet/core/data.hpp"

namespace flynet::test {

struct Result {
  int code;
  std::string out, err;
};

inline std::string slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

/// `flynet <args>`, after the shell commands of `prefix` (e.g. "ulimit -v 1048576; "); the
/// capture files are named after the running test, since ctest runs tests in parallel.
inline Result run_flynet(const std::string& args, const std::string& prefix = "") {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string tag = std::string("flynet_cli_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const std::string out = (dir / (tag + ".out")).string(), err = (dir / (tag + ".err")).string();
  const int st = std::system((prefix + std::string(FLYNET_BIN) + " " + args + " >" + out + " 2>" + err).c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(out), slurp(err)};
}

/// A tiny learnable data set of 16x16x1 images: two classes told apart by a bright square's
/// position (top-left or bottom-right), with noise from `seed`.
inline flynet::DatasetArrays square_position_set(int n, uint32_t seed) {
  flynet::DatasetArrays a;
  a.h = a.w = 16;
  a.c = 1;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(0, 40);
  for (int i = 0; i < n; ++i) {
    const int label = i % 2;
    for (int y = 0; y < 16; ++y)
      for (int x = 0; x < 16; ++x) {
        const bool on = label ? (x >= 9 && y >= 9) : (x < 7 && y < 7);
        a.images.push_back(uint8_t(on ? 200 + noise(rng) : noise(rng)));
      }
    a.labels.push_back(label);
  }
  return a;
}

}  // namespace flynet::test

#endif  // FLYNET_TESTS_CLI_RUN_FLYNET_HPP_
