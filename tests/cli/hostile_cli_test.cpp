// Hostile model files given to the real binary (issue 16): a directory where a model is
// expected, a .fly whose plan claims a 4 GB arena, a .fly tensor of 65535^4 elements, models
// whose every architecture or metadata value in turn is not a number. Each
// gives one line naming the file and the field, the exit code of man/flynet.1, no output file,
// and (outside sanitizer builds) runs under a 1 GB `ulimit -v`.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "flynet/formats/h5_store.hpp"
#include "run_flynet.hpp"

namespace {

namespace fs = std::filesystem;
using flynet::test::Result;
using flynet::test::slurp;

std::string temp(const std::string& name) { return (fs::temp_directory_path() / ("flynet_hostile_" + name)).string(); }

// `flynet ARGS` with the address space limited to 1 GB (ASan reserves more than that for its
// shadow memory, so sanitizer builds run without the limit).
Result bounded(const std::string& args) {
#ifdef FLYNET_TEST_HAS_ASAN
  return flynet::test::run_flynet(args);
#else
  return flynet::test::run_flynet(args, "ulimit -v 1048576; ");
#endif
}

void put32(std::string& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + size_t(i)] = char(uint8_t(v >> (8 * i)));
}

// The header and payload CRC-32s of flynet_format.h, recomputed after an edit (zlib's crc32).
void refresh_crcs(std::string& b) {
  const uint32_t header_end = 32 + 16 * uint32_t(uint8_t(b[12]));
  const auto* p = reinterpret_cast<const Bytef*>(b.data());
  put32(b, 20, uint32_t(crc32(0, p + header_end, uInt(b.size() - header_end))));
  put32(b, 28, uint32_t(crc32(crc32(0, p, 28), p + 32, header_end - 32)));
}

// tiny.fly: one FC, PLAN section at byte 272 (arena_size first), tensor 0's record at 128.
std::string tiny_fly() { return slurp(FLYNET_TINY_FLY); }

void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

TEST(HostileCli, DirectoryGivenAsModel) {
  const std::string dir = temp("dir.h5"), out = temp("dir.out");
  fs::create_directories(dir);
  fs::remove(out);
  for (const std::string& cmd : {"info " + dir, "quantize " + dir + " --out " + out, "export " + dir + " --out " + out}) {
    const Result r = flynet::test::run_flynet(cmd);
    const std::string name = cmd.substr(0, cmd.find(' '));
    EXPECT_EQ(r.code, 3) << cmd;
    EXPECT_EQ(r.err, "flynet " + name + ": error: not a regular file (" + dir + ")\n") << cmd;
    EXPECT_FALSE(fs::exists(out)) << cmd;
  }
  fs::remove(dir);
}

TEST(HostileCli, FlyPlanClaimingA4GBArena) {
  std::string b = tiny_fly();
  ASSERT_EQ(b.size(), 296u) << FLYNET_TINY_FLY;
  put32(b, 272, 0xFFFFFFF0u);
  refresh_crcs(b);
  const std::string p = temp("arena.fly");
  write(p, b);
  // info reports the plan without allocating it: fine under a 1 GB address space.
  Result r = bounded("info " + p);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("RAM: arena 4294967280 bytes (plan)"), std::string::npos) << r.out;
  // verify would allocate it per thread: refused before anything else.
  r = bounded("verify " + p + " --data " + temp("no-data"));
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "flynet verify: error: the .fly plan (PLAN.arena_size) declares 4294967280 arena bytes, above the "
                   "limit of 268435456 (" + p + ")\n");
  fs::remove(p);
}

TEST(HostileCli, FlyTensorOf65535To4Elements) {
  std::string b = tiny_fly();
  for (size_t k = 128; k < 136; ++k) b[k] = char(0xff);
  refresh_crcs(b);
  const std::string p = temp("dims.fly");
  write(p, b);
  const Result r = bounded("info " + p);
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "flynet info: error: corrupt .fly file: tensor 0 (record at 0x80) is larger than 2 GB (" + p + ")\n");
  fs::remove(p);
}

// Every /arch and /meta value of a calibrated float model and of its quantized model, in turn
// replaced by text that is no number ("internal error: stof" was one such message): the
// commands reading them either succeed (the value is informational) or print one line naming
// the file, with an exit code other than 70 (a bug). The files come from the real commands.
TEST(HostileCli, EveryModelValueThatIsNotANumberIsAnErrorNamingTheFile) {
  const fs::path dir = temp("values");
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto at = [&](const std::string& f) { return (dir / f).string(); };
  flynet::write_h5_dataset(at("d.h5"), flynet::test::square_position_set(32, 1), flynet::test::square_position_set(8, 2));
  for (const std::string& step :
       {"train --data " + at("d.h5") + " --out " + at("f.h5") + " --epochs 1 --width 0.25 --batch 16 --quiet",
        "calibrate " + at("f.h5") + " --data " + at("d.h5") + " --samples 8 --out " + at("c.h5"),
        "quantize " + at("c.h5") + " --out " + at("q.h5")}) {
    const Result r = flynet::test::run_flynet(step);
    ASSERT_EQ(r.code, 0) << step << "\n" << r.err;
  }
  // Runs each command (its name and what follows the model) on a copy of `model` with one value
  // replaced, for every value holding a digit.
  auto sweep = [&](const std::string& model, const std::vector<std::pair<std::string, std::string>>& commands) {
    const flynet::ModelRecord good = flynet::load_model_h5(at(model));
    const std::string bad = at("bad-" + model);
    for (auto group : {&flynet::ModelRecord::arch, &flynet::ModelRecord::meta})
      for (const auto& [key, value] : good.*group) {
        if (value.find_first_of("0123456789") == std::string::npos) continue;
        flynet::ModelRecord m = good;
        (m.*group)[key] = "x1";
        flynet::save_model_h5(m, bad);
        for (const auto& [cmd, rest] : commands) {
          const Result r = flynet::test::run_flynet(cmd + " " + bad + rest);
          const std::string what = model + " " + key + ": " + cmd;
          EXPECT_NE(r.code, 70) << what << "\n" << r.err;
          EXPECT_EQ(r.err.find("internal error"), std::string::npos) << what << "\n" << r.err;
          if (r.code == 0) continue;
          EXPECT_EQ(r.err.rfind("flynet " + cmd + ": error: ", 0), 0u) << what << "\n" << r.err;
          EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << what << "\n" << r.err;
          EXPECT_TRUE(r.err.ends_with(" (" + bad + ")\n")) << what << "\n" << r.err;
          EXPECT_FALSE(fs::exists(at("out"))) << what;
        }
        fs::remove(at("out"));
      }
  };
  const std::string out = " --out " + at("out");
  sweep("c.h5", {{"info", ""}, {"quantize", out}});
  sweep("q.h5", {{"info", ""}, {"export", out}});
  fs::remove_all(dir);
}

}  // namespace
