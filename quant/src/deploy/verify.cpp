#include "flynet/core/model_state.hpp"
#include "flynet/quant/verify.hpp"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "flynet/core/model.hpp"
#include "flynet/core/qdq.hpp"
#include "flynet/core/trainer.hpp"
#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/limits.hpp"
#include "flynet/quant/fly_runner.hpp"
#include "flynet/quant/quantize.hpp"

namespace flynet {

namespace {

namespace fs = std::filesystem;

std::string image_file(const std::string& dir, int64_t i) {
  char b[32];
  std::snprintf(b, sizeof b, "image_%05lld.bin", (long long)i);
  return (fs::path(dir) / b).string();
}

// Runs one image through `r`, appending every op's outputs (golden order) to `dump`.
void run_dumping(FlyRunner& r, const int8_t* x, int8_t* y, const std::vector<GoldenLayer>& layers,
                 std::vector<int8_t>& dump) {
  dump.assign(layers.empty() ? 0 : size_t(layers.back().offset + layers.back().bytes), 0);
  size_t next = 0;
  r.run(x, y, [&](int32_t node) {
    for (; next < layers.size() && layers[next].op == node; ++next) {
      const GoldenLayer& L = layers[next];
      const int8_t* t = r.tensor(L.tensor);
      if (!t) throw Error(ErrorCode::internal, "tensor " + std::to_string(L.tensor) + " is not readable after its op");
      std::copy(t, t + L.bytes, dump.begin() + int64_t(L.offset));
    }
  });
}

}  // namespace

IntRun run_int_reference(const std::string& bytes, const FlyModel& model, const InputQuant& iq,
                         std::shared_ptr<const Dataset> data, const IntRunOptions& opt,
                         const std::function<void(int64_t, int64_t)>& progress) {
  const IntGraph& g = model.graph;
  const IntTensor& in = g.tensors.at(size_t(g.input));
  const IntTensor& out = g.tensors.at(size_t(g.output));
  const DatasetInfo& di = data->info();
  if (di.h != in.dims[1] || di.w != in.dims[2] || di.c != in.dims[3])
    throw Error(ErrorCode::shape, "data set images are " + std::to_string(di.h) + "x" + std::to_string(di.w) + "x" +
                                      std::to_string(di.c) + ", the model takes " + std::to_string(in.dims[1]) + "x" +
                                      std::to_string(in.dims[2]) + "x" + std::to_string(in.dims[3]),
                di.source);
  if (iq.mean.size() != size_t(di.c) || iq.std.size() != size_t(di.c))
    throw Error(ErrorCode::shape, "the input normalisation has " + std::to_string(iq.mean.size()) +
                                      " channels, the images " + std::to_string(di.c));
  IntRun r;
  r.count = opt.samples > 0 ? std::min(opt.samples, di.size) : di.size;
  r.classes = int(out.numel());
  const int64_t px = in.numel();
  r.inputs.resize(size_t(r.count * px));
  r.codes.resize(size_t(r.count * r.classes));
  r.labels.resize(size_t(r.count));

  LoaderOptions lo;
  lo.batch = 256;
  lo.shuffle = false;
  lo.mean = iq.mean;
  lo.std = iq.std;
  BatchLoader loader(data, lo);
  loader.start_epoch(0);
  tbb::task_arena arena(std::max(1, opt.threads));
  tbb::enumerable_thread_specific<std::unique_ptr<FlyRunner>> runners;
  std::chrono::duration<double> busy{0};
  int64_t done = 0;
  Batch b;
  while (done < r.count && loader.next(b)) {
    const int64_t n = std::min<int64_t>(b.n(), r.count - done);
    for (int64_t i = 0; i < n; ++i) {
      const float* x = b.images.ptr() + i * px;
      int8_t* q = r.inputs.data() + (done + i) * px;
      for (int64_t e = 0; e < px; ++e)
        q[e] = int8_t(std::clamp(std::round(double(x[e]) / iq.scale) + iq.zero_point, -128.0, 127.0));
      r.labels[size_t(done + i)] = b.labels[size_t(i)];
    }
    const auto t0 = std::chrono::steady_clock::now();
    arena.execute([&] {
      tbb::parallel_for(int64_t(0), n, [&](int64_t i) {
        auto& runner = runners.local();
        if (!runner) runner = std::make_unique<FlyRunner>(bytes);
        runner->run(r.inputs.data() + (done + i) * px, r.codes.data() + (done + i) * r.classes);
      });
    });
    busy += std::chrono::steady_clock::now() - t0;
    done += n;
    if (progress) progress(done, r.count);
  }
  r.count = done;
  r.inputs.resize(size_t(done * px));
  r.codes.resize(size_t(done * r.classes));
  r.labels.resize(size_t(done));
  r.seconds = busy.count();
  return r;
}

std::vector<GoldenLayer> golden_layers(const FlyModel& model) {
  const IntGraph& g = model.graph;
  std::vector<GoldenLayer> v;
  uint64_t off = 0;
  for (size_t k = 0; k < g.ops.size(); ++k)
    for (size_t s = 0; s < g.ops[k].outputs.size(); ++s) {
      GoldenLayer L;
      L.op = int32_t(k);
      L.slot = int32_t(s);
      L.tensor = g.ops[k].outputs[s];
      L.op_name = g.ops[k].name.empty() ? "op" + std::to_string(k) : g.ops[k].name;
      const IntTensor& t = g.tensors.at(size_t(L.tensor));
      L.tensor_name = t.name.empty() ? "t" + std::to_string(L.tensor) : t.name;
      L.bytes = t.bytes();
      L.offset = off;
      off += L.bytes;
      v.push_back(L);
    }
  return v;
}

void write_golden(const std::string& dir, const std::string& bytes, const FlyModel& model, const IntRun& run,
                  int64_t images) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(ErrorCode::io, "cannot create the dump directory: " + ec.message(), dir);
  const std::vector<GoldenLayer> layers = golden_layers(model);
  std::ostringstream tsv;
  tsv << "# op\top_name\tslot\ttensor\ttensor_name\tbytes\toffset\n";
  for (const GoldenLayer& L : layers)
    tsv << L.op << '\t' << L.op_name << '\t' << L.slot << '\t' << L.tensor << '\t' << L.tensor_name << '\t' << L.bytes
        << '\t' << L.offset << '\n';
  write_bytes_atomically((fs::path(dir) / "layers.tsv").string(), tsv.str());
  FlyRunner r(bytes);
  const int64_t px = int64_t(r.input_bytes());
  const int64_t n = std::min(images, run.count);
  std::vector<int8_t> y(r.output_bytes()), dump, outputs;
  for (int64_t i = 0; i < n; ++i) {
    run_dumping(r, run.inputs.data() + i * px, y.data(), layers, dump);
    write_bytes_atomically(image_file(dir, i), std::string_view(reinterpret_cast<const char*>(dump.data()), dump.size()));
    outputs.insert(outputs.end(), y.begin(), y.end());
  }
  auto view = [](const std::vector<int8_t>& v, size_t bytes) {
    return std::string_view(reinterpret_cast<const char*>(v.data()), bytes);
  };
  write_bytes_atomically((fs::path(dir) / "inputs.bin").string(), view(run.inputs, size_t(n * px)));
  write_bytes_atomically((fs::path(dir) / "outputs.bin").string(), view(outputs, outputs.size()));
}

GoldenResult compare_golden(const std::string& dir, const std::string& bytes, const FlyModel& model,
                            const IntRun& run) {
  const std::vector<GoldenLayer> layers = golden_layers(model);
  const std::string tsv_path = (fs::path(dir) / "layers.tsv").string();
  {
    std::istringstream tsv(read_file_bytes(tsv_path));
    std::string line;
    size_t k = 0;
    while (std::getline(tsv, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream f(line);
      std::string op, op_name, slot, tensor, tensor_name, nbytes, offset;
      std::getline(f, op, '\t');
      std::getline(f, op_name, '\t');
      std::getline(f, slot, '\t');
      std::getline(f, tensor, '\t');
      std::getline(f, tensor_name, '\t');
      std::getline(f, nbytes, '\t');
      std::getline(f, offset, '\t');
      if (k >= layers.size() || op != std::to_string(layers[k].op) || tensor != std::to_string(layers[k].tensor) ||
          nbytes != std::to_string(layers[k].bytes))
        throw Error(ErrorCode::format, "the dump's layer " + std::to_string(k) + " does not match the model's", tsv_path);
      ++k;
    }
    if (k != layers.size())
      throw Error(ErrorCode::format,
                  "the dump lists " + std::to_string(k) + " tensors, the model has " + std::to_string(layers.size()),
                  tsv_path);
  }
  const uint64_t total = layers.empty() ? 0 : layers.back().offset + layers.back().bytes;
  GoldenResult res;
  FlyRunner r(bytes);
  const int64_t px = int64_t(r.input_bytes());
  std::vector<int8_t> y(r.output_bytes()), dump;
  for (int64_t i = 0; fs::exists(image_file(dir, i)); ++i) {
    const std::string path = image_file(dir, i);
    if (i >= run.count)
      throw Error(ErrorCode::format, "the dump has more images than were run (" + std::to_string(run.count) + ")", path);
    const std::string want = read_file_bytes(path);
    if (want.size() != total)
      throw Error(ErrorCode::format,
                  "dump has " + std::to_string(want.size()) + " bytes, the model's layers " + std::to_string(total), path);
    run_dumping(r, run.inputs.data() + i * px, y.data(), layers, dump);
    res.images = i + 1;
    for (const GoldenLayer& L : layers) {
      int64_t first = -1, differing = 0;
      for (uint64_t e = 0; e < L.bytes; ++e)
        if (int8_t(want[L.offset + e]) != dump[L.offset + e]) {
          if (first < 0) first = int64_t(e);
          ++differing;
        }
      if (first < 0) continue;
      res.match = false;
      res.image = i;
      res.layer = L;
      res.index = first;
      res.expected = int8_t(want[L.offset + uint64_t(first)]);
      res.got = dump[L.offset + uint64_t(first)];
      res.differing = differing;
      const auto& d = model.graph.tensors[size_t(L.tensor)].dims;
      int64_t rest = first;
      for (int a = 3; a >= 0; --a) {
        res.position[size_t(a)] = int32_t(rest % d[size_t(a)]);
        rest /= d[size_t(a)];
      }
      return res;
    }
  }
  if (res.images == 0) throw Error(ErrorCode::io, "no image_00000.bin in the golden directory", dir);
  return res;
}

std::string golden_mismatch_text(const GoldenResult& gr) {
  char b[512];
  std::snprintf(b, sizeof b,
                "golden mismatch: image %lld, op %d '%s' output %d (tensor '%s'), element %lld at (n %d, h %d, w %d, "
                "c %d): dump %d, this run %d (%lld of %llu elements differ)",
                (long long)gr.image, gr.layer.op, gr.layer.op_name.c_str(), gr.layer.slot, gr.layer.tensor_name.c_str(),
                (long long)gr.index, gr.position[0], gr.position[1], gr.position[2], gr.position[3], gr.expected, gr.got,
                (long long)gr.differing, (unsigned long long)gr.layer.bytes);
  return b;
}

namespace {

std::vector<double> dequantize(const std::vector<int8_t>& q, double scale, int32_t zp) {
  std::vector<double> v(q.size());
  for (size_t i = 0; i < q.size(); ++i) v[i] = (double(q[i]) - zp) * scale;
  return v;
}

// The QDQ model's simulation on the images of `data` in order, against the int8 outputs.
VerifyQdq compare_qdq(Model& m, const QdqRecord& q, std::shared_ptr<const Dataset> data, const std::vector<double>& int_out,
                      double out_scale, int classes) {
  const InputNormalisation norm = read_input_normalisation(m).per_channel(m.spec().in_c);
  LoaderOptions lo;
  lo.batch = 256;
  lo.shuffle = false;
  lo.mean = norm.mean;
  lo.std = norm.std;
  BatchLoader loader(std::move(data), lo);
  loader.start_epoch(0);
  std::vector<double> sim;
  Batch b;
  while (loader.next(b)) {
    const Tensor z = qdq_simulate(m, q, b.images);
    sim.insert(sim.end(), z.data.begin(), z.data.end());
  }
  VerifyQdq v;
  v.images = int64_t(sim.size()) / classes;
  v.agreement = agreement(int_out, sim, classes);
  v.int8_vs_sim = error_metrics(int_out, sim);
  for (size_t i = 0; i < sim.size(); ++i) v.max_abs_diff = std::max(v.max_abs_diff, std::fabs(int_out[i] - sim[i]));
  v.max_lsb_diff = v.max_abs_diff / out_scale;
  return v;
}

}  // namespace

VerifyReport verify_model(const VerifyOptions& o, const VerifyHooks& hooks) {
  auto done = [&](VerifyPart part, const VerifyReport& r) {
    if (hooks.part_done) hooks.part_done(part, r);
  };
  auto progress = [&](const std::string& stage) { return hooks.progress ? hooks.progress(stage) : ProgressFn{}; };

  const std::string bytes = read_file_bytes(o.model);
  const FlyModel fm = read_fly(bytes, o.model);
  // Each worker thread allocates an arena of the planned size: refuse a hostile plan up front.
  limits::check(limits::kFlyArenaField, fm.plan.arena_size, limits::kFlyArenaBytes, "arena bytes", o.model);
  const IntGraph& g = fm.graph;
  if (o.data.empty()) throw Error(ErrorCode::usage, "--data is required");
  if (o.profile && o.target.empty()) throw Error(ErrorCode::usage, "--profile needs --target");
  if (o.max_drop >= 0 && o.float_model.empty()) throw Error(ErrorCode::usage, "--max-drop needs --float MODEL.h5");

  std::optional<Model> fmodel;
  if (!o.float_model.empty()) fmodel = load_model(o.float_model);
  // The input normalisation: from the file's host info, else from the float model.
  InputQuant iq;
  iq.scale = g.tensors.at(size_t(g.input)).scale;
  iq.zero_point = g.tensors.at(size_t(g.input)).zero_point;
  InputNormalisation norm = read_input_normalisation(g.meta, int(g.tensors.at(size_t(g.input)).dims[3]), o.model);
  if (!norm.recorded() && fmodel) norm = read_input_normalisation(*fmodel).per_channel(fmodel->spec().in_c);
  iq.mean = norm.mean;
  iq.std = norm.std;
  if (!norm.recorded())
    throw Error(ErrorCode::usage,
                "the file has no input normalisation: export it with --host-info, or give --float MODEL.h5", o.model);

  const DatasetPair d = open_dataset(o.data);
  VerifyReport r;
  r.data = d.test->info().source;
  r.classes = d.test->info().class_names;
  r.host_info = fm.host_info;
  IntRunOptions ro;
  // An emulated board runs ~1000x slower than the host: a hundred images unless told.
  ro.samples = o.samples == 0 && !o.target.empty() ? 100 : o.samples;
  ro.threads = o.threads;
  r.run = run_int_reference(bytes, fm, iq, d.test, ro, progress("integer reference"));
  const IntRun& run = r.run;
  const IntTensor& out = g.tensors.at(size_t(g.output));
  const int K = run.classes;
  const std::vector<double> int_out = dequantize(run.codes, out.scale, out.zero_point);
  r.int8 = accuracy(int_out, run.labels, K);
  done(VerifyPart::int8, r);

  if (fmodel) {
    // The float model on exactly these images, in the same order.
    std::vector<int64_t> idx(size_t(run.count));
    std::iota(idx.begin(), idx.end(), 0);
    const InputNormalisation fn = read_input_normalisation(*fmodel).per_channel(fmodel->spec().in_c);
    const EvalResult fe = evaluate(*fmodel, subset(d.test, idx), fn.mean, fn.std, 256, true);
    const std::vector<double> float_out(fe.logits.data.begin(), fe.logits.data.end());
    VerifyFloat& f = r.float_model.emplace();
    f.accuracy = accuracy(float_out, run.labels, K);
    f.agreement = agreement(int_out, float_out, K);
    f.int8_vs_float = error_metrics(int_out, float_out);
    f.drop = 100 * (f.accuracy.top1 - r.int8.top1);
    if (const std::optional<QdqRecord> q = read_qdq(*fmodel, o.float_model))
      f.qdq = compare_qdq(*fmodel, *q, subset(d.test, idx), int_out, out.scale, K);
    done(VerifyPart::float_model, r);
    // The fake-quant simulations and per-layer SQNR need the graph's names and real scales.
    if (fm.host_info && o.sim_samples != 0) {
      CompareOptions co;
      co.samples = o.sim_samples > 0 ? std::min(o.sim_samples, run.count) : run.count;
      co.threads = o.threads;
      r.simulation = compare_int8(*fmodel, g, d.test, co, progress("simulation and layers"));
    }
    done(VerifyPart::simulation, r);
  }

  if (!o.dump.empty()) {
    write_golden(o.dump, bytes, fm, run, o.dump_images);
    r.dumped_images = std::min(o.dump_images, run.count);
    done(VerifyPart::dump, r);
  }
  if (!o.golden.empty()) {
    r.golden = compare_golden(o.golden, bytes, fm, run);
    if (!r.golden->match) r.failures.push_back(golden_mismatch_text(*r.golden));
    done(VerifyPart::golden, r);
  }

  if (!o.target.empty()) {
    QemuTargetOptions to;
    to.board = o.target;
    to.source_dir = o.source;
    to.profile = o.profile;
    VerifyTarget& t = r.target.emplace();
    t.run = run_on_qemu(bytes, std::span<const int8_t>(run.inputs), int(run.count), to);
    const size_t ob = size_t(t.run.output_bytes);
    for (int64_t i = 0; i < run.count; ++i) {
      const bool eq = std::equal(run.codes.begin() + i * K, run.codes.begin() + (i + 1) * K,
                                 t.run.outputs.begin() + int64_t(i * ob));
      t.identical += eq;
      if (!eq && t.first_difference < 0) t.first_difference = i;
    }
    if (t.identical != run.count)
      r.failures.push_back(t.run.board.name + " differs from the host on " + std::to_string(run.count - t.identical) +
                           " of " + std::to_string(run.count) + " images (first: image " +
                           std::to_string(t.first_difference) + ")");
    done(VerifyPart::target, r);
  }

  // Gates.
  if (o.min_agreement >= 0) {
    if (!r.float_model) throw Error(ErrorCode::usage, "--min-agreement needs --float MODEL.h5");
    char b[160];
    std::snprintf(b, sizeof b, "top-1 agreement int8/float %.2f%% is below --min-agreement %.2f%%",
                  100 * r.float_model->agreement, o.min_agreement);
    if (100 * r.float_model->agreement < o.min_agreement) r.failures.push_back(b);
  }
  if (o.max_drop >= 0) {
    const double drop = r.float_model->drop;  // a float model is there: checked at the start
    char b[160];
    std::snprintf(b, sizeof b, "top-1 drop float -> int8 %.2f points exceeds --max-drop %.2f", drop, o.max_drop);
    if (drop > o.max_drop) r.failures.push_back(b);
  }
  done(VerifyPart::gates, r);
  return r;
}

}  // namespace flynet
