// Hostile model files given to the real binary (issue 16): a directory where a model is
// expected, a .fly whose plan claims a 4 GB arena, a .fly tensor of 65535^4 elements. Each
// gives one line naming the file and the field, the exit code of man/flynet.1, no output file,
// and (outside sanitizer builds) runs under a 1 GB `ulimit -v`.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

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

}  // namespace
