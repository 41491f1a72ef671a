// The C-array emitter: the generated header and source compile as C99 with -pedantic -Werror,
// hold the bytes at the requested alignment and the macros' values.
#include "flynet/formats/c_array.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "flynet/formats/error.hpp"

namespace flynet {
namespace {

namespace fs = std::filesystem;

CArrayModel sample(size_t n) {
  CArrayModel m;
  m.name = "my_model";
  for (size_t i = 0; i < n; ++i) m.bytes.push_back(uint8_t(i * 7 + 3));
  m.input_dims = {1, 28, 28, 1};
  m.input_scale = 1.0 / 255;
  m.input_zero_point = -128;
  m.output_dims = {1, 1, 1, 10};
  m.output_scale = 0.125;
  m.output_zero_point = 5;
  m.arena_bytes = 69168;
  m.alignment = 32;
  return m;
}

TEST(CArray, NamesMustBeCIdentifiers) {
  EXPECT_TRUE(is_c_identifier("flynet_model"));
  EXPECT_TRUE(is_c_identifier("_m2"));
  EXPECT_FALSE(is_c_identifier("2m"));
  EXPECT_FALSE(is_c_identifier("my-model"));
  EXPECT_FALSE(is_c_identifier("int"));
  EXPECT_FALSE(is_c_identifier(""));
  CArrayModel m = sample(4);
  m.name = "static";
  EXPECT_THROW(emit_c_array(m, "m.h"), Error);
  m = sample(0);
  EXPECT_THROW(emit_c_array(m, "m.h"), Error);
}

TEST(CArray, CompilesAsC99AndHoldsTheBytes) {
  if (std::system("cc --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no C compiler (cc) on PATH";
  const fs::path dir = fs::temp_directory_path() / ("flynet_c_array_test_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const size_t n = 1000;  // not a multiple of the 16 bytes per line
  const CArraySource c = emit_c_array(sample(n), "my_model.h");
  std::ofstream(dir / "my_model.h") << c.header;
  std::ofstream(dir / "my_model.c") << c.source;
  // The checks are written here independently of the emitter: the byte pattern, the address
  // alignment and every macro's value.
  std::ofstream(dir / "main.c") << R"(#include <stdint.h>
#include "my_model.h"
int main(void) {
  uint32_t i;
  if (MY_MODEL_SIZE != 1000u) return 1;
  for (i = 0; i < MY_MODEL_SIZE; ++i) if (my_model[i] != (uint8_t)(i * 7u + 3u)) return 2;
  if (((uintptr_t)my_model) % 32u != 0) return 3;
  if (MY_MODEL_ARENA_SIZE != 69168u || MY_MODEL_ALIGNMENT != 32u) return 4;
  if (MY_MODEL_INPUT_N != 1 || MY_MODEL_INPUT_H != 28 || MY_MODEL_INPUT_W != 28 || MY_MODEL_INPUT_C != 1) return 5;
  if (MY_MODEL_INPUT_ZERO_POINT != -128 || MY_MODEL_OUTPUT_ZERO_POINT != 5 || MY_MODEL_OUTPUT_C != 10) return 6;
  if (MY_MODEL_INPUT_SCALE != (float)(1.0 / 255) || MY_MODEL_OUTPUT_SCALE != 0.125f) return 7;
  return 0;
}
)";
  const std::string cmd = "cd '" + dir.string() +
                          "' && cc -std=c99 -pedantic -Wall -Wextra -Werror -o main main.c my_model.c 2> cc.log && ./main";
  const int rc = std::system(cmd.c_str());
  std::ifstream log(dir / "cc.log");
  const std::string err((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << err << c.header;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace flynet
