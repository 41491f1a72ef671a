#include "flynet/quant/compare.hpp"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>

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

struct LayerAcc {
  double ref2 = 0, err_int = 0, err_sim = 0;
  int64_t equal = 0, count = 0;
};

struct Worker {
  explicit Worker(const IntGraph& g, bool keep, bool sim) : runner(g, keep) {
    if (sim) this->sim = std::make_unique<FakeQuantSim>(g);
  }
  IntRunner runner;
  std::unique_ptr<FakeQuantSim> sim;
  std::vector<LayerAcc> layers;
  int64_t top_int = 0, top_sim = 0, a_if = 0, a_is = 0, a_sf = 0;
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
  std::vector<float> mean, sd;
  input_normalisation(model, mean, sd);
  LoaderOptions lo;
  lo.batch = opt.batch;
  lo.shuffle = false;
  lo.mean = mean;
  lo.std = sd;
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
  tbb::enumerable_thread_specific<Worker> workers([&] { return Worker(g, opt.per_layer, opt.simulate); });
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
        if (w.layers.size() != layers.size()) w.layers.resize(layers.size());
        std::vector<int8_t> x(static_cast<size_t>(px)), y(static_cast<size_t>(K));
        quantize_input(g, b.images.ptr() + i * px, x.data());
        w.runner.run(x.data(), y.data());
        const int64_t ti = argmax_codes(y.data(), K);
        w.top_int += ti == b.labels[size_t(i)];
        w.a_if += ti == float_top[size_t(i)];
        int64_t ts = -1;
        if (w.sim) {
          w.sim->run(x.data());
          const auto& q = w.sim->codes(g.output);
          ts = std::max_element(q.begin(), q.end()) - q.begin();
          w.top_sim += ts == b.labels[size_t(i)];
          w.a_is += ts == ti;
          w.a_sf += ts == float_top[size_t(i)];
        }
        for (size_t L = 0; L < layers.size(); ++L) {
          const auto [t, node] = layers[L];
          const IntTensor& T = g.tensors[size_t(t)];
          const Tensor& f = net.output(node);
          const int64_t per = f.numel() / f.shape[0];
          const float* fv = f.ptr() + i * per;
          const int8_t* r = w.runner.tensor(t);
          LayerAcc& a = w.layers[L];
          for (int64_t e = 0; e < per; ++e) {
            const double ref = fv[e], vi = (r[e] - T.zero_point) * T.scale;
            a.ref2 += ref * ref;
            a.err_int += (vi - ref) * (vi - ref);
            if (w.sim) {
              const int32_t qs = w.sim->codes(t)[size_t(e)];
              const double vs = (qs - T.zero_point) * T.scale;
              a.err_sim += (vs - ref) * (vs - ref);
              a.equal += qs == r[e];
            }
            ++a.count;
          }
        }
      });
    });
    done += n;
    if (progress) progress(done, total);
  }

  CompareReport rep;
  rep.count = done;
  std::vector<LayerAcc> acc(layers.size());
  int64_t ti = 0, ts = 0, aif = 0, ais = 0, asf = 0;
  for (const Worker& w : workers) {
    ti += w.top_int;
    ts += w.top_sim;
    aif += w.a_if;
    ais += w.a_is;
    asf += w.a_sf;
    for (size_t L = 0; L < w.layers.size(); ++L) {
      acc[L].ref2 += w.layers[L].ref2;
      acc[L].err_int += w.layers[L].err_int;
      acc[L].err_sim += w.layers[L].err_sim;
      acc[L].equal += w.layers[L].equal;
      acc[L].count += w.layers[L].count;
    }
  }
  const double N = double(std::max<int64_t>(done, 1));
  rep.top1_float = double(top_float) / N;
  rep.top1_int = double(ti) / N;
  rep.agree_int_float = double(aif) / N;
  if (opt.simulate) {
    rep.top1_sim = double(ts) / N;
    rep.agree_int_sim = double(ais) / N;
    rep.agree_sim_float = double(asf) / N;
  }
  auto db = [](double sig, double err) { return err > 0 ? 10.0 * std::log10(sig / err) : 200.0; };
  for (size_t L = 0; L < layers.size(); ++L) {
    LayerSqnr l;
    l.tensor = g.tensors[size_t(layers[L].first)].name;
    l.int_vs_float = db(acc[L].ref2, acc[L].err_int);
    if (opt.simulate) {
      l.sim_vs_float = db(acc[L].ref2, acc[L].err_sim);
      l.int_vs_sim_equal = double(acc[L].equal) / double(std::max<int64_t>(acc[L].count, 1));
    }
    rep.layers.push_back(l);
  }
  return rep;
}

}  // namespace flynet
