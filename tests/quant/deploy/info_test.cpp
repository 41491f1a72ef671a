// model_info / graph_info (flynet info's figures) against figures computed here from the graph:
// an int8 model's weight and parameter bytes summed over its tensors; a .fly file's per-op flash
// adding up to the file's constants, its weight bits from the distinct codes, and the RAM alive
// at each op from a naive liveness walk; the kind of report chosen by the file's content.
#include "flynet/quant/info.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <set>

#include "flynet/core/model.hpp"
#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/h5_store.hpp"
#include "flynet/formats/int_graph.hpp"
#include "flynet/quant/calibrate.hpp"
#include "flynet/quant/quantize.hpp"
#include "flynet_format.h"
#include "quant_fixtures.hpp"

namespace flynet {
namespace {

ArchSpec small() { return test::small_flynet(); }

// A fresh FlyNet calibrated on random images and lowered (info needs shapes and codes only).
IntGraph int8_graph(int weight_levels) {
  Model m = Model::create(small(), 5);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> img(-1.f, 2.f);
  Tensor batch({4, 16, 16, 1});
  for (float& v : batch.data) v = img(rng);
  const CalibrationReport rep = calibrate(m, [&](const auto& use) { use(batch); }, {});
  QuantizeOptions q;
  q.weight_levels = weight_levels;
  return lower_to_int8(m, rep.calibration, q);
}

struct TempDir {
  std::filesystem::path path;
  TempDir() : path(std::filesystem::temp_directory_path() / ("flynet_info_test_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

TEST(Info, Int8ModelBytesAreItsConstants) {
  const IntGraph g = int8_graph(0);
  const Int8ModelInfo r = int8_model_info(g);
  int64_t weights = 0, params = 0;
  for (const IntTensor& t : g.tensors)
    if (t.constant()) (t.type == FLYNET_TYPE_INT8 ? weights : params) += int64_t(t.data.size());
  EXPECT_EQ(r.weight_bytes, weights);
  EXPECT_EQ(r.param_bytes, params);
  ASSERT_EQ(r.ops.size(), g.ops.size());
  int64_t sum = 0;
  for (size_t k = 0; k < r.ops.size(); ++k) {
    EXPECT_EQ(r.ops[k].name, g.ops[k].name);
    const auto& d = g.tensors[size_t(g.ops[k].outputs[0])].dims;
    EXPECT_EQ(r.ops[k].output, (std::array<int32_t, 3>{d[1], d[2], d[3]}));
    sum += r.ops[k].weight_bytes;
  }
  EXPECT_EQ(sum, weights);
  EXPECT_GE(r.arena_bytes, r.arena_lower_bound);
  EXPECT_GT(r.arena_lower_bound, 0u);
  EXPECT_EQ(r.meta, g.meta);
}

TEST(Info, FlyFileFlashBitsAndLiveRamPerOp) {
  const IntGraph g = int8_graph(8);
  const FlyExport e = export_fly(g);  // no host info: ops named "op<k>"
  const FlyFileInfo r = fly_file_info(e.bytes, "m.fly");
  ASSERT_EQ(r.ops.size(), g.ops.size());
  EXPECT_FALSE(r.file.model.host_info);

  // Flash: every constant belongs to one op, so the ops' flash is the file's constants.
  uint64_t flash = 0;
  for (const FlyOpInfo& o : r.ops) flash += o.flash_bytes;
  const FlySizes& s = r.file.sizes;
  EXPECT_EQ(flash, s.weights + s.channel_params + s.other_constants);

  // Liveness, naively: an activation lives from the op writing it (the input: from op 0) to
  // the last op reading it (the output: to the end; one nobody reads: its own op only).
  const int n = int(g.ops.size());
  std::vector<int> first(g.tensors.size(), -1), last(g.tensors.size(), -1);
  first[size_t(g.input)] = 0;
  for (int k = 0; k < n; ++k) {
    for (int32_t t : g.ops[size_t(k)].inputs)
      if (t >= 0) last[size_t(t)] = k;
    for (int32_t t : g.ops[size_t(k)].outputs) {
      first[size_t(t)] = k;
      last[size_t(t)] = std::max(last[size_t(t)], k);
    }
  }
  last[size_t(g.output)] = n - 1;
  uint64_t peak = 0;
  for (int k = 0; k < n; ++k) {
    const FlyOpInfo& o = r.ops[size_t(k)];
    EXPECT_EQ(o.name, "op" + std::to_string(k));
    uint64_t live = o.scratch_bytes + o.decode_bytes;
    for (size_t t = 0; t < g.tensors.size(); ++t)
      if (!g.tensors[t].constant() && first[t] <= k && k <= last[t]) live += g.tensors[t].bytes();
    EXPECT_EQ(o.ram_bytes, live) << o.name;
    peak = std::max(peak, live);

    // Weight bits: of the op's first int8 constant, ceil(log2 distinct codes) when that packs
    // into fewer than 8 bits, else 8.
    int bits = 0;
    for (int32_t t : g.ops[size_t(k)].inputs)
      if (t >= 0 && g.tensors[size_t(t)].constant() && g.tensors[size_t(t)].type == FLYNET_TYPE_INT8) {
        const auto& data = g.tensors[size_t(t)].data;
        const size_t distinct = std::set<uint8_t>(data.begin(), data.end()).size();
        int b = 1;
        while ((size_t(1) << b) < distinct) ++b;
        bits = b < 8 ? b : 8;
        break;
      }
    if (bits == 0 || bits == 8)
      EXPECT_EQ(o.weight_bits, bits) << o.name;
    else  // packed only where it saves flash (small tensors stay int8)
      EXPECT_TRUE(o.weight_bits == bits || o.weight_bits == 8) << o.name << ": " << o.weight_bits << " vs " << bits;
  }
  EXPECT_EQ(r.peak_live_bytes, peak);
  int three = 0;
  for (const FlyOpInfo& o : r.ops) three += o.weight_bits == 3;
  EXPECT_GT(three, 0);  // 8 levels: 3-bit weights
}

TEST(Info, TheKindOfReportFollowsTheFileContent) {
  const TempDir dir;
  const IntGraph g = int8_graph(0);
  FlyExportOptions host;
  host.host_info = true;
  write_bytes_atomically(dir / "m.fly", export_fly(g, host).bytes);
  save_model_h5(int_graph_to_record(g), dir / "m.q.h5");
  Model m = Model::create(small(), 3);
  save_model(m, dir / "m.h5");

  const InfoReport f = model_info(dir / "m.fly");
  EXPECT_EQ(f.source, dir / "m.fly");
  const auto* fly = std::get_if<FlyFileInfo>(&f.details);
  ASSERT_TRUE(fly);
  EXPECT_TRUE(fly->file.model.host_info);
  EXPECT_EQ(fly->ops.front().name, g.ops.front().name);  // names from the host info

  const InfoReport q = model_info(dir / "m.q.h5");
  ASSERT_TRUE(std::holds_alternative<Int8ModelInfo>(q.details));
  EXPECT_EQ(std::get<Int8ModelInfo>(q.details).ops.size(), g.ops.size());

  const InfoReport fl = model_info(dir / "m.h5");
  const auto* gi = std::get_if<GraphInfo>(&fl.details);
  ASSERT_TRUE(gi);
  EXPECT_EQ(gi->count.total.params, count_graph(m.graph).total.params);

  const InfoReport a = graph_info(build_graph(small()), "architecture options");
  EXPECT_EQ(a.source, "architecture options");
  EXPECT_EQ(std::get<GraphInfo>(a.details).count.total.madds_strict, count_graph(build_graph(small())).total.madds_strict);
}

}  // namespace
}  // namespace flynet
