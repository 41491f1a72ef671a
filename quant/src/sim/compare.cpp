#include "flynet/quant/compare.hpp"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>

#include "flynet/core/model_state.hpp"
#include "flynet/core/net.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/quant/fake_quant_sim.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flynet/quant/quantize.hpp"

namespace flynet {

void quantize_input(const IntGraph& g, const float* x, int8_t* q) {
  const IntTensor& in = g.tensors[size_t(g.input)];
  for (int64_t i = 0; i < in.numel(); ++i)
    q[i] = int8_t(std::clamp(std::round(double(x[i]) / in.scale) + in.zero_point, -128.0, 127.0));
}

namespace {

// Sums over one simulation: per-layer squared error and equal codes, top-1 counts.
struct SimAcc {
  std::vector<double> err;
  std::vector<int64_t> equal;
  int64_t top = 0, agree_int = 0, agree_float = 0;
  void add(const SimAcc& o) {
    for (size_t L = 0; L < err.size(); ++L) {
      err[L] += o.err[L];
      equal[L] += o.equal[L];
    }
    top += o.top;
    agree_int += o.agree_int;
    agree_float += o.agree_float;
  }
};

struct Worker {
  Worker(const IntGraph& g, bool keep, bool simulate, size_t layers) : runner(g, keep), ref2(layers), err_int(layers), count(layers) {
    if (!simulate) return;
    for (SimArithmetic a : {SimArithmetic::integer, SimArithmetic::real}) {
      sims.push_back(std::make_unique<FakeQuantSim>(g, a));
      acc.push_back(SimAcc{std::vector<double>(layers), std::vector<int64_t>(layers)});
    }
  }
  IntRunner runner;
  std::vector<std::unique_ptr<FakeQuantSim>> sims;  // integer, then real arithmetic
  std::vector<SimAcc> acc;
  std::vector<double> ref2, err_int;
  std::vector<int64_t> count;  // compared elements per layer
  int64_t top_int = 0, a_if = 0;
};

int64_t argmax_codes(const int8_t* v, int n) { return std::max_element(v, v + n) - v; }

}  // namespace

CompareReport compare_int8(Model& model, const IntGraph& g, std::shared_ptr<const Dataset> data,
                           const CompareOptions& opt, const ProgressFn& progress) {
  const DatasetInfo& di = data->info();
  const ArchSpec& s = model.spec();
  if (di.h != s.in_h || di.w != s.in_w || di.c != s.in_c)
    throw Error(ErrorCode::shape, "data set images are " + std::to_string(di.h) + "x" + std::to_string(di.w) + "x" +
                                      std::to_string(di.c) + ", the model takes " + std::to_string(s.in_h) + "x" +
                                      std::to_string(s.in_w) + "x" + std::to_string(s.in_c), di.source);
  const int64_t total = opt.samples > 0 ? std::min(opt.samples, di.size) : di.size;
  const InputNormalisation norm = read_input_normalisation(model).per_channel(s.in_c);
  LoaderOptions lo;
  lo.batch = opt.batch;
  lo.shuffle = false;
  lo.mean = norm.mean;
  lo.std = norm.std;
  BatchLoader loader(data, lo);
  Net net(model);

  // Int8 tensors that hold a float node's value, by name.
  std::vector<std::pair<int32_t, int>> layers;  // (int tensor, float node)
  if (opt.per_layer)
    for (size_t t = 0; t < g.tensors.size(); ++t) {
      if (g.tensors[t].constant()) continue;
      const int node = model.graph.find(g.tensors[t].name);
      if (node >= 0) layers.push_back({int32_t(t), node});
    }

  const IntTensor& out = g.tensors[size_t(g.output)];
  const int K = int(out.numel());
  tbb::task_arena arena(std::max(1, opt.threads));
  tbb::enumerable_thread_specific<Worker> workers([&] { return Worker(g, opt.per_layer, opt.simulate, layers.size()); });
  int64_t done = 0, top_float = 0;
  loader.start_epoch(0);
  Batch b;
  while (done < total && loader.next(b)) {
    const int n = int(std::min<int64_t>(b.n(), total - done));
    const Tensor& logits = net.forward(b.images, RunCtx{});
    const int64_t px = b.images.numel() / b.n();
    std::vector<int64_t> float_top(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      const float* l = logits.ptr() + int64_t(i) * K;
      float_top[size_t(i)] = std::max_element(l, l + K) - l;
      top_float += float_top[size_t(i)] == b.labels[size_t(i)];
    }
    arena.execute([&] {
      tbb::parallel_for(0, n, [&](int i) {
        Worker& w = workers.local();
        std::vector<int8_t> x(static_cast<size_t>(px)), y(static_cast<size_t>(K));
        quantize_input(g, b.images.ptr() + i * px, x.data());
        w.runner.run(x.data(), y.data());
        const int64_t ti = argmax_codes(y.data(), K);
        w.top_int += ti == b.labels[size_t(i)];
        w.a_if += ti == float_top[size_t(i)];
        for (size_t k = 0; k < w.sims.size(); ++k) {
          FakeQuantSim& sim = *w.sims[k];
          SimAcc& a = w.acc[k];
          sim.run(x.data());
          const auto& q = sim.codes(g.output);
          // The first maximum, as for the reference's codes: ties break alike.
          const int64_t ts = std::max_element(q.begin(), q.end()) - q.begin();
          a.top += ts == b.labels[size_t(i)];
          a.agree_int += ts == ti;
          a.agree_float += ts == float_top[size_t(i)];
        }
        for (size_t L = 0; L < layers.size(); ++L) {
          const auto [t, node] = layers[L];
          const IntTensor& T = g.tensors[size_t(t)];
          const Tensor& f = net.output(node);
          const int64_t per = f.numel() / f.shape[0];
          const float* fv = f.ptr() + i * per;
          const int8_t* r = w.runner.tensor(t);
          for (int64_t e = 0; e < per; ++e) {
            const double ref = fv[e], vi = (r[e] - T.zero_point) * T.scale;
            w.ref2[L] += ref * ref;
            w.err_int[L] += (vi - ref) * (vi - ref);
          }
          w.count[L] += per;
          for (size_t k = 0; k < w.sims.size(); ++k) {
            const std::vector<int32_t>& qs = w.sims[k]->codes(t);
            SimAcc& a = w.acc[k];
            for (int64_t e = 0; e < per; ++e) {
              const double vs = (qs[size_t(e)] - T.zero_point) * T.scale;
              a.err[L] += (vs - fv[e]) * (vs - fv[e]);
              a.equal[L] += qs[size_t(e)] == r[e];
            }
          }
        }
      });
    });
    done += n;
    if (progress) progress(done, total);
  }

  CompareReport rep;
  rep.count = done;
  std::vector<double> ref2(layers.size()), err_int(layers.size());
  std::vector<int64_t> count(layers.size());
  std::vector<SimAcc> acc;
  if (opt.simulate)
    for (int k = 0; k < 2; ++k) acc.push_back(SimAcc{std::vector<double>(layers.size()), std::vector<int64_t>(layers.size())});
  int64_t ti = 0, aif = 0;
  for (const Worker& w : workers) {
    ti += w.top_int;
    aif += w.a_if;
    for (size_t L = 0; L < layers.size(); ++L) {
      ref2[L] += w.ref2[L];
      err_int[L] += w.err_int[L];
      count[L] += w.count[L];
    }
    for (size_t k = 0; k < w.acc.size(); ++k) acc[k].add(w.acc[k]);
  }
  const double N = double(std::max<int64_t>(done, 1));
  rep.top1_float = double(top_float) / N;
  rep.top1_int = double(ti) / N;
  rep.agree_int_float = double(aif) / N;
  if (opt.simulate) {
    rep.sim = SimFigures{double(acc[0].top) / N, double(acc[0].agree_int) / N, double(acc[0].agree_float) / N};
    rep.ideal = SimFigures{double(acc[1].top) / N, double(acc[1].agree_int) / N, double(acc[1].agree_float) / N};
  }
  auto db = [](double sig, double err) { return err > 0 ? 10.0 * std::log10(sig / err) : 200.0; };
  for (size_t L = 0; L < layers.size(); ++L) {
    LayerSqnr l;
    l.tensor = g.tensors[size_t(layers[L].first)].name;
    l.int_vs_float = db(ref2[L], err_int[L]);
    const double codes = double(std::max<int64_t>(count[L], 1));
    if (opt.simulate) {
      l.sim = LayerSqnr::Sim{db(ref2[L], acc[0].err[L]), double(acc[0].equal[L]) / codes};
      l.ideal = LayerSqnr::Sim{db(ref2[L], acc[1].err[L]), double(acc[1].equal[L]) / codes};
    }
    rep.layers.push_back(l);
  }
  return rep;
}

}  // namespace flynet
