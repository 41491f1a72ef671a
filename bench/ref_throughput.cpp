// Throughput of the C99 integer reference (quant/ref) on a quantized model: the test split of a
// data set through IntRunner, images in parallel with TBB (one IntRunner per thread), then a
// single-thread profile of where the time goes, by op kind.
//
//   flynet_ref_throughput [model.q.h5] [--data DIR] [--threads N] [--reps R] [--limit N]
//                         [--profile-images N] [--portable]
//
// The model defaults to the main job's (out/flynet-h3.q.h5); --portable turns the host vector
// paths off (flyref_set_vector_paths), i.e. times the loops a Cortex-M runs.
//
// Prints images/s, seconds, MACs/s and an FNV-1a hash of every output code (in image order), so
// that any change in the kernels' arithmetic shows up as a different hash.
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "flynet/core/data.hpp"
#include "flynet/core/model_state.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/h5_store.hpp"
#include "flynet/formats/int_graph.hpp"
#include "flynet/quant/compare.hpp"
#include "flynet/quant/flyref_tables.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flynet_format.h"
#include "flyref_interpreter.h"

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

const flynet::IntTensor& T(const flynet::IntGraph& g, int32_t t) { return g.tensors[size_t(t)]; }

/// Multiply-accumulates of one op (conv / depthwise / FC; 0 for the rest).
int64_t macs_of(const flynet::IntGraph& g, const flynet::IntOp& op) {
  const auto& o = T(g, op.outputs[0]).dims;
  const int64_t opx = int64_t(o[0]) * o[1] * o[2];
  if (op.op == FLYNET_OP_CONV2D) {
    const auto& w = T(g, op.inputs[1]).dims;
    return opx * o[3] * w[1] * w[2] * w[3];
  }
  if (op.op == FLYNET_OP_DEPTHWISE_CONV2D) {
    const auto& w = T(g, op.inputs[1]).dims;
    return opx * o[3] * w[1] * w[2];
  }
  if (op.op == FLYNET_OP_FULLY_CONNECTED) {
    const auto& w = T(g, op.inputs[1]).dims;
    return int64_t(o[0]) * w[0] * w[1] * w[2] * w[3];
  }
  return 0;
}

/// Op kind for the profile: the op name, with kernel size / stride / multiplier where the
/// reference takes different paths.
std::string kind_of(const flynet::IntGraph& g, const flynet::IntOp& op) {
  const char* names[] = {"invalid", "conv2d", "depthwise", "fully_connected", "add", "mul", "maximum",
                         "avg_pool", "max_pool", "softmax", "hard_swish", "logistic", "hard_sigmoid",
                         "concat", "channel_gather", "requantize", "vaeca_descriptor", "eca_conv1d",
                         "max_group", "leaky_relu"};
  std::string s = op.op >= 0 && op.op < FLYNET_OP_COUNT ? names[op.op] : "op" + std::to_string(op.op);
  if (op.op == FLYNET_OP_CONV2D || op.op == FLYNET_OP_DEPTHWISE_CONV2D) {
    const auto& w = T(g, op.inputs[1]).dims;
    const auto p = op.get_params<flynet_conv2d_params>();
    s += " " + std::to_string(w[1]) + "x" + std::to_string(w[2]) + " s" + std::to_string(p.stride_h);
    if (op.op == FLYNET_OP_DEPTHWISE_CONV2D)
      s += " m" + std::to_string(T(g, op.outputs[0]).dims[3] / T(g, op.inputs[0]).dims[3]);
    const auto& o = T(g, op.outputs[0]).dims;
    s += " " + std::to_string(o[1]) + "x" + std::to_string(o[2]) + " " + std::to_string(T(g, op.inputs[0]).dims[3]) +
         "->" + std::to_string(o[3]);
  }
  return s;
}

uint64_t fnv1a(uint64_t h, const int8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    h ^= uint8_t(p[i]);
    h *= 0x100000001b3ull;
  }
  return h;
}

/// The graph as flyref structures with every activation at its own offset, so that each node can
/// be invoked alone (a one-node graph over the same tensors) and timed.
struct OpByOp {
  flynet::FlyrefTables tables;
  std::vector<uint8_t> arena;

  explicit OpByOp(const flynet::IntGraph& g) : tables(g) {
    size_t off = 0;
    for (size_t k = 0; k < g.tensors.size(); ++k)
      if (!g.tensors[k].constant()) {
        tables.tensors[k].arena_offset = uint32_t(off);
        off = (off + g.tensors[k].bytes() + 15) & ~size_t(15);
      }
    flyref_graph fg = tables.graph();
    size_t need = 0;
    if (flyref_plan_scratch(&fg, &need) != FLYREF_OK || flyref_graph_prepare(&fg, need) != FLYREF_OK)
      throw flynet::Error(flynet::ErrorCode::unsupported, "the integer reference rejects the graph");
    arena.assign(need, 0);
  }

  /// Runs one image node by node, adding each node's seconds to `t` and keeping each node's
  /// fastest run in `best`; returns the output codes.
  const int8_t* run(const flynet::IntGraph& g, const int8_t* x, std::vector<double>& t, std::vector<double>& best) {
    std::memcpy(arena.data() + tables.tensors[size_t(g.input)].arena_offset, x, T(g, g.input).bytes());
    for (size_t k = 0; k < tables.nodes.size(); ++k) {
      flyref_graph one = tables.node_graph(k);
      const auto t0 = clock_type::now();
      const flyref_status st = flyref_graph_invoke(&one, arena.data(), arena.size());
      const double dt = seconds_since(t0);
      t[k] += dt;
      best[k] = std::min(best[k], dt);
      if (st != FLYREF_OK)
        throw flynet::Error(flynet::ErrorCode::internal, "op '" + g.ops[k].name + "' failed: " + flyref_status_str(st));
    }
    return reinterpret_cast<const int8_t*>(arena.data() + tables.tensors[size_t(g.output)].arena_offset);
  }
};

double load_average() {
  std::ifstream f("/proc/loadavg");
  double l = -1;
  f >> l;
  return l;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Throughput of the integer reference (quant/ref) on a quantized model"};
  std::string model = "out/flynet-h3.q.h5", data = "/usr/share/datasets/fashion-mnist";
  int threads = 2, reps = 1, profile_images = 1000;
  int64_t limit = 0;
  app.add_option("model", model, "quantized model (.q.h5)");
  app.add_option("--data", data, "data set (its test split is used)");
  app.add_option("--threads", threads, "TBB threads for the timed run")->check(CLI::PositiveNumber);
  app.add_option("--reps", reps, "timed repetitions (best and all are printed)")->check(CLI::PositiveNumber);
  app.add_option("--limit", limit, "first N test images (0 = all)");
  app.add_option("--profile-images", profile_images, "images of the single-thread op profile (0 = none)");
  bool portable = false;
  app.add_flag("--portable", portable, "portable loops only (no host vector paths)");
  CLI11_PARSE(app, argc, argv);
  flyref_set_vector_paths(portable ? 0 : 1);
  std::printf("kernels: %s\n", !portable && flyref_vector_paths_available() ? "host vector paths (AVX2)" : "portable loops");

  try {
    const flynet::IntGraph g = flynet::int_graph_from_record(flynet::load_model_h5(model), model);
    const flynet::DatasetPair d = flynet::open_dataset(data);
    const flynet::DatasetInfo& di = d.test->info();
    const flynet::IntTensor& in = T(g, g.input);
    const flynet::IntTensor& out = T(g, g.output);
    if (in.numel() != int64_t(di.h) * di.w * di.c)
      throw flynet::Error(flynet::ErrorCode::shape, "the model's input does not match the data set's images", model);
    const int64_t n = limit > 0 ? std::min(limit, di.size) : di.size;

    // Normalisation as the model was trained (its metadata), else the identity the lowering
    // then chose the input's quantization for.
    const flynet::InputNormalisation norm =
        flynet::read_input_normalisation(g.meta, di.c, model).per_channel(di.c);
    const std::vector<float>& mean = norm.mean;
    const std::vector<float>& sd = norm.std;
    const int64_t px = in.numel();
    std::vector<int8_t> xq(size_t(n * px));
    std::vector<int32_t> labels(static_cast<size_t>(n));
    {
      std::vector<uint8_t> pix(static_cast<size_t>(px));
      std::vector<float> xf(static_cast<size_t>(px));
      for (int64_t i = 0; i < n; ++i) {
        labels[size_t(i)] = d.test->get(i, pix.data());
        for (int64_t e = 0; e < px; ++e) {
          const size_t c = size_t(e % di.c);
          xf[size_t(e)] = (pix[size_t(e)] / 255.f - mean[c]) / sd[c];
        }
        flynet::quantize_input(g, xf.data(), xq.data() + i * px);
      }
    }

    int64_t macs = 0;
    for (const flynet::IntOp& op : g.ops) macs += macs_of(g, op);
    std::printf("model %s: %zu ops, %.3f M MACs per image\n", model.c_str(), g.ops.size(), macs / 1e6);
    std::printf("data %s: %lld test images, load average %.2f at start\n", data.c_str(), (long long)n,
                load_average());

    const int64_t K = out.numel();
    std::vector<int8_t> y(size_t(n * K));
    tbb::task_arena arena(threads);
    std::vector<double> times;
    for (int r = 0; r < reps; ++r) {
      std::fill(y.begin(), y.end(), int8_t(0));
      tbb::enumerable_thread_specific<flynet::IntRunner> runners([&] { return flynet::IntRunner(g); });
      const auto t0 = clock_type::now();
      arena.execute([&] {
        tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, 16), [&](const tbb::blocked_range<int64_t>& b) {
          flynet::IntRunner& runner = runners.local();
          for (int64_t i = b.begin(); i < b.end(); ++i) runner.run(xq.data() + i * px, y.data() + i * K);
        });
      });
      times.push_back(seconds_since(t0));
    }
    uint64_t h = fnv1a(0xcbf29ce484222325ull, y.data(), y.size());
    int64_t correct = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int8_t* v = y.data() + i * K;
      correct += std::max_element(v, v + K) - v == labels[size_t(i)];
    }
    const double best = *std::min_element(times.begin(), times.end());
    std::printf("threads %d: %.0f images/s, %.3f s for %lld images, %.2f GMAC/s (best of %d:", threads, n / best, best,
                (long long)n, double(macs) * n / best / 1e9, reps);
    for (double t : times) std::printf(" %.3f", t);
    std::printf(" s)\n");
    std::printf("top-1 %.4f, output hash %016llx, load average %.2f at end\n", double(correct) / n,
                (unsigned long long)h, load_average());

    if (profile_images > 0) {
      OpByOp ops(g);
      std::vector<double> t(g.ops.size(), 0.0), best(g.ops.size(), 1e30);
      const int64_t pn = std::min<int64_t>(profile_images, n);
      uint64_t ph = 0xcbf29ce484222325ull;
      for (int64_t i = 0; i < pn; ++i) ph = fnv1a(ph, ops.run(g, xq.data() + i * px, t, best), size_t(K));
      if (ph != fnv1a(0xcbf29ce484222325ull, y.data(), size_t(pn * K)))
        throw flynet::Error(flynet::ErrorCode::internal, "op-by-op run disagrees with IntRunner");
      // The fastest of the images' runs of a node estimates its cost without the machine's other
      // load (the kernels' time hardly depends on the data); the mean includes that load.
      struct Row {
        double mean = 0, best = 0;
        int64_t macs = 0;
      };
      std::map<std::string, Row> by_kind;
      double total = 0, total_best = 0;
      for (size_t k = 0; k < g.ops.size(); ++k) {
        Row& e = by_kind[kind_of(g, g.ops[k])];
        e.mean += t[k] / double(pn);
        e.best += best[k];
        e.macs += macs_of(g, g.ops[k]);
        total += t[k] / double(pn);
        total_best += best[k];
      }
      std::vector<std::pair<std::string, Row>> rows(by_kind.begin(), by_kind.end());
      std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.best > b.second.best; });
      std::printf("\nsingle-thread profile over %lld images: %.3f ms per image (mean), %.3f ms (sum of each op's fastest run)\n",
                  (long long)pn, total * 1e3, total_best * 1e3);
      std::printf("%-26s %10s %10s %7s %12s %9s\n", "op kind", "mean us", "fastest us", "share", "MACs/image",
                  "GMAC/s");
      for (const auto& [k, v] : rows) {
        char rate[32] = "-";
        if (v.macs) std::snprintf(rate, sizeof rate, "%.2f", double(v.macs) / v.best / 1e9);
        std::printf("%-26s %10.1f %10.1f %6.1f%% %12lld %9s\n", k.c_str(), v.mean * 1e6, v.best * 1e6,
                    100 * v.best / total_best, (long long)v.macs, rate);
      }
    }
  } catch (const flynet::Error& e) {
    std::fprintf(stderr, "flynet_ref_throughput: error: %s\n", e.message().c_str());
    return 1;
  }
  return 0;
}
