// IntGraph -> .fly -> (C++ reader: the same IntGraph) and (C reader + interpreter: the same
// integers as the IntGraph run directly), for every FlyNet option and packed 2/3/4-bit weights;
// the stored plan never overlaps two live buffers; the file meets the flash budget of issue #7.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>

#include "flynet/core/model.hpp"
#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/h5_store.hpp"
#include "flynet/quant/calibrate.hpp"
#include "flynet/quant/export.hpp"
#include "flynet/quant/fly_runner.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flynet/quant/quantize.hpp"
#include "flynet_format.h"
#include "quant_fixtures.hpp"

namespace flynet {
namespace {

// A FlyNet with non-trivial BN statistics (fc2 as created), calibrated on random images drawn
// after its parameters, and lowered to int8.
IntGraph make_graph(const ArchSpec& spec, uint64_t seed, const QuantizeOptions& qo = {}) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  Model m = test::random_bn_model(spec, seed, rng, {.scale_fc2 = false});
  const std::vector<Tensor> images{test::random_batch(spec, 8, rng)};
  return test::calibrated_int8(m, images, qo);
}

struct Case {
  std::string what;
  ArchSpec spec;
  QuantizeOptions q;
};

std::vector<Case> every_option() {
  std::vector<Case> c;
  c.push_back({"flynet-h3", test::small_flynet(), {}});
  for (const test::NamedArch& a : test::arch_options()) c.push_back({a.what, a.spec, {}});
  QuantizeOptions single;
  single.rounding = FLYNET_ROUNDING_SINGLE;
  c.push_back({"single rounding", test::small_flynet(), single});
  QuantizeOptions per_tensor;
  per_tensor.per_tensor = true;
  c.push_back({"per-tensor weights", test::small_flynet(), per_tensor});
  for (int levels : {4, 8, 16}) {  // 2-, 3- and 4-bit packed weights
    QuantizeOptions q;
    q.weight_levels = levels;
    c.push_back({std::to_string(levels) + " weight levels", test::small_flynet(), q});
  }
  return c;
}

std::vector<int8_t> random_codes(size_t n, std::mt19937& rng) {
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = int8_t(int(rng() % 256u) - 128);
  return v;
}

// ------------------------------------------------------------------------------- round trip

TEST(Export, RoundTripOfEveryOptionGivesTheSameGraph) {
  uint64_t seed = 10;
  for (const Case& c : every_option()) {
    SCOPED_TRACE(c.what);
    const IntGraph g = make_graph(c.spec, ++seed, c.q);
    FlyExportOptions full;
    full.host_info = true;
    const FlyExport e = export_fly(g, full);
    const FlyModel m = read_fly(e.bytes, c.what);
    EXPECT_TRUE(m.host_info);
    EXPECT_TRUE(m.graph == g) << "graph differs after the round trip";
    EXPECT_EQ(m.plan, e.plan);

    // The device file (no host info) keeps everything the device needs, bit for bit.
    const FlyExport d = export_fly(g);
    const FlyModel md = read_fly(d.bytes);
    EXPECT_FALSE(md.host_info);
    EXPECT_EQ(md.plan, d.plan);
    EXPECT_EQ(md.plan, e.plan);  // host info does not change the plan
    ASSERT_EQ(md.graph.tensors.size(), g.tensors.size());
    ASSERT_EQ(md.graph.ops.size(), g.ops.size());
    EXPECT_EQ(md.graph.input, g.input);
    EXPECT_EQ(md.graph.output, g.output);
    for (size_t i = 0; i < g.tensors.size(); ++i) {
      const IntTensor &a = g.tensors[i], &b = md.graph.tensors[i];
      EXPECT_EQ(a.type, b.type);
      EXPECT_EQ(a.dims, b.dims);
      EXPECT_EQ(a.zero_point, b.zero_point);
      EXPECT_TRUE(a.data == b.data) << "tensor " << a.name;
    }
    for (size_t k = 0; k < g.ops.size(); ++k) {
      EXPECT_EQ(g.ops[k].op, md.graph.ops[k].op);
      EXPECT_EQ(g.ops[k].inputs, md.graph.ops[k].inputs);
      EXPECT_EQ(g.ops[k].outputs, md.graph.ops[k].outputs);
      EXPECT_EQ(g.ops[k].params, md.graph.ops[k].params);
    }
    EXPECT_FLOAT_EQ(float(md.graph.tensors[size_t(g.input)].scale), float(g.tensors[size_t(g.input)].scale));
    EXPECT_FLOAT_EQ(float(md.graph.tensors[size_t(g.output)].scale), float(g.tensors[size_t(g.output)].scale));
    EXPECT_LT(d.bytes.size(), e.bytes.size());
  }
}

// ------------------------------------------------------------ the file runs like the graph

TEST(Export, FlyRunnerGivesTheIntRunnerOutputsForEveryOption) {
  uint64_t seed = 40;
  std::mt19937 rng(3);
  for (const Case& c : every_option()) {
    SCOPED_TRACE(c.what);
    const IntGraph g = make_graph(c.spec, ++seed, c.q);
    const FlyExport e = export_fly(g);
    if (c.q.weight_levels > 0) {
      // The levels really are packed: 4 -> 2 bits, 8 -> 3 bits, 16 -> 4 bits (one more bit for
      // an MDW-Concat shortcut, whose zero padding is an extra code next to an even L's odd ones).
      const int want = c.q.weight_levels == 4 ? 2 : c.q.weight_levels == 8 ? 3 : 4;
      const FlyModel m = read_fly(e.bytes);
      int packed = 0, at_want = 0;
      for (size_t i = 0; i < g.tensors.size(); ++i)
        if (g.tensors[i].levels == c.q.weight_levels && g.tensors[i].numel() >= 64) {
          const size_t distinct = std::set<uint8_t>(g.tensors[i].data.begin(), g.tensors[i].data.end()).size();
          EXPECT_LE(distinct, size_t(c.q.weight_levels) + 1) << g.tensors[i].name;
          EXPECT_EQ(m.storage[i].storage, FLYNET_STORAGE_PACKED) << g.tensors[i].name;
          EXPECT_EQ(m.storage[i].bits, distinct <= size_t(c.q.weight_levels) ? want : want + 1) << g.tensors[i].name;
          ++packed;
          at_want += m.storage[i].bits == want;
        }
      EXPECT_GT(packed, 10);
      EXPECT_GE(at_want, packed - 1);
    }
    IntRunner ref(g, /*keep_all_tensors=*/true);
    FlyRunner fly(e.bytes, c.what);
    EXPECT_EQ(fly.arena_size(), e.arena.arena_size);
    const IntTensor& in = g.tensors[size_t(g.input)];
    const IntTensor& out = g.tensors[size_t(g.output)];
    for (int k = 0; k < 3; ++k) {
      const std::vector<int8_t> x = random_codes(in.bytes(), rng);
      std::vector<int8_t> y_ref(out.bytes()), y_fly(out.bytes()), y_nodes(out.bytes());
      ref.run(x.data(), y_ref.data());
      fly.run(x.data(), y_fly.data());
      EXPECT_EQ(y_ref, y_fly);
      // Node by node on the deployed plan: every op's output equals the reference's.
      size_t checked = 0;
      fly.run(x.data(), y_nodes.data(), [&](int32_t node) {
        for (int32_t t : g.ops[size_t(node)].outputs) {
          const size_t n = g.tensors[size_t(t)].bytes();
          ASSERT_EQ(fly.tensor_bytes(t), n);
          EXPECT_EQ(0, std::memcmp(fly.tensor(t), ref.tensor(t), n)) << "op " << g.ops[size_t(node)].name;
          ++checked;
        }
      });
      EXPECT_EQ(y_ref, y_nodes);
      EXPECT_GE(checked, g.ops.size());
    }
  }
}

// ------------------------------------------------------------------------------- the plan

// Lifetimes derived here, independently of the exporter: producer step .. last reader step
// (input from 0, output to the end, a never-read output during its op).
struct Life {
  int first, last;
};
std::vector<Life> lives(const IntGraph& g) {
  const int n = int(g.ops.size());
  std::vector<Life> l(g.tensors.size(), Life{n, -1});
  for (int k = 0; k < n; ++k) {
    for (int32_t t : g.ops[size_t(k)].outputs) l[size_t(t)].first = std::min(l[size_t(t)].first, k);
    for (int32_t t : g.ops[size_t(k)].inputs)
      if (t >= 0) l[size_t(t)].last = std::max(l[size_t(t)].last, k);
  }
  l[size_t(g.input)].first = 0;
  l[size_t(g.output)].last = n - 1;
  for (Life& x : l) {
    if (x.first == n) x.first = 0;
    if (x.last < x.first) x.last = x.first;
  }
  return l;
}

TEST(Export, PlanNeverOverlapsLiveBuffersAndReportsItsLowerBound) {
  uint64_t seed = 70;
  for (const Case& c : every_option()) {
    SCOPED_TRACE(c.what);
    const IntGraph g = make_graph(c.spec, ++seed, c.q);
    const FlyExport e = export_fly(g);
    FlyRunner fly(e.bytes);  // the plan as the C reader loaded it
    const flyref_graph& fg = fly.graph();
    const std::vector<Life> life = lives(g);
    uint64_t bound = 0, total = 0;
    for (int k = 0; k < fg.num_nodes; ++k) {
      std::vector<std::pair<uint64_t, uint64_t>> live;  // [begin, end) in the arena
      for (size_t t = 0; t < g.tensors.size(); ++t)
        if (!g.tensors[t].constant() && life[t].first <= k && k <= life[t].last)
          live.push_back({fg.tensors[t].arena_offset, fg.tensors[t].arena_offset + g.tensors[t].bytes()});
      const flyref_node& n = fg.nodes[k];
      if (n.scratch_size) live.push_back({n.scratch_offset, n.scratch_offset + n.scratch_size});
      if (n.decode_size) live.push_back({n.decode_offset, n.decode_offset + n.decode_size});
      uint64_t sum = 0;
      for (const auto& [b, en] : live) {
        EXPECT_LE(en, e.arena.arena_size);
        sum += (en - b + 3) / 4 * 4;
      }
      bound = std::max(bound, sum);
      std::sort(live.begin(), live.end());
      for (size_t i = 1; i < live.size(); ++i)
        EXPECT_LE(live[i - 1].second, live[i].first) << "two live buffers overlap at op " << g.ops[size_t(k)].name;
    }
    for (size_t t = 0; t < g.tensors.size(); ++t)
      if (!g.tensors[t].constant()) total += g.tensors[t].bytes();
    EXPECT_EQ(bound, e.arena.lower_bound);
    EXPECT_GE(e.arena.arena_size, bound);
    EXPECT_LT(e.arena.arena_size, total) << "the plan reuses memory";
    std::printf("  %-26s arena %7llu B, lower bound %7llu B (miss %llu B, %.2f%%), %llu B without reuse\n",
                c.what.c_str(), (unsigned long long)e.arena.arena_size, (unsigned long long)bound,
                (unsigned long long)e.arena_miss(), 100.0 * double(e.arena_miss()) / double(bound),
                (unsigned long long)total);
    // Measured: the greedy planner reaches the bound on most options and misses by < 2% on the
    // others (printed above).
    EXPECT_LE(double(e.arena.arena_size), 1.05 * double(bound));
  }
}

// ------------------------------------------------------------------------- flash budget

// The bound of issue #7, computed here from the graph: weights x ceil(log2 L) / 8, with L the
// distinct codes of each int8 constant (or the trained level count), plus per output channel a
// 4-byte bias, a 4-byte multiplier and a 1-byte shift.
uint64_t lower_bound(const IntGraph& g, bool from_levels) {
  std::set<int32_t> bias, mult, shift;
  for (const IntOp& o : g.ops)
    if (o.op == FLYNET_OP_CONV2D || o.op == FLYNET_OP_DEPTHWISE_CONV2D || o.op == FLYNET_OP_FULLY_CONNECTED) {
      if (o.inputs[2] >= 0) bias.insert(o.inputs[2]);
      mult.insert(o.inputs[3]);
      shift.insert(o.inputs[4]);
    }
  uint64_t bits = 0, bytes = 0;
  for (size_t i = 0; i < g.tensors.size(); ++i) {
    const IntTensor& t = g.tensors[i];
    if (!t.constant()) continue;
    if (t.type == FLYNET_TYPE_INT8) {
      const size_t distinct = std::set<uint8_t>(t.data.begin(), t.data.end()).size();
      const size_t levels = from_levels && t.levels > 0 ? size_t(t.levels) : distinct;
      int b = 1;
      while ((size_t(1) << b) < levels) ++b;
      bits += uint64_t(t.numel()) * uint64_t(b);
    }
    if (bias.count(int32_t(i)) || mult.count(int32_t(i))) bytes += 4 * uint64_t(t.numel());
    else if (shift.count(int32_t(i))) bytes += uint64_t(t.numel());
  }
  return (bits + 7) / 8 + bytes;
}

TEST(Export, FlyNetH3MeetsTheFlashBudget) {
  // FlyNet-h3 0.5x, 28x28x1, 10 classes: int8 and 4/8/16 weight levels.
  for (int levels : {0, 16, 8, 4}) {
    QuantizeOptions q;
    q.weight_levels = levels;
    const IntGraph g = make_graph(ArchSpec{}, 5, q);
    const FlyExport e = export_fly(g);
    const uint64_t lb = lower_bound(g, false), lb_levels = lower_bound(g, true);
    const FlySizes& s = e.sizes;
    EXPECT_EQ(s.lower_bound, lb);
    EXPECT_EQ(s.file, e.bytes.size());
    EXPECT_EQ(s.header + s.graph + s.weights + s.channel_params + s.other_constants + s.plan + s.padding, s.file);
    std::printf("  %-9s %zu ops: file %llu B = header %llu + graph %llu + weights %llu + per-channel %llu + other %llu"
                " + plan %llu + padding %llu; lower bound %llu B (from levels %llu), ratio %.4f, budget %.0f B; "
                "arena %llu B (bound %llu), tables %llu B\n",
                levels ? (std::to_string(levels) + " levels").c_str() : "int8", g.ops.size(),
                (unsigned long long)s.file, (unsigned long long)s.header, (unsigned long long)s.graph,
                (unsigned long long)s.weights, (unsigned long long)s.channel_params,
                (unsigned long long)s.other_constants, (unsigned long long)s.plan, (unsigned long long)s.padding,
                (unsigned long long)lb, (unsigned long long)lb_levels, s.ratio(), 1.05 * double(lb) + 4096,
                (unsigned long long)s.arena_size, (unsigned long long)s.arena_lower_bound,
                (unsigned long long)e.table_bytes);
    // Both bounds: from the codes present (an MDW-Concat shortcut's zero padding adds a code to
    // an even level count) and from the trained level count.
    EXPECT_LE(double(e.bytes.size()), 1.05 * double(lb) + 4096);
    EXPECT_LE(double(e.bytes.size()), 1.05 * double(lb_levels) + 4096);
    EXPECT_TRUE(s.within_budget());
  }
}

// The trained Fashion-MNIST model, when the experiment folder is there.
TEST(Export, RealQuantizedModelRunsBitExactFromItsFile) {
  const std::string path = "/work/exp/models/m.mse.q.h5";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found";
  const IntGraph g = int_graph_from_record(load_model_h5(path), path);
  const FlyExport e = export_fly(g);
  const FlySizes& s = e.sizes;
  std::printf("  %s: file %llu B, lower bound %llu B, ratio %.4f; arena %llu B (bound %llu B)\n", path.c_str(),
              (unsigned long long)s.file, (unsigned long long)s.lower_bound, s.ratio(),
              (unsigned long long)s.arena_size, (unsigned long long)s.arena_lower_bound);
  EXPECT_TRUE(s.within_budget());
  IntRunner ref(g);
  FlyRunner fly(e.bytes, path);
  std::mt19937 rng(9);
  const size_t nin = g.tensors[size_t(g.input)].bytes(), nout = g.tensors[size_t(g.output)].bytes();
  for (int k = 0; k < 8; ++k) {
    const std::vector<int8_t> x = random_codes(nin, rng);
    std::vector<int8_t> a(nout), b(nout);
    ref.run(x.data(), a.data());
    fly.run(x.data(), b.data());
    EXPECT_EQ(a, b);
  }
  const FlyInfo info = fly_info(e.bytes, path);
  EXPECT_EQ(info.sizes.file, s.file);
  EXPECT_EQ(info.input, g.input);
  EXPECT_EQ(info.output, g.output);
  EXPECT_EQ(info.table_bytes, e.table_bytes);
  EXPECT_EQ(info.input_scale, double(float(g.tensors[size_t(g.input)].scale)));  // no host info: float32
  EXPECT_EQ(info.input_zero_point, g.tensors[size_t(g.input)].zero_point);
  FlyExportOptions full;
  full.host_info = true;
  EXPECT_EQ(fly_info(export_fly(g, full).bytes).output_scale, g.tensors[size_t(g.output)].scale);
}

// ------------------------------------------------------------------- export_model (the command)

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag)
      : path(std::filesystem::temp_directory_path() / (tag + "_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

TEST(Export, ExportModelWritesTheFileAndTheCArray) {
  const TempDir dir("flynet_export_model_test");
  const IntGraph g = make_graph(test::small_flynet(), 21);
  save_model_h5(int_graph_to_record(g), dir / "m.q.h5");
  ExportOptions o;
  o.model = dir / "m.q.h5";
  o.out = dir / "m.fly";
  o.c_array = dir / "net.h";
  o.name = "my_net";
  o.host_info = true;
  o.arena_align = 16;
  const ExportReport r = export_model(o);

  FlyExportOptions fo;
  fo.host_info = true;
  fo.arena_alignment = 16;
  const FlyExport want = export_fly(g, fo);
  EXPECT_EQ(r.fly.bytes, want.bytes);
  EXPECT_EQ(read_file_bytes(o.out), want.bytes);
  EXPECT_EQ(r.ops, g.ops.size());
  EXPECT_EQ(r.tensors, g.tensors.size());
  EXPECT_EQ(r.fly.sizes.host_info, read_fly(want.bytes).sizes.host_info);
  EXPECT_EQ(r.c_header, o.c_array);
  EXPECT_EQ(r.c_source, dir / "net.c");  // beside the header, same stem
  const std::string h = read_file_bytes(r.c_header), c = read_file_bytes(r.c_source);
  EXPECT_NE(h.find("from m.q.h5"), std::string::npos);
  EXPECT_NE(h.find("#define MY_NET_INPUT_MEAN"), std::string::npos);  // the model's normalisation
  EXPECT_NE(h.find("#define MY_NET_ARENA_SIZE " + std::to_string(want.plan.arena_size)), std::string::npos);
  EXPECT_NE(c.find("my_net["), std::string::npos);

  // No C array: only the .fly file, and the report says so.
  ExportOptions plain;
  plain.model = o.model;
  plain.out = dir / "plain.fly";
  const ExportReport p = export_model(plain);
  EXPECT_TRUE(p.c_header.empty() && p.c_source.empty());
  EXPECT_EQ(read_file_bytes(plain.out), export_fly(g).bytes);
}

TEST(Export, ExportModelRefusesBeforeWritingAnything) {
  const TempDir dir("flynet_export_model_refuses_test");
  save_model_h5(int_graph_to_record(make_graph(test::small_flynet(), 22)), dir / "m.q.h5");
  save_model(Model::create(test::small_flynet(), 1), dir / "float.h5");
  auto code = [&](ExportOptions o) {
    o.out = dir / "out.fly";
    try {
      export_model(o);
    } catch (const Error& e) {
      EXPECT_FALSE(std::filesystem::exists(o.out)) << e.what();
      return e.code();
    }
    return ErrorCode::internal;  // not thrown
  };
  ExportOptions o;
  o.model = dir / "float.h5";
  EXPECT_EQ(code(o), ErrorCode::format);  // not an int8 model
  o.model = dir / "m.q.h5";
  o.c_array = dir / "net.h";
  o.name = "9lives";
  EXPECT_EQ(code(o), ErrorCode::usage);   // not a C identifier
  o.name = "net";
  o.c_array = dir / "net.c";
  EXPECT_EQ(code(o), ErrorCode::usage);   // the header would overwrite the source
  EXPECT_FALSE(std::filesystem::exists(dir / "net.c"));
}

}  // namespace
}  // namespace flynet
