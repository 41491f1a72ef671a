// The training loop, checkpoints and evaluation (trainer.hpp).
//
// Reproducibility: everything random is a pure function of (seed, epoch, step): the loader
// derives each epoch's shuffle and augmentation from (seed, epoch), dropout masks from
// (seed, step, node), the schedule from the step. A checkpoint therefore only needs the
// parameters (with BN running statistics), the optimizer moments and (epoch, step), and a
// resumed run is bit-identical to an uninterrupted one with the same thread count.
#include "flynet/core/trainer.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "flynet/core/count.hpp"
#include "flynet/core/graph.hpp"
#include "flynet/core/layers.hpp"
#include "flynet/core/loss.hpp"
#include "flynet/core/model_state.hpp"
#include "flynet/core/net.hpp"
#include "flynet/core/qat.hpp"
#include "flynet/core/schedule.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {

namespace {

using Clock = std::chrono::steady_clock;

std::string fmt(double v, int prec = 6) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*g", prec, v);
  return b;
}

const char* optim_name(OptimKind k) { return k == OptimKind::sgd ? "sgd" : "adamw"; }

std::string describe(const TrainConfig& c) {
  std::ostringstream o;
  o << "epochs=" << c.epochs << " batch=" << c.batch << " lr=" << c.lr << " optimizer=" << optim_name(c.optim.kind)
    << " momentum=" << c.optim.momentum << " nesterov=" << (c.optim.nesterov ? 1 : 0)
    << " weight_decay=" << c.optim.weight_decay << " warmup=" << c.warmup_epochs
    << " label_smoothing=" << c.label_smoothing << " t_start=" << c.t_start << " t_end=" << c.t_end
    << " augment=" << (c.augment ? 1 : 0) << " seed=" << c.seed;
  if (c.weight_levels) o << " weight_levels=" << c.weight_levels;
  if (c.act_bits) o << " act_bits=" << c.act_bits;
  if (c.fold_bn_after >= 0) o << " fold_bn_after=" << c.fold_bn_after;
  return o.str();
}

int64_t meta_int(const Model& m, const std::string& key, const std::string& file) {
  auto it = m.meta.find(key);
  if (it == m.meta.end()) throw Error(ErrorCode::format, "not a flynet checkpoint (no " + key + ")", file);
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    throw Error(ErrorCode::format, "bad " + key + " in checkpoint", file);
  }
}

void write_checkpoint(const Model& model, const Optimizer& opt, int epochs_done, int64_t step, const TrainConfig& cfg,
                      const std::string& path) {
  Model ck = model;
  for (const auto& [name, t] : opt.state())
    ck.extra.push_back(TensorRecord::from_f32("optim." + name, t.shape, t.ptr()));
  ck.meta["ckpt.epoch"] = std::to_string(epochs_done);
  ck.meta["ckpt.step"] = std::to_string(step);
  ck.meta["ckpt.seed"] = std::to_string(cfg.seed);
  ck.meta["ckpt.optimizer"] = optim_name(cfg.optim.kind);
  ck.meta["ckpt.config"] = describe(cfg);
  save_model(ck, path);
}

}  // namespace

EvalResult evaluate(Model& model, std::shared_ptr<const Dataset> data, const std::vector<float>& mean,
                    const std::vector<float>& std, int batch, bool keep_logits, float temperature) {
  LoaderOptions lo;
  lo.batch = batch;
  lo.shuffle = false;
  lo.mean = mean;
  lo.std = std;
  BatchLoader loader(data, lo);
  Net net(model);
  RunCtx ctx;  // eval: running BN statistics, no dropout
  ctx.temperature = temperature;
  EvalResult r;
  const int K = model.spec().classes;
  const int64_t total = data->info().size;
  if (keep_logits) r.logits = Tensor({total, K});
  loader.start_epoch(0);
  Batch b;
  double loss_sum = 0;
  while (loader.next(b)) {
    const Tensor& z = net.forward(b.images, ctx);
    loss_sum += softmax_cross_entropy(z, b.labels, 0.0, nullptr).loss * b.n();
    for (int i = 0; i < b.n(); ++i) {
      const float* zi = z.ptr() + int64_t(i) * K;
      const int label = b.labels[size_t(i)];
      const float target = zi[label];
      // The label's rank as argmax breaks ties (the lower class index first), which is what a
      // deployed argmax does and how quantize and verify count: quantized logits tie often, and
      // counting ties for the label overstated a fake-quant network's accuracy.
      int above = 0;
      for (int k = 0; k < K; ++k) above += zi[k] > target || (zi[k] == target && k < label);
      r.top1 += above == 0;
      r.top5 += above < 5;
      if (keep_logits) std::copy(zi, zi + K, r.logits.ptr() + (r.count + i) * K);
    }
    r.labels.insert(r.labels.end(), b.labels.begin(), b.labels.end());
    r.count += b.n();
  }
  if (r.count) {
    r.top1 /= double(r.count);
    r.top5 /= double(r.count);
    r.loss = loss_sum / double(r.count);
  }
  return r;
}

void recalibrate_batchnorm(Model& model, std::shared_ptr<const Dataset> data, const std::vector<float>& mean,
                           const std::vector<float>& std, int batch, int batches, uint64_t seed) {
  if (batches <= 0) return;
  LoaderOptions lo;
  lo.batch = batch;
  lo.shuffle = true;
  lo.drop_last = true;
  lo.mean = mean;
  lo.std = std;
  lo.seed = seed ^ 0x5bd1e995ULL;
  BatchLoader loader(data, lo);
  Net net(model);
  RunCtx ctx;
  ctx.training = true;  // batch statistics; dropout sits after the last BN, so it does not matter
  ctx.seed = seed;
  loader.start_epoch(0);
  Batch b;
  for (int i = 0; i < batches && loader.next(b); ++i) {
    ctx.bn_momentum = 1.0 / double(i + 1);  // running = mean over the batches so far
    net.forward(b.images, ctx);
  }
}

namespace {

// The end of a run: exact BN statistics, unless BN is folded into quantized weights — then its
// scale is part of the weight grid, so it stays, and the effective weights are baked in.
void finish_batchnorm(Model& model, std::shared_ptr<const Dataset> train, const DatasetInfo& info,
                      const TrainConfig& cfg) {
  if (const QatState q = read_qat_state(model.meta); q.bn_folded) {
    bake_folded_weights(model, q.weight_levels);
    return;
  }
  recalibrate_batchnorm(model, train, info.mean, info.std, std::min<int64_t>(cfg.batch, info.size),
                        cfg.bn_recalibration, cfg.seed);
}

}  // namespace

TrainResult train(Model& model, const DatasetPair& data, const TrainConfig& cfg, TrainObserver* observer) {
  check_training_memory(model.spec(), cfg.batch);
  if (cfg.epochs < 1) throw Error(ErrorCode::usage, "epochs must be at least 1");
  if (cfg.batch < 1) throw Error(ErrorCode::usage, "batch must be at least 1");
  const DatasetInfo& info = data.train->info();
  const ArchSpec& spec = model.spec();
  if (info.h != spec.in_h || info.w != spec.in_w || info.c != spec.in_c)
    throw Error(ErrorCode::shape,
                "dataset images are " + std::to_string(info.h) + "x" + std::to_string(info.w) + "x" +
                    std::to_string(info.c) + " but the model takes " + std::to_string(spec.in_h) + "x" +
                    std::to_string(spec.in_w) + "x" + std::to_string(spec.in_c),
                info.source);
  if (info.classes > spec.classes)
    throw Error(ErrorCode::shape,
                "dataset has " + std::to_string(info.classes) + " classes, the model " + std::to_string(spec.classes),
                info.source);
  set_num_threads(cfg.threads);
  if (!valid_weight_levels(cfg.weight_levels))
    throw Error(ErrorCode::usage,
                "weight levels " + std::to_string(cfg.weight_levels) + ": " + weight_levels_problem(cfg.weight_levels));
  if (cfg.act_bits != 0 && cfg.act_bits != 8) throw Error(ErrorCode::usage, "activation bits must be 8 (or 0: float)");
  if (cfg.fold_bn_after >= cfg.epochs)
    throw Error(ErrorCode::usage, "--fold-bn-after must be below the number of epochs");
  // Recorded in the model, so every Net on it (training, evaluation, calibration) computes
  // with the quantized weights and activations, and quantize keeps their codes. With int8
  // activations and float weights the weights still get the int8 grid (255 levels per
  // channel, exactly what quantize produces): QAT should see the device's weights too.
  QatState qat;
  qat.weight_levels = cfg.weight_levels ? cfg.weight_levels : (cfg.act_bits ? 255 : 0);
  qat.act_bits = cfg.act_bits;
  write_qat_state(model.meta, qat);
  if (cfg.act_bits == 0) store_act_ranges(model, {});  // a warm start from a QAT model drops its ranges

  Optimizer opt(model, cfg.optim);
  int start_epoch = 0;
  int64_t step = 0;
  if (!cfg.resume.empty()) {
    Model ck = load_model(cfg.resume);
    if (!(ck.spec() == model.spec()))
      throw Error(ErrorCode::format, "checkpoint was trained with a different architecture", cfg.resume);
    auto it = ck.meta.find("ckpt.optimizer");
    if (it != ck.meta.end() && it->second != optim_name(cfg.optim.kind))
      throw Error(ErrorCode::usage, "checkpoint was trained with optimizer " + it->second, cfg.resume);
    start_epoch = int(meta_int(ck, "ckpt.epoch", cfg.resume));
    step = meta_int(ck, "ckpt.step", cfg.resume);
    std::map<std::string, Tensor> state;
    for (const TensorRecord& t : ck.extra)
      if (t.name.rfind("optim.", 0) == 0) {
        Tensor v(t.shape);
        std::vector<float> f = t.to_f32(cfg.resume);
        std::copy(f.begin(), f.end(), v.data.begin());
        state[t.name.substr(6)] = std::move(v);
      }
    opt.load_state(state, step, cfg.resume);
    model.params = std::move(ck.params);
    if (cfg.act_bits > 0) store_act_ranges(model, load_act_ranges(ck));
    qat.bn_folded = read_qat_state(ck.meta, cfg.resume).bn_folded;
    write_qat_state(model.meta, qat);
    if (observer) observer->on_resume(start_epoch, cfg.resume);
  }

  LoaderOptions lo;
  lo.batch = cfg.batch;
  lo.shuffle = true;
  lo.drop_last = true;  // constant batch: stable BN statistics, one primitive set
  if (cfg.augment) lo.augment = Augment::for_dataset(info);
  lo.mean = info.mean;
  lo.std = info.std;
  lo.seed = cfg.seed;
  lo.threads = cfg.loader_threads;
  BatchLoader loader(data.train, lo);
  const int64_t per_epoch = loader.batches_per_epoch();
  if (per_epoch < 1) throw Error(ErrorCode::usage, "the training set is smaller than one batch", info.source);
  const int64_t total_steps = per_epoch * cfg.epochs;
  const int64_t warmup = int64_t(std::llround(cfg.warmup_epochs * double(per_epoch)));

  std::ofstream metrics;
  if (!cfg.metrics.empty()) {
    metrics.open(cfg.metrics, start_epoch > 0 ? std::ios::app : std::ios::trunc);
    if (!metrics) throw Error(ErrorCode::io, "cannot write the metrics log", cfg.metrics);
  }

  TrainResult result;
  const auto t_run = Clock::now();
  Tensor dlogits;
  EpochStats last;
  for (int epoch = start_epoch; epoch < cfg.epochs; ++epoch) {
    if (cfg.max_steps >= 0 && step >= cfg.max_steps) break;
    // BN folding starts at its epoch; the flag stays on the model so evaluations and later
    // stages compute as the last epochs trained.
    if (cfg.fold_bn_after >= 0 && epoch >= cfg.fold_bn_after && !qat.bn_folded) {
      qat.bn_folded = true;
      write_qat_state(model.meta, qat);
    }
    Net net(model);
    net.set_act_range_momentum(cfg.act_range_momentum);
    RunCtx ctx;
    ctx.training = true;
    ctx.temperature = float(gate_temperature(epoch, cfg.epochs, cfg.t_start, cfg.t_end));
    ctx.seed = cfg.seed;
    loader.start_epoch(epoch);
    const auto t0 = Clock::now();
    double loss_sum = 0, lr = cfg.lr;
    int64_t correct = 0, seen = 0, b_idx = 0;
    Batch b;
    while (loader.next(b)) {
      if (cfg.max_steps >= 0 && step >= cfg.max_steps) break;
      ctx.step = uint64_t(step);
      lr = cosine_lr(cfg.lr, step, total_steps, warmup, cfg.lr_final_ratio);
      const Tensor& z = net.forward(b.images, ctx);
      const LossResult lr_ = softmax_cross_entropy(z, b.labels, cfg.label_smoothing, &dlogits);
      if (!std::isfinite(lr_.loss))
        throw Error(ErrorCode::numeric, "training diverged (loss " + fmt(lr_.loss) + " at step " + std::to_string(step) +
                                            "); try a lower --lr");
      net.backward(dlogits, ctx);
      opt.step(model, net.grads(), lr);
      ++step;
      ++b_idx;
      loss_sum += lr_.loss * b.n();
      correct += lr_.correct;
      seen += b.n();
      if (observer) {
        BatchProgress p;
        p.epoch = epoch;
        p.epochs = cfg.epochs;
        p.batch = b_idx;
        p.batches = per_epoch;
        p.loss = loss_sum / double(seen);
        p.accuracy = double(correct) / double(seen);
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        p.images_per_s = double(seen) / std::max(s, 1e-9);
        p.eta_s = s / double(b_idx) * double(per_epoch - b_idx);
        observer->on_batch(p);
      }
    }
    if (net.quantizes_activations()) store_act_ranges(model, net.act_ranges());
    EpochStats st;
    st.epoch = epoch;
    st.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    st.loss = seen ? loss_sum / double(seen) : 0;
    st.accuracy = seen ? double(correct) / double(seen) : 0;
    st.images_per_s = double(seen) / std::max(st.seconds, 1e-9);
    st.lr = lr;
    st.temperature = ctx.temperature;
    const bool last_epoch = epoch == cfg.epochs - 1 || (cfg.max_steps >= 0 && step >= cfg.max_steps);
    // The checkpoint keeps the running statistics of training, so a resumed run continues
    // exactly; the final model gets recalibrated ones before its evaluation.
    if (!cfg.checkpoint.empty()) write_checkpoint(model, opt, epoch + 1, step, cfg, cfg.checkpoint);
    if (last_epoch) finish_batchnorm(model, data.train, info, cfg);
    if (last_epoch || (cfg.eval_every > 0 && (epoch + 1) % cfg.eval_every == 0)) {
      // The last epoch is evaluated as the model will be used (T = 1); earlier ones at the
      // temperature they trained with.
      const float t_eval = last_epoch ? 1.f : ctx.temperature;
      const EvalResult e = evaluate(model, data.test, info.mean, info.std, 256, false, t_eval);
      st.test_top1 = e.top1;
      st.test_top5 = e.top5;
      st.test_loss = e.loss;
    }
    if (metrics) {
      metrics << "{\"epoch\":" << epoch + 1 << ",\"step\":" << step << ",\"loss\":" << fmt(st.loss)
              << ",\"accuracy\":" << fmt(st.accuracy) << ",\"lr\":" << fmt(st.lr)
              << ",\"temperature\":" << fmt(st.temperature) << ",\"seconds\":" << fmt(st.seconds, 4)
              << ",\"images_per_s\":" << fmt(st.images_per_s, 5);
      // A quantization-aware run says so on every line (flynet report marks its epochs).
      if (cfg.weight_levels) metrics << ",\"weight_levels\":" << cfg.weight_levels;
      if (cfg.act_bits) metrics << ",\"act_bits\":" << cfg.act_bits;
      if (st.test_top1 >= 0)
        metrics << ",\"test_top1\":" << fmt(st.test_top1) << ",\"test_top5\":" << fmt(st.test_top5)
                << ",\"test_loss\":" << fmt(st.test_loss);
      metrics << "}\n";
      metrics.flush();
    }
    if (observer) observer->on_epoch(st);
    last = st;
    result.epochs = epoch + 1;
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - t_run).count();
  result.steps = step;
  if (last.test_top1 < 0) {  // resumed a finished run, or stopped by max_steps before evaluating
    if (result.epochs == 0) finish_batchnorm(model, data.train, info, cfg);
    const EvalResult e = evaluate(model, data.test, info.mean, info.std);
    last.test_top1 = e.top1;
    last.test_top5 = e.top5;
  }
  result.test_top1 = last.test_top1;
  result.test_top5 = last.test_top5;

  model.meta["train.test_top1"] = fmt(result.test_top1, 6);
  model.meta["train.test_top5"] = fmt(result.test_top5, 6);
  model.meta["train.epochs"] = std::to_string(cfg.epochs);
  model.meta["train.seed"] = std::to_string(cfg.seed);
  model.meta["train.options"] = describe(cfg);
  model.meta["train.dataset"] = info.source;
  model.meta["train.gate_temperature"] = "1";
  write_input_normalisation(model.meta, InputNormalisation{info.mean, info.std}, spec.in_c);
  return result;
}

}  // namespace flynet

namespace flynet {

uint64_t training_memory_bytes(const ArchSpec& spec, int batch) {
  const Graph g = build_graph(spec);
  uint64_t activations = 0;
  for (const Node& n : g.nodes) activations += uint64_t(n.out.numel());
  const uint64_t weights = uint64_t(count_graph(g).total.params_bn);
  return (uint64_t(64) << 20) + uint64_t(std::max(batch, 1)) * activations * sizeof(float) * 2 +
         weights * sizeof(float) * 4;
}

void check_training_memory(const ArchSpec& spec, int batch) {
  uint64_t limit = uint64_t(sysconf(_SC_PHYS_PAGES)) * uint64_t(sysconf(_SC_PAGESIZE));
  struct rlimit as {};
  if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) limit = std::min<uint64_t>(limit, as.rlim_cur);
  const uint64_t need = training_memory_bytes(spec, batch);
  if (need <= limit) return;
  char what[200];
  std::snprintf(what, sizeof what,
                "training %s at batch %d needs about %.1f GB, more than the %.1f GB this process may use; lower "
                "--batch or --input",
                spec.summary().c_str(), batch, double(need) / 1e9, double(limit) / 1e9);
  throw Error(ErrorCode::unsupported, what);
}

Throughput measure_throughput(const ArchSpec& spec, int batch, int steps, int threads) {
  check_training_memory(spec, batch);
  set_num_threads(threads);
  Model model = Model::create(spec, 1);
  Net net(model);
  Optimizer opt(model, OptimOptions{});
  Tensor x({batch, spec.in_h, spec.in_w, spec.in_c});
  uint64_t s = 12345;
  for (float& v : x.data) {  // xorshift noise in [-1, 1)
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    v = float(double(s >> 11) / 4503599627370496.0 - 1.0);
  }
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (int i = 0; i < batch; ++i) labels[size_t(i)] = i % spec.classes;
  RunCtx train_ctx;
  train_ctx.training = true;
  Tensor dl;
  auto train_step = [&](int64_t step) {
    train_ctx.step = uint64_t(step);
    net.forward(x, train_ctx);
    softmax_cross_entropy(net.logits(), labels, 0.1, &dl);
    net.backward(dl, train_ctx);
    opt.step(model, net.grads(), 1e-3);
  };
  Throughput t;
  for (int i = 0; i < 2; ++i) train_step(i);
  auto t0 = Clock::now();
  for (int i = 0; i < steps; ++i) train_step(2 + i);
  t.train_images_per_s = double(steps) * batch / std::chrono::duration<double>(Clock::now() - t0).count();
  RunCtx eval_ctx;
  for (int i = 0; i < 2; ++i) net.forward(x, eval_ctx);
  t0 = Clock::now();
  for (int i = 0; i < steps; ++i) net.forward(x, eval_ctx);
  t.infer_images_per_s = double(steps) * batch / std::chrono::duration<double>(Clock::now() - t0).count();
  return t;
}

}  // namespace flynet
