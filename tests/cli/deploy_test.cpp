// Deployment as a user runs it, on a tiny generated data set: train (1 epoch) -> calibrate ->
// quantize -> export -> verify on the host (and on qemu-m4 when the cross tools are there),
// the C array compiled with the reference runtime as firmware would, golden dumps that name
// a deliberately altered layer, and the errors of export and verify.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "flynet/core/data.hpp"
#include "flynet/formats/h5_store.hpp"
#include "flynet/formats/int_graph.hpp"
#include "run_flynet.hpp"

namespace {

namespace fs = std::filesystem;

using flynet::test::Result;
using flynet::test::slurp;

class Deploy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("flynet_deploy_test_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    flynet::write_h5_dataset(p("data.h5"), flynet::test::square_position_set(256, 1), flynet::test::square_position_set(64, 2));
  }
  // The model all tests deploy, made by the first test that runs (the runner names its capture
  // files after the running test, so this cannot happen in SetUpTestSuite).
  static bool prepared() {
    if (tried_) return ok_;
    tried_ = true;
    ok_ = run("train --data " + p("data.h5") + " --input 16x16x1 --classes 2 --width 0.25 --epochs 1 --batch 16 "
              "--threads 1 --out " + p("m.h5") + " --quiet --checkpoint none --metrics none").code == 0 &&
          run("calibrate " + p("m.h5") + " --data " + p("data.h5") + " --samples 64 --out " + p("m.cal.h5")).code == 0 &&
          run("quantize " + p("m.cal.h5") + " --out " + p("m.q.h5")).code == 0;
    return ok_;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static Result run(const std::string& args) { return flynet::test::run_flynet(args); }
  static std::string p(const std::string& name) { return (dir_ / name).string(); }
  static fs::path dir_;
  static bool ok_, tried_;
};
fs::path Deploy::dir_;
bool Deploy::ok_ = false;
bool Deploy::tried_ = false;

TEST_F(Deploy, ExportThenVerifyOnTheHostPassesItsGates) {
  ASSERT_TRUE(prepared()) << "train/calibrate/quantize failed";
  Result r = run("export " + p("m.q.h5") + " --out " + p("m.fly") + " --host-info");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("lower bound"), std::string::npos) << r.out;
  r = run("verify " + p("m.fly") + " --data " + p("data.h5") + " --float " + p("m.h5") +
          " --min-agreement 90 --max-drop 10 --sim-samples -1 --json " + p("v.json"));
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("verify passed"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(slurp(p("v.json")));
  EXPECT_EQ(j["count"], 64);
  EXPECT_GE(j["int8"]["top1"].get<double>(), 0.9);
  EXPECT_GE(j["agreement"]["int8_float"].get<double>(), 0.9);
  EXPECT_TRUE(j["gate"]["passed"].get<bool>());
  // The confusion matrix counts every image once.
  int64_t total = 0;
  for (const auto& row : j["int8"]["confusion"])
    for (const auto& c : row) total += c.get<int64_t>();
  EXPECT_EQ(total, 64);
  // The integer simulation computes the reference's integers.
  EXPECT_EQ(j["simulation"]["agreement_int8_fake_quant"].get<double>(), 1.0);
  EXPECT_GT(j["simulation"]["layers"].size(), 20u);

  // The strictest gate the range allows (0 .. 100): it fails with status 1 and says which unless
  // int8 and float agree on every image; its JSON report is written either way.
  const double agreement = j["agreement"]["int8_float"].get<double>();
  r = run("verify " + p("m.fly") + " --data " + p("data.h5") + " --float " + p("m.h5") +
          " --min-agreement 100 --sim-samples 0 --json " + p("gate.json"));
  const auto gate = nlohmann::json::parse(slurp(p("gate.json")));
  if (agreement < 1) {
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("is below --min-agreement 100.00%"), std::string::npos) << r.err;
    EXPECT_FALSE(gate["gate"]["passed"].get<bool>());
  } else {
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(gate["gate"]["passed"].get<bool>());
  }
  // --max-drop without the float model is a usage error.
  r = run("verify " + p("m.fly") + " --data " + p("data.h5") + " --max-drop 1");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "flynet verify: error: --max-drop needs --float MODEL.h5\n");
}

// The same integers on an emulated Cortex-M4 (skipped without the cross tools).
TEST_F(Deploy, VerifyOnQemuM4IsBitIdentical) {
  ASSERT_TRUE(prepared()) << "train/calibrate/quantize failed";
  if (std::system("command -v arm-none-eabi-gcc > /dev/null && command -v qemu-system-arm > /dev/null") != 0)
    GTEST_SKIP() << "arm-none-eabi-gcc or qemu-system-arm missing (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi "
                    "qemu-system-arm)";
  ASSERT_EQ(run("export " + p("m.q.h5") + " --out " + p("q.fly")).code, 0);
  const Result r = run("verify " + p("q.fly") + " --data " + p("data.h5") + " --float " + p("m.h5") +
                       " --samples 6 --sim-samples 0 --target qemu-m4 --min-agreement 50 --json " + p("q.json"));
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("qemu-m4 (mps2-an386, cortex-m4): 6/6 images bit-identical with the host"), std::string::npos)
      << r.out;
  const auto j = nlohmann::json::parse(slurp(p("q.json")));
  EXPECT_EQ(j["target"]["identical"], 6);
  EXPECT_GT(j["target"]["flash_bytes"].get<int64_t>(), j["target"]["model_bytes"].get<int64_t>());
  EXPECT_TRUE(j["gate"]["passed"].get<bool>());
}

TEST_F(Deploy, GoldenDumpsNameTheAlteredLayer) {
  ASSERT_TRUE(prepared()) << "train/calibrate/quantize failed";
  ASSERT_EQ(run("export " + p("m.q.h5") + " --out " + p("g.fly") + " --host-info").code, 0);
  Result r = run("verify " + p("g.fly") + " --data " + p("data.h5") + " --samples 4 --dump " + p("golden") +
                 " --dump-images 4");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(p("golden/layers.tsv")));
  EXPECT_TRUE(fs::exists(p("golden/image_00003.bin")));
  r = run("verify " + p("g.fly") + " --data " + p("data.h5") + " --samples 4 --golden " + p("golden"));
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("all 4 images match"), std::string::npos) << r.out;

  // Flip one weight of the third conv-like op: its output is the first tensor that changes.
  flynet::ModelRecord rec = flynet::load_model_h5(p("m.q.h5"));
  flynet::IntGraph g = flynet::int_graph_from_record(rec, p("m.q.h5"));
  int convs = 0;
  std::string altered;
  for (flynet::IntOp& op : g.ops) {
    if (op.op != 1 && op.op != 2) continue;
    if (++convs < 3) continue;
    flynet::IntTensor& w = g.tensors[size_t(op.inputs[1])];
    for (uint8_t& b : w.data) b = uint8_t(-int8_t(b));  // every weight negated
    altered = op.name;
    break;
  }
  ASSERT_FALSE(altered.empty());
  flynet::save_model_h5(flynet::int_graph_to_record(g), p("bad.q.h5"));
  ASSERT_EQ(run("export " + p("bad.q.h5") + " --out " + p("bad.fly") + " --host-info").code, 0);
  r = run("verify " + p("bad.fly") + " --data " + p("data.h5") + " --samples 4 --golden " + p("golden") + " --json " +
          p("bad.json"));
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("golden mismatch: image 0, op "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'" + altered + "'"), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(slurp(p("bad.json")));
  EXPECT_EQ(j["golden"]["first_mismatch"]["op_name"], altered);
}

TEST_F(Deploy, CArrayCompilesWithTheReferenceRuntimeAndComputesTheHostsOutputs) {
  ASSERT_TRUE(prepared()) << "train/calibrate/quantize failed";
  if (std::system("cc --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no C compiler (cc) on PATH";
  fs::create_directories(p("fw"));
  ASSERT_EQ(run("export " + p("m.q.h5") + " --out " + p("c.fly") + " --c-array " + p("fw/tiny_model.h") +
                " --name tiny_model").code, 0);
  // The host's outputs for the first 4 images, through verify's dumps (the last layer is the
  // output).
  ASSERT_EQ(run("verify " + p("c.fly") + " --data " + p("data.h5") + " --float " + p("m.h5") +
                " --samples 4 --sim-samples 0 --dump " + p("cgold") + " --dump-images 4").code, 0);
  // Firmware-style main: the model from the array, one static arena and table block, no malloc;
  // it runs the dump's quantized images and prints the output codes.
  std::ofstream(p("fw/main.c")) << R"(#include <stdio.h>
#include <string.h>
#include "tiny_model.h"
#include "flyref_model.h"
static uint8_t arena[TINY_MODEL_ARENA_SIZE] __attribute__((aligned(16)));
static uint64_t tables[TINY_MODEL_TABLE_SIZE / 8 + 1];
int main(int argc, char **argv) {
  flyref_model_info info;
  flyref_graph g;
  int8_t image[TINY_MODEL_INPUT_H * TINY_MODEL_INPUT_W * TINY_MODEL_INPUT_C];
  FILE *in = argc > 1 ? fopen(argv[1], "rb") : NULL;
  if (!in || flyref_model_info_get(tiny_model, TINY_MODEL_SIZE, &info) != FLYREF_OK) return 2;
  if (info.arena_size > sizeof arena) return 3;
  if (flyref_model_load(tiny_model, TINY_MODEL_SIZE, tables, sizeof tables, &g) != FLYREF_OK) return 4;
  while (fread(image, 1, sizeof image, in) == sizeof image) {
    int c;
    memcpy(arena + g.tensors[info.input].arena_offset, image, sizeof image);
    if (flyref_graph_invoke(&g, arena, sizeof arena) != FLYREF_OK) return 5;
    for (c = 0; c < TINY_MODEL_OUTPUT_C; ++c)
      printf("%d ", (int)((const int8_t *)(arena + g.tensors[info.output].arena_offset))[c]);
    printf("\n");
  }
  fclose(in);
  return 0;
}
)";
  std::string sources;
  for (const auto& e : fs::recursive_directory_iterator(std::string(FLYNET_SOURCE_DIR) + "/quant/ref/src"))
    if (e.path().extension() == ".c") sources += " '" + e.path().string() + "'";
  const std::string src = FLYNET_SOURCE_DIR;
  const std::string cmd = "cd '" + p("fw") + "' && cc -std=c99 -O1 -Wall -Wextra -I. -I'" + src + "/quant/ref/include' -I'" +
                          src + "/quant/ref/src' -I'" + src + "/formats/include' main.c tiny_model.c" + sources +
                          " -lm -o fw 2> cc.log && ./fw '" + p("cgold/inputs.bin") + "' > out.txt";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << slurp(p("fw/cc.log"));
  // The host's output codes of the same images (verify's dump).
  const std::string want = slurp(p("cgold/outputs.bin"));
  ASSERT_EQ(want.size(), 4u * 2u);
  std::string expect;
  for (size_t i = 0; i < want.size(); ++i) expect += std::to_string(int(int8_t(want[i]))) + ((i % 2) ? " \n" : " ");
  EXPECT_EQ(slurp(p("fw/out.txt")), expect);
}

}  // namespace
