// The emulated-target driver (quant/src/deploy/target_qemu.cpp).
//
// TargetQemu.*: what needs no cross tools (board names, the ELF reader on malformed files, the
// message when the tools are missing). OnQemu.*: a small quantized FlyNet exported to .fly and
// run on qemu-m4; its int8 outputs must equal the host integer reference's (IntRunner, which
// runs the IntGraph directly, not the .fly file), and the ELF sizes must equal what binutils'
// arm-none-eabi-size reports. Without arm-none-eabi-gcc/newlib/qemu the OnQemu run exits 77
// (ctest: skipped) naming the Debian packages (see main below).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <tuple>

#include "flynet/core/count.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/quant/calibrate.hpp"
#include "flynet/quant/export.hpp"
#include "flynet/quant/firmware_dir.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flynet/quant/quantize.hpp"
#include "flynet/quant/target_profile.hpp"
#include "flynet/quant/target_qemu.hpp"
#include "int_graph_builder.hpp"
#include "quant_fixtures.hpp"
#include "flynet_format.h"

#ifndef FLYNET_SOURCE_DIR
#error "FLYNET_SOURCE_DIR must name the source tree (tests/quant/CMakeLists.txt sets it)"
#endif
#ifndef FLYNET_TEST_CACHE_DIR
#error "FLYNET_TEST_CACHE_DIR must name the firmware cache (tests/quant/CMakeLists.txt sets it)"
#endif

namespace flynet {
namespace {

namespace fs = std::filesystem;

// Sets PATH for the scope of one test.
class ScopedPath {
 public:
  explicit ScopedPath(const std::string& p) : old_(std::getenv("PATH") ? std::getenv("PATH") : "") {
    ::setenv("PATH", p.c_str(), 1);
  }
  ~ScopedPath() { ::setenv("PATH", old_.c_str(), 1); }

 private:
  std::string old_;
};

TEST(TargetQemu, BoardNames) {
  EXPECT_EQ(qemu_board("qemu-m3").machine, "mps2-an385");
  EXPECT_EQ(qemu_board("qemu-m4").machine, "mps2-an386");
  EXPECT_EQ(qemu_board("qemu-m7").machine, "mps2-an500");
  EXPECT_EQ(qemu_board("qemu-m33").machine, "mps2-an505");
  EXPECT_EQ(qemu_board("qemu-m55").machine, "mps3-an547");
  EXPECT_EQ(qemu_board("qemu-m55").cpu, "cortex-m55");
  EXPECT_EQ(qemu_board("qemu-m33").instructions_per_tick, 50.0);    // 1e9 ns / 20 MHz
  EXPECT_EQ(qemu_board("qemu-m55").instructions_per_tick, 31.25);  // 1e9 ns / 32 MHz
  try {
    qemu_board("qemu-m0");
    FAIL() << "no error for an unknown board";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::usage);
    EXPECT_NE(std::string(e.what()).find("qemu-m55"), std::string::npos) << e.what();
  }
}

TEST(TargetQemu, MissingToolsNameTheDebianPackages) {
  const fs::path empty = fs::temp_directory_path() / ("flynet-empty-path-" + std::to_string(::getpid()));
  fs::create_directories(empty);
  {
    ScopedPath p(empty.string());
    const std::string m = qemu_tools_missing();
    EXPECT_NE(m.find("gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"), std::string::npos) << m;
    EXPECT_NE(m.find("arm-none-eabi-gcc"), std::string::npos) << m;
    QemuTargetOptions opt;
    opt.source_dir = FLYNET_SOURCE_DIR;
    const std::vector<int8_t> in(16, 0);
    try {
      run_on_qemu("not a model", in, 1, opt);
      FAIL() << "no error without the tools";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::unsupported);
      EXPECT_NE(std::string(e.what()).find("libnewlib-arm-none-eabi"), std::string::npos) << e.what();
    }
  }
  fs::remove_all(empty);
}

// Without --source the driver builds the firmware sources the binary carries
// ($FLYNET_FIRMWARE_DIR, else <bin>/../share/flynet/firmware), never the source tree it came from.
TEST(TargetQemu, FirmwareSourcesComeWithTheBinary) {
  const fs::path dir = fs::temp_directory_path() / ("flynet-no-firmware-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ::setenv("FLYNET_FIRMWARE_DIR", dir.c_str(), 1);
  EXPECT_EQ(installed_firmware_dir(), dir.string());
  if (qemu_tools_missing().empty()) {
    QemuTargetOptions opt;  // source_dir empty: the installed copy, here an empty folder
    const std::vector<int8_t> in(16, 0);
    try {
      run_on_qemu("not a model", in, 1, opt);
      FAIL() << "no error for a folder without firmware sources";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::io);
      EXPECT_NE(std::string(e.what()).find("firmware sources not found"), std::string::npos) << e.what();
      EXPECT_NE(e.file().find(dir.string()), std::string::npos) << e.what();
    }
  }
  ::unsetenv("FLYNET_FIRMWARE_DIR");
  // This test binary carries no copy beside it (only the flynet binary's build tree stages one).
  EXPECT_EQ(installed_firmware_dir(), "");
  fs::remove_all(dir);
}

TEST(TargetQemu, InputsMustBeWholeTensors) {
  QemuTargetOptions opt;
  const std::vector<int8_t> in(10, 0);
  try {
    run_on_qemu("x", in, 3, opt);
    FAIL() << "no error for 10 bytes as 3 inputs";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::shape);
  }
}

TEST(TargetQemu, MalformedElfIsAFormatError) {
  const fs::path p = fs::temp_directory_path() / ("flynet-bad-elf-" + std::to_string(::getpid()));
  // A valid ELF32 LE header whose section table lies beyond the end of the file.
  std::string h(52, '\0');
  h[0] = 0x7f, h[1] = 'E', h[2] = 'L', h[3] = 'F', h[4] = 1, h[5] = 1, h[6] = 1;
  h[32] = char(0x00), h[33] = char(0x10);  // e_shoff = 4096
  h[46] = 40, h[48] = 3, h[50] = 2;        // e_shentsize, e_shnum, e_shstrndx
  for (const std::string& bytes : {std::string("\x7f" "ELF"), std::string(60, 'x'), h}) {
    std::ofstream(p, std::ios::binary) << bytes;
    try {
      elf_firmware_sizes(p.string());
      FAIL() << "accepted a malformed ELF of " << bytes.size() << " bytes";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::format) << e.what();
    }
  }
  fs::remove(p);
}

// ------------------------------------------------------------------------------------ on qemu

// A FlyNet-h3 at 16x16x1 with non-trivial BN statistics, calibrated on random images; the float
// model goes to *float_model when given.
IntGraph small_flynet(uint64_t seed, Model* float_model = nullptr) {
  const ArchSpec s = test::small_flynet();
  std::mt19937 rng(static_cast<uint32_t>(seed));
  Model m = test::random_bn_model(s, seed, rng);
  std::vector<Tensor> images;
  for (int b = 0; b < 2; ++b) images.push_back(test::random_batch(s, 8, rng));
  IntGraph g = test::calibrated_int8(m, images);
  if (float_model) *float_model = std::move(m);
  return g;
}

// Multiply-accumulates of op k counted the naive way, one by one over the loops the kernel runs
// (output position x output channel x tap x input channel of its group), from the IntGraph's
// shapes (not the .fly reader's tables the profile uses).
int64_t naive_macs(const IntGraph& g, const IntOp& op) {
  const auto& o = g.tensors[size_t(op.outputs[0])].dims;
  int64_t n = 0;
  if (op.op == FLYNET_OP_CONV2D || op.op == FLYNET_OP_DEPTHWISE_CONV2D) {
    const auto& w = g.tensors[size_t(op.inputs[1])].dims;
    const int32_t taps_c = op.op == FLYNET_OP_CONV2D ? w[3] : 1;  // input channels per output channel
    for (int32_t b = 0; b < o[0]; ++b)
      for (int32_t y = 0; y < o[1]; ++y)
        for (int32_t x = 0; x < o[2]; ++x)
          for (int32_t c = 0; c < o[3]; ++c)
            for (int32_t ky = 0; ky < w[1]; ++ky)
              for (int32_t kx = 0; kx < w[2]; ++kx) n += taps_c;
  } else if (op.op == FLYNET_OP_FULLY_CONNECTED) {
    const int64_t k = g.tensors[size_t(op.inputs[0])].numel() / o[0];
    for (int32_t b = 0; b < o[0]; ++b)
      for (int32_t c = 0; c < o[3]; ++c) n += k;
  } else if (op.op == FLYNET_OP_ECA_CONV1D) {
    const auto& w = g.tensors[size_t(op.inputs[2])].dims;  // [1, 1, K, 2]
    for (int64_t c = 0; c < g.tensors[size_t(op.outputs[0])].numel(); ++c) n += int64_t(w[2]) * 2;
  }
  return n;
}

// A firmware transcript with a profile: `ticks[i][k]` for node k of image i, `empty[i]`.
std::string profile_transcript(const IntGraph& g, const std::vector<std::vector<uint64_t>>& ticks,
                               const std::vector<uint64_t>& empty) {
  std::string t = "flyref-model v1 board=an386\ncalibration instructions_per_tick_x1000=40000\n";
  for (size_t i = 0; i < ticks.size(); ++i) {
    t += "sample " + std::to_string(i) + " ticks=99999\n";
    t += "profile " + std::to_string(i) + " empty_ticks=" + std::to_string(empty[i]) + "\n";
    for (size_t k = 0; k < g.ops.size(); ++k)
      t += "node " + std::to_string(k) + " op=" + std::to_string(g.ops[k].op) + " ticks=" + std::to_string(ticks[i][k]) +
           "\n";
  }
  return t + "flyref-model: done samples=" + std::to_string(ticks.size()) + "\n";
}

TEST(TargetQemu, ProfileFromTranscript) {
  Model fm;
  const IntGraph g = small_flynet(5, &fm);
  const std::string fly = export_fly(g).bytes;
  const size_t nn = g.ops.size();
  // Two images with different ticks per node; 40 instructions per tick.
  std::vector<std::vector<uint64_t>> ticks(2, std::vector<uint64_t>(nn));
  for (size_t k = 0; k < nn; ++k) ticks[0][k] = 100 + 7 * k, ticks[1][k] = 110 + 5 * k;
  const std::vector<uint64_t> empty = {20, 22};
  const std::vector<uint64_t> whole = {4000000, 4000100};
  const TargetProfile p = parse_target_profile(profile_transcript(g, ticks, empty), fly, 40.0, whole);

  EXPECT_EQ(p.samples, 2);
  EXPECT_DOUBLE_EQ(p.overhead, (20 + 22) * 40.0 / 2);
  EXPECT_DOUBLE_EQ(p.whole, 4000050.0);
  ASSERT_EQ(p.nodes.size(), nn);
  double sum = 0;
  int64_t macs = 0, conv_fc_macs = 0;
  std::map<std::string, double> kind_sum;
  for (size_t k = 0; k < nn; ++k) {
    const NodeProfile& n = p.nodes[k];
    EXPECT_EQ(n.node, int32_t(k));
    EXPECT_EQ(n.op, g.ops[k].op);
    // By hand: each image's node ticks minus its empty call, averaged, times 40.
    EXPECT_DOUBLE_EQ(n.instructions, (double(ticks[0][k]) - 20 + double(ticks[1][k]) - 22) / 2 * 40) << k;
    EXPECT_EQ(n.macs, naive_macs(g, g.ops[k])) << "node " << k << " " << n.layer;
    EXPECT_EQ(n.macs, fly_node_macs(fly, int32_t(k)));
    sum += n.instructions;
    macs += n.macs;
    if (n.op != FLYNET_OP_ECA_CONV1D) conv_fc_macs += n.macs;
    kind_sum[n.kind] += n.instructions;
  }
  EXPECT_DOUBLE_EQ(p.node_instructions, sum);
  EXPECT_EQ(p.macs, macs);
  // The float model's MAdds (core/count.cpp, the paper's convention) without the VA-ECA 1-D
  // convs, which the float count charges once per block and the integer op once per head. The
  // MDW-Concat shortcut's depthwise computes all C_in * h channels and a CHANNEL_GATHER keeps
  // C_out of them, where the float count charges C_out: take the dropped channels off.
  for (const IntOp& op : g.ops) {
    if (op.op != FLYNET_OP_CHANNEL_GATHER) continue;
    for (const IntOp& dw : g.ops)
      if (dw.op == FLYNET_OP_DEPTHWISE_CONV2D && dw.outputs[0] == op.inputs[0]) {
        const auto& o = g.tensors[size_t(dw.outputs[0])].dims;
        const auto& w = g.tensors[size_t(dw.inputs[1])].dims;
        const int32_t kept = g.tensors[size_t(op.outputs[0])].dims[3];
        conv_fc_macs -= int64_t(o[0]) * o[1] * o[2] * (o[3] - kept) * w[1] * w[2];
      }
  }
  int64_t strict = 0;
  const GraphCount gc = count_graph(fm.graph);
  for (const LayerCount& l : gc.layers)
    if (fm.graph.nodes[size_t(l.node)].op != OpKind::va_eca) strict += l.madds_strict;
  EXPECT_EQ(conv_fc_macs, strict);
  // Kinds: every node once, sorted by instructions.
  double ksum = 0;
  int32_t knodes = 0;
  for (size_t i = 0; i < p.kinds.size(); ++i) {
    EXPECT_DOUBLE_EQ(p.kinds[i].instructions, kind_sum.at(p.kinds[i].kind)) << p.kinds[i].kind;
    if (i > 0) {
      EXPECT_GE(p.kinds[i - 1].instructions, p.kinds[i].instructions);
    }
    ksum += p.kinds[i].instructions;
    knodes += p.kinds[i].nodes;
  }
  EXPECT_EQ(knodes, int32_t(nn));
  EXPECT_NEAR(ksum, sum, 1e-6 * sum);
  const std::string text = format_target_profile(p);
  EXPECT_NE(text.find("conv2d 1x1"), std::string::npos) << text;
  EXPECT_NE(text.find("instructions per MAC"), std::string::npos) << text;

  // Transcripts that do not match the model are format errors.
  auto expect_format_error = [&](const std::string& t, const char* what) {
    try {
      parse_target_profile(t, fly, 40.0, whole);
      ADD_FAILURE() << "accepted a transcript with " << what;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::format) << what << ": " << e.what();
    }
  };
  const std::string good = profile_transcript(g, ticks, empty);
  expect_format_error("flyref-model v1\nsample 0 ticks=5\n", "no profile lines");
  std::string t = good;
  t.erase(t.find("node 3 "), t.find('\n', t.find("node 3 ")) + 1 - t.find("node 3 "));
  expect_format_error(t, "a missing node");
  t = good;
  const size_t at = t.find("node 2 op=") + std::strlen("node 2 op=");
  t.replace(at, t.find(' ', at) - at, std::to_string(FLYNET_OP_MAX_GROUP == g.ops[2].op ? FLYNET_OP_ADD : FLYNET_OP_MAX_GROUP));
  expect_format_error(t, "another op");
  expect_format_error(good.substr(0, good.rfind("node ")), "a truncated last image");
}

// Section sizes as binutils prints them (`size -A`: name, size, address per line), summed into
// the driver's categories by section name: the independent check of the ELF reader.
std::map<std::string, uint64_t> binutils_sizes(const std::string& elf) {
  const std::string out = elf + ".size.txt";
  const std::string cmd = "arm-none-eabi-size -A '" + elf + "' > '" + out + "'";
  if (std::system(cmd.c_str()) != 0) return {};
  std::ifstream f(out);
  std::map<std::string, uint64_t> sec;
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream ls(line);
    std::string name;
    uint64_t size = 0;
    if (ls >> name >> size && name[0] == '.') sec[name] = size;
  }
  std::remove(out.c_str());
  return sec;
}

// n images of uniform random codes for g's input, drawn from seed.
std::vector<int8_t> random_images(const IntGraph& g, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int8_t> inputs(size_t(n) * g.tensors[size_t(g.input)].bytes());
  for (int8_t& v : inputs) v = int8_t(int(rng() % 256u) - 128);
  return inputs;
}

// The host's outputs (IntRunner, the C reference) of g for n images.
std::vector<int8_t> host_outputs(const IntGraph& g, const std::vector<int8_t>& inputs, int n) {
  const size_t in_bytes = g.tensors[size_t(g.input)].bytes(), out_bytes = g.tensors[size_t(g.output)].bytes();
  IntRunner host(g);
  std::vector<int8_t> expect(size_t(n) * out_bytes);
  for (int i = 0; i < n; ++i) host.run(inputs.data() + size_t(i) * in_bytes, expect.data() + size_t(i) * out_bytes);
  return expect;
}

// A board's options for these tests: firmware from the source tree, built into the tests' cache.
QemuTargetOptions board_options(const char* board) {
  QemuTargetOptions opt;
  opt.board = board;
  opt.source_dir = FLYNET_SOURCE_DIR;
  opt.cache_dir = FLYNET_TEST_CACHE_DIR;
  return opt;
}

TEST(OnQemu, SmallFlyNetIsBitExactOnCortexM4) {
  const IntGraph g = small_flynet(3);
  const std::string fly = export_fly(g).bytes;
  const IntTensor& in = g.tensors[size_t(g.input)];
  const IntTensor& out = g.tensors[size_t(g.output)];
  const int n = 6;
  std::vector<int8_t> inputs = random_images(g, n, 7);
  // Two extreme images: all codes at the ends of the range.
  std::fill(inputs.begin(), inputs.begin() + long(in.bytes()), int8_t(-128));
  std::fill(inputs.begin() + long(in.bytes()), inputs.begin() + long(2 * in.bytes()), int8_t(127));
  const std::vector<int8_t> expect = host_outputs(g, inputs, n);

  QemuTargetOptions opt = board_options("qemu-m4");
  // Checked on the host before anything is built: the file, and the input size against it.
  for (const auto& [model, bytes, code] : {std::tuple{std::string(64, 'x'), size_t(in.bytes()), ErrorCode::format},
                                           std::tuple{fly, size_t(in.bytes() + 1), ErrorCode::shape}}) {
    try {
      run_on_qemu(model, std::vector<int8_t>(bytes, 0), 1, opt);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
    }
  }
  const QemuRunResult r = run_on_qemu(fly, inputs, n, opt);

  EXPECT_EQ(r.input_bytes, in.bytes());
  ASSERT_EQ(r.output_bytes, out.bytes());
  ASSERT_EQ(r.outputs.size(), expect.size());
  for (size_t i = 0; i < expect.size(); ++i)
    ASSERT_EQ(int(r.outputs[i]), int(expect[i])) << "sample " << i / out.bytes() << " output " << i % out.bytes();

  // Instructions: SysTick calibrated at exactly 40 instructions per tick (25 MHz, 1 ns per
  // instruction); every inference runs the same code path length within a few percent
  // (data-dependent branches only in activations and rounding).
  EXPECT_NEAR(r.instructions_per_tick, 40.0, 0.04);
  ASSERT_EQ(r.instructions.size(), size_t(n));
  for (uint64_t v : r.instructions) {
    EXPECT_GT(v, 100000u);
    EXPECT_NEAR(double(v), r.mean_instructions(), 0.1 * r.mean_instructions());
  }
  std::printf("  qemu-m4: %.0f instructions per inference, flash %llu B (model %llu), RAM %llu B (arena %llu, "
              "stack used %llu of %llu)\n",
              r.mean_instructions(), (unsigned long long)r.flash_bytes, (unsigned long long)r.model_bytes,
              (unsigned long long)r.ram_bytes, (unsigned long long)r.arena_size, (unsigned long long)r.stack_used,
              (unsigned long long)r.sizes.stack);

  // Sizes: the ELF reader against binutils, and against the build's own memory configuration.
  const auto sec = binutils_sizes(r.elf_path);
  ASSERT_FALSE(sec.empty()) << "arm-none-eabi-size failed on " << r.elf_path;
  auto get = [&](const char* name) { return sec.count(name) ? sec.at(name) : uint64_t(0); };
  EXPECT_EQ(r.sizes.text, get(".isr_vector") + get(".text") + get(".ARM.extab") + get(".ARM.exidx"));
  EXPECT_EQ(r.sizes.data, get(".data"));
  EXPECT_EQ(r.sizes.bss, get(".bss"));
  EXPECT_EQ(r.sizes.stack, get(".stack"));
  EXPECT_EQ(r.sizes.model_image, get(".model_image"));
  EXPECT_EQ(r.sizes.stack, opt.stack_size);
  EXPECT_GE(r.sizes.model_image, fly.size());
  EXPECT_GE(r.sizes.bss, r.arena_size);
  EXPECT_EQ(r.flash_bytes, r.sizes.text + r.sizes.data + fly.size());
  EXPECT_EQ(r.ram_bytes, r.sizes.data + r.sizes.bss + r.sizes.stack);
  EXPECT_GT(r.stack_used, 0u);
  EXPECT_LT(r.stack_used, r.sizes.stack);
}

// The Cortex-M55 build (MVE, hard-float ABI) gives the host's outputs, and the per-node profile
// adds up: the node counts plus one graph check equal the whole inference measured on its own
// (each node is timed to a tick, 31.25 instructions), and the node-by-node runs gave the same
// outputs (run_on_qemu checks that).
TEST(OnQemu, ProfileOnCortexM55) {
  const IntGraph g = small_flynet(11);
  const std::string fly = export_fly(g).bytes;
  const IntTensor& out = g.tensors[size_t(g.output)];
  const int n = 3;
  const std::vector<int8_t> inputs = random_images(g, n, 13);
  const std::vector<int8_t> expect = host_outputs(g, inputs, n);

  QemuTargetOptions opt = board_options("qemu-m55");
  opt.profile = true;
  const QemuRunResult r = run_on_qemu(fly, inputs, n, opt);
  ASSERT_EQ(r.outputs.size(), expect.size());
  for (size_t i = 0; i < expect.size(); ++i)
    ASSERT_EQ(int(r.outputs[i]), int(expect[i])) << "sample " << i / out.bytes() << " output " << i % out.bytes();
  EXPECT_NEAR(r.instructions_per_tick, 31.25, 0.04);
  ASSERT_EQ(r.instructions.size(), size_t(n));

  const TargetProfile& p = r.profile;
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p.samples, n);
  ASSERT_EQ(p.nodes.size(), g.ops.size());
  EXPECT_DOUBLE_EQ(p.whole, r.mean_instructions());
  const double nodes_and_check = p.node_instructions + p.overhead;
  std::printf("  qemu-m55: %.0f instructions per inference; nodes %.0f + graph check %.0f = %.0f\n", p.whole,
              p.node_instructions, p.overhead, nodes_and_check);
  EXPECT_NEAR(nodes_and_check, p.whole, 0.005 * p.whole);
  EXPECT_GT(p.overhead, 0);
  for (const NodeProfile& np : p.nodes) {
    EXPECT_EQ(np.macs, naive_macs(g, g.ops[size_t(np.node)])) << np.layer;
    // Every node does real work: more than the tick resolution, except the smallest reshapes.
    // On the M55 one VMLADAVA.S8 does 16 MACs (the 1x1 conv and FC paths run below one
    // instruction per MAC), so that is the bound.
    if (np.macs > 0) {
      EXPECT_GT(np.instructions, double(np.macs) / 16) << np.layer;
    }
  }
}

// Layers with PACKED weights at 1, 2, 3 and 4 bits, in shapes that take every branch of the
// target paths: blocked 1x1, 3x3 and depthwise convs of several blocks (the last one short), FCs
// reading their weights packed with K a multiple of 8 or not, above the DSP path's 1024, and
// output counts that leave partial blocks of four. Outputs concatenated, so every layer reaches
// the compared logits.
IntGraph packed_layers(uint32_t seed) {
  test::IntGraphBuilder b(seed);
  auto levels = [&](int bits) {
    std::vector<int> v;
    for (int i = 0; i < (1 << bits); ++i) v.push_back(2 * i - (1 << bits) + 1);  // odd codes, as trained levels
    return v;
  };
  auto packed = [&](test::Dims4 d, int bits) {
    const std::vector<int> l = levels(bits);
    std::vector<int8_t> w(size_t(d[0]) * d[1] * d[2] * d[3]);
    for (int8_t& x : w) x = int8_t(l[size_t(b.irand(0, int(l.size()) - 1))]);
    return b.const8(d, w);
  };
  auto quant = [&](int n, int lo, int hi) {
    std::vector<int32_t> m, s;
    for (int i = 0; i < n; ++i) {
      m.push_back(int32_t((1u << 30) + uint32_t(b.irand(0, (1 << 30) - 1))));
      s.push_back(b.irand(lo, hi));
    }
    return std::pair{b.const32(m), b.const32(s)};
  };
  auto conv = [&](int op, int32_t x, test::Dims4 w, int bits, test::Dims4 out, flynet_conv2d_params p, int lo, int hi) {
    const int c = op == FLYNET_OP_DEPTHWISE_CONV2D ? w[3] : w[0];
    std::vector<int32_t> bias(static_cast<size_t>(c));
    for (int32_t& v : bias) v = b.irand(-2000, 2000);
    const auto [m, s] = quant(c, lo, hi);
    const int32_t y = b.act("y" + std::to_string(b.g.tensors.size()), out, 0.05, int32_t(b.irand(-20, 20)));
    b.op(op, {x, packed(w, bits), b.const32(bias), m, s}, {y}, p);
    return y;
  };
  auto pool = [&](int32_t x) {
    const test::Dims4 d = b.T(x).dims;
    const int32_t y = b.act("p" + std::to_string(b.g.tensors.size()), {1, 1, 1, d[3]}, b.T(x).scale, b.T(x).zero_point);
    b.op(FLYNET_OP_AVG_POOL2D, {x}, {y}, flynet_pool2d_params{d[1], d[2], 1, 1, 0, 0, -128, 127});
    return y;
  };
  std::vector<int32_t> logits;
  int32_t rounding = FLYNET_ROUNDING_DOUBLE;
  auto fc = [&](int32_t x, int co, int bits, int lo, int hi) {
    const int k = b.T(x).dims[3];
    const auto [m, s] = quant(co, lo, hi);
    const int32_t y = b.act("fc" + std::to_string(b.g.tensors.size()), {1, 1, 1, co}, 0.1, 0);
    b.op(FLYNET_OP_FULLY_CONNECTED, {x, packed({co, 1, 1, k}, bits), -1, m, s}, {y},
         flynet_fully_connected_params{0, -128, 127, rounding});
    logits.push_back(y);
  };
  const int32_t x = b.input({1, 6, 6, 24}, 0.05, -3);
  const flynet_conv2d_params one{1, 1, 0, 0, 1, 1, -128, 127, FLYNET_ROUNDING_DOUBLE};
  const flynet_conv2d_params pad{1, 1, 1, 1, 1, 1, -128, 127, FLYNET_ROUNDING_SINGLE};
  const flynet_conv2d_params dws{2, 2, 1, 1, 1, 1, -100, 100, FLYNET_ROUNDING_DOUBLE};
  const int32_t a = conv(FLYNET_OP_CONV2D, x, {360, 1, 1, 24}, 3, {1, 6, 6, 360}, one, -9, -7);       // 336 + 24
  const int32_t d = conv(FLYNET_OP_DEPTHWISE_CONV2D, a, {1, 3, 3, 1080}, 2, {1, 3, 3, 1080}, dws, -8, -6);  // 296 + 64
  const int32_t c = conv(FLYNET_OP_CONV2D, x, {40, 3, 3, 24}, 4, {1, 6, 6, 40}, pad, -8, -6);       // 32 + 8
  const int32_t e = conv(FLYNET_OP_CONV2D, x, {20, 1, 1, 24}, 3, {1, 6, 6, 20}, one, -9, -7);
  fc(pool(d), 13, 4, -8, -6);  // K 1080
  fc(pool(a), 37, 2, -7, -5);  // K 360
  rounding = FLYNET_ROUNDING_SINGLE;
  fc(pool(c), 9, 1, -3, -1);   // K 40
  fc(pool(x), 11, 3, -3, -1);  // K 24
  fc(pool(e), 6, 3, -5, -3);   // K 20: rows start mid-byte
  int co = 0;
  for (int32_t t : logits) co += b.T(t).dims[3];
  const int32_t y = b.act("logits", {1, 1, 1, co}, 0.1, 0);
  b.op(FLYNET_OP_CONCAT, logits, {y}, flynet_concat_params{3});
  return b.g;
}

// The packed layers on a board give the host's integers (IntRunner: the C reference on the
// IntGraph's plain weights).
void packed_layers_on(const char* board) {
  const IntGraph g = packed_layers(17);
  const FlyExport e = export_fly(g);
  EXPECT_EQ(uint8_t(e.bytes[4]), 2u);  // version 2.0: packed conv and FC weights
  const IntTensor& out = g.tensors[size_t(g.output)];
  const int n = 3;
  const std::vector<int8_t> inputs = random_images(g, n, 19);
  const std::vector<int8_t> expect = host_outputs(g, inputs, n);
  const QemuRunResult r = run_on_qemu(e.bytes, inputs, n, board_options(board));
  ASSERT_EQ(r.outputs.size(), expect.size());
  int distinct = 0;
  for (size_t i = 0; i < expect.size(); ++i) {
    ASSERT_EQ(int(r.outputs[i]), int(expect[i])) << board << " sample " << i / out.bytes() << " output " << i % out.bytes();
    distinct += i > 0 && expect[i] != expect[i - 1];
  }
  EXPECT_GT(distinct, int(expect.size()) / 2);  // real values, not one clamp everywhere
}

TEST(OnQemu, PackedLayersAreBitExactOnCortexM4) { packed_layers_on("qemu-m4"); }
TEST(OnQemu, PackedLayersAreBitExactOnCortexM55) { packed_layers_on("qemu-m55"); }

}  // namespace
}  // namespace flynet

// The OnQemu tests need the cross toolchain and qemu: without them the run exits 77, which ctest
// reports as skipped, after saying what to install.
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const std::string filter = ::testing::GTEST_FLAG(filter);
  if (filter.find("OnQemu") != std::string::npos && filter[0] != '-') {
    const std::string missing = flynet::qemu_tools_missing();
    if (!missing.empty()) {
      std::printf("OnQemu tests skipped: %s\n", missing.c_str());
      return 77;
    }
  }
  return RUN_ALL_TESTS();
}
