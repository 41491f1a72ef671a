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
#include <optional>
#include <sstream>

#include "data_parallel.hpp"
#include "flynet/core/comm.hpp"
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

int ranks(const TrainConfig& c) { return c.comm ? c.comm->size() : 1; }

const char* optim_name(OptimKind k) { return k == OptimKind::sgd ? "sgd" : "adamw"; }

std::string describe(const TrainConfig& c) {
  std::ostringstream o;
  o << "epochs=" << c.epochs << " batch=" << c.batch << " lr=" << c.lr << " optimizer=" << optim_name(c.optim.kind)
    << " momentum=" << c.optim.momentum << " nesterov=" << (c.optim.nesterov ? 1 : 0)
    << " weight_decay=" << c.optim.weight_decay << " warmup=" << c.warmup_epochs
    << " label_smoothing=" << c.label_smoothing << " t_start=" << c.t_start << " t_end=" << c.t_end
    << " augment=" << (c.augment ? 1 : 0) << " seed=" << c.seed;
  if (c.flip >= 0) o << " flip=" << c.flip;
  if (c.weight_levels) o << " weight_levels=" << c.weight_levels;
  if (c.act_bits) o << " act_bits=" << c.act_bits;
  if (c.fold_bn_after >= 0) o << " fold_bn_after=" << c.fold_bn_after;
  if (const int n = ranks(c); n > 1)
    o << " ranks=" << n << " global_batch=" << int64_t(c.batch) * n << " sync_bn=" << (c.sync_bn ? 1 : 0);
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
  ck.meta["ckpt.ranks"] = std::to_string(ranks(cfg));
  ck.meta["ckpt.optimizer"] = optim_name(cfg.optim.kind);
  ck.meta["ckpt.config"] = describe(cfg);
  save_model(ck, path);
}

}  // namespace

EvalResult evaluate(Model& model, std::shared_ptr<const Dataset> data, const std::vector<float>& mean,
                    const std::vector<float>& std, int batch, bool keep_logits, float temperature,
                    Communicator* comm) {
  LoaderOptions lo;
  lo.batch = batch;
  lo.shuffle = false;
  lo.mean = mean;
  lo.std = std;
  if (comm) {
    lo.shards = comm->size();
    lo.shard = comm->rank();
  }
  if (keep_logits && lo.shards > 1) throw Error(ErrorCode::internal, "evaluate keeps logits only in one process");
  BatchLoader loader(data, lo);
  Net net(model);
  RunCtx ctx;  // eval: running BN statistics, no dropout
  ctx.temperature = temperature;
  ctx.logits = !keep_logits;  // the loss takes logits; kept outputs are the model's own (a softmax's too)
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
  if (lo.shards > 1) {  // counts and sums of the shards; every rank gets the totals
    double v[4] = {r.top1, r.top5, loss_sum, double(r.count)};
    comm->allreduce_sum(v, 4);
    r.top1 = v[0], r.top5 = v[1], loss_sum = v[2], r.count = int64_t(v[3]);
  }
  if (r.count) {
    r.top1 /= double(r.count);
    r.top5 /= double(r.count);
    r.loss = loss_sum / double(r.count);
  }
  return r;
}

void recalibrate_batchnorm(Model& model, std::shared_ptr<const Dataset> data, const std::vector<float>& mean,
                           const std::vector<float>& std, int batch, int batches, uint64_t seed, Communicator* comm,
                           float temperature) {
  if (batches <= 0) return;
  LoaderOptions lo;
  lo.batch = batch;
  lo.shuffle = true;
  lo.drop_last = true;
  lo.mean = mean;
  lo.std = std;
  lo.seed = seed ^ 0x5bd1e995ULL;
  if (comm) {  // each rank its share of the batches, then the mean of the ranks' means
    lo.shards = comm->size();
    lo.shard = comm->rank();
    batches = std::max(1, batches / lo.shards);
  }
  BatchLoader loader(data, lo);
  Net net(model);
  RunCtx ctx;
  ctx.training = true;  // batch statistics; dropout sits after the last BN, so it does not matter
  ctx.seed = seed;
  ctx.temperature = temperature;
  loader.start_epoch(0);
  Batch b;
  for (int i = 0; i < batches && loader.next(b); ++i) {
    ctx.bn_momentum = 1.0 / double(i + 1);  // running = mean over the batches so far
    net.forward(b.images, ctx);
  }
  if (comm) average_bn_statistics(model, *comm);
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
                        cfg.bn_recalibration, cfg.seed, cfg.comm);
}

// torchvision's 0.01 (FlyNet's BN nodes) averages over ~100 steps: several epochs of a small
// data set, over which the weights move a lot, so evaluations with those statistics trail the
// weights. A quarter of an epoch at most keeps them current; large data sets keep 0.01.
// Returns -1 (each BN node's own, 0.01) when a quarter epoch is 400 steps or more, so such runs
// compute exactly as before.
double bn_momentum(const TrainConfig& cfg, int64_t steps_per_epoch) {
  if (cfg.bn_momentum >= 0) return cfg.bn_momentum;
  const double quarter_epoch = 4.0 / double(steps_per_epoch);
  return quarter_epoch > 0.01 ? std::min(0.5, quarter_epoch) : -1.0;
}

void check_config(const Model& model, const DatasetInfo& info, const TrainConfig& cfg) {
  if (cfg.epochs < 1) throw Error(ErrorCode::usage, "epochs must be at least 1");
  if (cfg.batch < 1) throw Error(ErrorCode::usage, "batch must be at least 1");
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
  if (!valid_weight_levels(cfg.weight_levels))
    throw Error(ErrorCode::usage,
                "weight levels " + std::to_string(cfg.weight_levels) + ": " + weight_levels_problem(cfg.weight_levels));
  if (cfg.act_bits != 0 && cfg.act_bits != 8) throw Error(ErrorCode::usage, "activation bits must be 8 (or 0: float)");
  if (cfg.fold_bn_after >= cfg.epochs)
    throw Error(ErrorCode::usage, "--fold-bn-after must be below the number of epochs");
  if (cfg.bn_momentum > 1) throw Error(ErrorCode::usage, "--bn-momentum must be in (0, 1]");
}

// One run of train(): the state the epochs share.
class Run {
 public:
  Run(Model& model, const DatasetPair& data, const TrainConfig& cfg, Communicator& comm, TrainObserver* observer)
      : model_(model), data_(data), cfg_(cfg), comm_(comm), observer_(comm.rank() == 0 ? observer : nullptr),
        info_(data.train->info()), opt_(model, cfg.optim) {}

  void start();
  TrainResult run();

 private:
  void resume();
  EpochStats train_epoch(int epoch);
  LossResult train_step(Net& net, const RunCtx& ctx, Batch& b);
  void report_batch(const BatchProgress& p);
  void end_epoch(EpochStats& st, bool last_epoch);
  void finish_bn();
  EvalResult evaluate_refreshed(float temperature);
  void write_metrics(const EpochStats& st);

  Model& model_;
  const DatasetPair& data_;
  const TrainConfig& cfg_;
  Communicator& comm_;
  TrainObserver* observer_;
  const DatasetInfo& info_;
  Optimizer opt_;
  QatState qat_;
  int start_epoch_ = 0;
  int64_t step_ = 0, per_epoch_ = 0, total_steps_ = 0, warmup_ = 0;
  std::unique_ptr<BatchLoader> loader_;
  std::ofstream metrics_;
  Tensor dlogits_;
};

void Run::resume() {
  Model ck = load_model(cfg_.resume);
  if (!(ck.spec() == model_.spec()))
    throw Error(ErrorCode::format, "checkpoint was trained with a different architecture", cfg_.resume);
  auto it = ck.meta.find("ckpt.optimizer");
  if (it != ck.meta.end() && it->second != optim_name(cfg_.optim.kind))
    throw Error(ErrorCode::usage, "checkpoint was trained with optimizer " + it->second, cfg_.resume);
  // The step count and the shards of every batch depend on the number of ranks.
  const int64_t ck_ranks = ck.meta.count("ckpt.ranks") ? meta_int(ck, "ckpt.ranks", cfg_.resume) : 1;
  if (ck_ranks != comm_.size())
    throw Error(ErrorCode::usage,
                "checkpoint was trained with " + std::to_string(ck_ranks) + " rank(s), this run has " +
                    std::to_string(comm_.size()) + " (resume with the same mpirun -np)",
                cfg_.resume);
  start_epoch_ = int(meta_int(ck, "ckpt.epoch", cfg_.resume));
  step_ = meta_int(ck, "ckpt.step", cfg_.resume);
  std::map<std::string, Tensor> state;
  for (const TensorRecord& t : ck.extra)
    if (t.name.rfind("optim.", 0) == 0) {
      Tensor v(t.shape);
      std::vector<float> f = t.to_f32(cfg_.resume);
      std::copy(f.begin(), f.end(), v.data.begin());
      state[t.name.substr(6)] = std::move(v);
    }
  opt_.load_state(state, step_, cfg_.resume);
  model_.params = std::move(ck.params);
  if (cfg_.act_bits > 0) store_act_ranges(model_, load_act_ranges(ck));
  qat_.bn_folded = read_qat_state(ck.meta, cfg_.resume).bn_folded;
  write_qat_state(model_.meta, qat_);
  if (observer_) observer_->on_resume(start_epoch_, cfg_.resume);
}

void Run::start() {
  check_config(model_, info_, cfg_);
  set_num_threads(cfg_.threads);
  // Recorded in the model, so every Net on it (training, evaluation, calibration) computes
  // with the quantized weights and activations, and quantize keeps their codes. With int8
  // activations and float weights the weights still get the int8 grid (255 levels per
  // channel, exactly what quantize produces): QAT should see the device's weights too.
  qat_.weight_levels = cfg_.weight_levels ? cfg_.weight_levels : (cfg_.act_bits ? 255 : 0);
  qat_.act_bits = cfg_.act_bits;
  write_qat_state(model_.meta, qat_);
  if (cfg_.act_bits == 0) store_act_ranges(model_, {});  // a warm start from a QAT model drops its ranges
  if (!cfg_.resume.empty()) resume();

  LoaderOptions lo;
  lo.batch = cfg_.batch;
  lo.shuffle = true;
  lo.drop_last = true;  // constant batch: stable BN statistics, one primitive set
  if (cfg_.augment) {
    lo.augment = Augment::for_dataset(info_);
    if (cfg_.flip >= 0) lo.augment.hflip = cfg_.flip == 1;
  }
  lo.mean = info_.mean;
  lo.std = info_.std;
  lo.seed = cfg_.seed;
  lo.threads = cfg_.loader_threads;
  lo.shards = comm_.size();
  lo.shard = comm_.rank();
  loader_ = std::make_unique<BatchLoader>(data_.train, lo);
  per_epoch_ = loader_->batches_per_epoch();
  if (per_epoch_ < 1)
    throw Error(ErrorCode::usage,
                comm_.size() > 1 ? "the training set is smaller than one global batch (per-rank batch x ranks)"
                                 : "the training set is smaller than one batch",
                info_.source);
  total_steps_ = per_epoch_ * cfg_.epochs;
  warmup_ = int64_t(std::llround(cfg_.warmup_epochs * double(per_epoch_)));
  if (!cfg_.metrics.empty() && comm_.rank() == 0) {
    metrics_.open(cfg_.metrics, start_epoch_ > 0 ? std::ios::app : std::ios::trunc);
    if (!metrics_) throw Error(ErrorCode::io, "cannot write the metrics log", cfg_.metrics);
  }
}

LossResult Run::train_step(Net& net, const RunCtx& ctx, Batch& b) {
  if (!loader_->next(b)) throw Error(ErrorCode::internal, "the data loader ended an epoch early");
  const Tensor& z = net.forward(b.images, ctx);
  const LossResult r = softmax_cross_entropy(z, b.labels, cfg_.label_smoothing, &dlogits_);
  if (!std::isfinite(r.loss))
    throw Error(ErrorCode::numeric,
                "training diverged (loss " + fmt(r.loss) + " at step " + std::to_string(step_) + "); try a lower --lr");
  net.backward(dlogits_, ctx);
  return r;
}

EpochStats Run::train_epoch(int epoch) {
  // BN folding starts at its epoch; the flag stays on the model so evaluations and later
  // stages compute as the last epochs trained.
  if (cfg_.fold_bn_after >= 0 && epoch >= cfg_.fold_bn_after && !qat_.bn_folded) {
    qat_.bn_folded = true;
    write_qat_state(model_.meta, qat_);
  }
  Net net(model_);
  net.set_act_range_momentum(cfg_.act_range_momentum);
  std::optional<GradientReducer> reducer;
  if (comm_.size() > 1) reducer.emplace(net, comm_, cfg_.bucket_bytes);
  RunCtx ctx;
  ctx.training = true;
  ctx.logits = true;
  ctx.temperature = float(gate_temperature(epoch, cfg_.epochs, cfg_.t_start, cfg_.t_end));
  ctx.seed = cfg_.seed;
  ctx.sync_bn = cfg_.sync_bn ? &comm_ : nullptr;
  ctx.first_sample = int64_t(comm_.rank()) * cfg_.batch;
  ctx.bn_momentum = bn_momentum(cfg_, per_epoch_);
  loader_->start_epoch(epoch);
  const auto t0 = Clock::now();
  double sums[3] = {0, 0, 0};  // loss * images, correct, images
  double lr = cfg_.lr;
  Batch b;
  for (int64_t k = 0; k < per_epoch_; ++k) {
    if (cfg_.max_steps >= 0 && step_ >= cfg_.max_steps) break;
    ctx.step = uint64_t(step_);
    lr = cosine_lr(cfg_.lr, step_, total_steps_, warmup_, cfg_.lr_final_ratio);
    LossResult r;
    if (reducer) reducer->begin_step();
    // Every rank's step, then the gradient sums every rank takes part in, then the agreement:
    // a failure on one rank stops all of them before the optimizer moves.
    collective_check(comm_, [&] { r = train_step(net, ctx, b); }, [&] { if (reducer) reducer->finish(); });
    opt_.step(model_, net.grads(), lr);
    ++step_;
    sums[0] += r.loss * b.n();
    sums[1] += double(r.correct);
    sums[2] += b.n();
    if (observer_) {
      BatchProgress p;
      p.epoch = epoch;
      p.epochs = cfg_.epochs;
      p.batch = k + 1;
      p.batches = per_epoch_;
      p.loss = sums[0] / sums[2];  // rank 0's shard while the epoch runs
      p.accuracy = sums[1] / sums[2];
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      p.images_per_s = sums[2] * comm_.size() / std::max(s, 1e-9);
      p.eta_s = s / double(k + 1) * double(per_epoch_ - k - 1);
      observer_->on_batch(p);
    }
  }
  if (net.quantizes_activations()) store_act_ranges(model_, net.act_ranges());
  comm_.allreduce_sum(sums, 3);
  EpochStats st;
  st.epoch = epoch;
  st.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  st.loss = sums[2] > 0 ? sums[0] / sums[2] : 0;
  st.accuracy = sums[2] > 0 ? sums[1] / sums[2] : 0;
  st.images_per_s = sums[2] / std::max(st.seconds, 1e-9);
  st.lr = lr;
  st.temperature = ctx.temperature;
  return st;
}

void Run::end_epoch(EpochStats& st, bool last_epoch) {
  if (comm_.size() > 1) {
    if (!cfg_.sync_bn) average_bn_statistics(model_, comm_);
    if (cfg_.act_bits) average_act_ranges(model_, comm_);
    check_same_parameters(model_, comm_);
  }
  // The checkpoint keeps the running statistics of training, so a resumed run continues
  // exactly; the final model gets recalibrated ones before its evaluation.
  if (!cfg_.checkpoint.empty())
    collective_check(comm_, [&] {
      if (comm_.rank() == 0) write_checkpoint(model_, opt_, st.epoch + 1, step_, cfg_, cfg_.checkpoint);
    });
  if (last_epoch) finish_bn();
  if (last_epoch || (cfg_.eval_every > 0 && (st.epoch + 1) % cfg_.eval_every == 0)) {
    // The last epoch is evaluated as the model will be used (T = 1); earlier ones at the
    // temperature they trained with.
    const float t_eval = last_epoch ? 1.f : st.temperature;
    const EvalResult e = last_epoch ? evaluate(model_, data_.test, info_.mean, info_.std, 256, false, t_eval, &comm_)
                                    : evaluate_refreshed(t_eval);
    st.test_top1 = e.top1;
    st.test_top5 = e.top5;
    st.test_loss = e.loss;
  }
  if (metrics_) write_metrics(st);
  if (observer_) observer_->on_epoch(st);
}

// The end-of-training BN statistics: recalibrated, unless asked to decide on the evaluation
// (validation) split and the running ones score better there. Why decide: on a small data set
// the network's features on training images it has fit differ from those on unseen images, and
// exact statistics of the former can score below the running ones.
void Run::finish_bn() {
  const bool folded = read_qat_state(model_.meta).bn_folded;
  if (!cfg_.bn_choose_on_eval || folded || cfg_.bn_recalibration <= 0) {
    finish_batchnorm(model_, data_.train, info_, cfg_);
    if (!folded) model_.meta["train.bn_statistics"] = cfg_.bn_recalibration > 0 ? "recalibrated" : "running";
    return;
  }
  const std::map<std::string, Tensor> running = model_.params;
  auto top1 = [&] { return evaluate(model_, data_.test, info_.mean, info_.std, 256, false, 1.f, &comm_).top1; };
  const double kept = top1();
  finish_batchnorm(model_, data_.train, info_, cfg_);
  const double recal = top1();
  const bool recalibrate = recal >= kept;
  if (!recalibrate) model_.params = running;
  model_.meta["train.bn_statistics"] = std::string(recalibrate ? "recalibrated" : "running") +
                                       " (validation top-1: recalibrated " + fmt(recal) + ", running " + fmt(kept) + ")";
}

// An evaluation during training: of a copy whose BN statistics are exact for the current
// weights (folded BN keeps its frozen ones). The training model and its running statistics,
// which the checkpoint holds, are untouched.
EvalResult Run::evaluate_refreshed(float temperature) {
  Model snapshot = model_;
  if (!read_qat_state(snapshot.meta).bn_folded) {
    const int batch = int(std::min<int64_t>(cfg_.batch, info_.size));
    const int batches = int(std::min<int64_t>(kEvalRefreshBatches, per_epoch_ * comm_.size()));
    recalibrate_batchnorm(snapshot, data_.train, info_.mean, info_.std, batch, batches, cfg_.seed, &comm_,
                          temperature);
  }
  return evaluate(snapshot, data_.test, info_.mean, info_.std, 256, false, temperature, &comm_);
}

void Run::write_metrics(const EpochStats& st) {
  metrics_ << "{\"epoch\":" << st.epoch + 1 << ",\"step\":" << step_ << ",\"loss\":" << fmt(st.loss)
           << ",\"accuracy\":" << fmt(st.accuracy) << ",\"lr\":" << fmt(st.lr)
           << ",\"temperature\":" << fmt(st.temperature) << ",\"seconds\":" << fmt(st.seconds, 4)
           << ",\"images_per_s\":" << fmt(st.images_per_s, 5);
  // A quantization-aware run says so on every line (flynet report marks its epochs).
  if (cfg_.weight_levels) metrics_ << ",\"weight_levels\":" << cfg_.weight_levels;
  if (cfg_.act_bits) metrics_ << ",\"act_bits\":" << cfg_.act_bits;
  if (st.test_top1 >= 0)
    metrics_ << ",\"test_top1\":" << fmt(st.test_top1) << ",\"test_top5\":" << fmt(st.test_top5)
             << ",\"test_loss\":" << fmt(st.test_loss);
  metrics_ << "}\n";
  metrics_.flush();
}

TrainResult Run::run() {
  TrainResult result;
  const auto t_run = Clock::now();
  EpochStats last;
  for (int epoch = start_epoch_; epoch < cfg_.epochs; ++epoch) {
    if (cfg_.max_steps >= 0 && step_ >= cfg_.max_steps) break;
    EpochStats st = train_epoch(epoch);
    const bool last_epoch = epoch == cfg_.epochs - 1 || (cfg_.max_steps >= 0 && step_ >= cfg_.max_steps);
    end_epoch(st, last_epoch);
    last = st;
    result.epochs = epoch + 1;
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - t_run).count();
  result.steps = step_;
  if (last.test_top1 < 0) {  // resumed a finished run, or stopped by max_steps before evaluating
    if (result.epochs == 0) finish_bn();
    const EvalResult e = evaluate(model_, data_.test, info_.mean, info_.std, 256, false, 1.f, &comm_);
    last.test_top1 = e.top1;
    last.test_top5 = e.top5;
  }
  result.test_top1 = last.test_top1;
  result.test_top5 = last.test_top5;
  return result;
}

}  // namespace

TrainResult train(Model& model, const DatasetPair& data, const TrainConfig& cfg, TrainObserver* observer) {
  check_training_memory(model.spec(), cfg.batch);
  std::unique_ptr<Communicator> one;
  if (!cfg.comm) one = single_process_communicator();
  Communicator& comm = cfg.comm ? *cfg.comm : *one;
  Run run(model, data, cfg, comm, observer);
  // A failure while setting up on one rank (its data set, its checkpoint) reaches all of them
  // before the first collective of training.
  collective_check(comm, [&] { run.start(); });
  if (!cfg.checkpoint.empty())
    comm.set_termination_notice("flynet train: error: the MPI job was ended from outside (a rank died or was killed); "
                                "the last checkpoint is intact (" + cfg.checkpoint + ")");
  const TrainResult result = run.run();

  const DatasetInfo& info = data.train->info();
  model.meta["train.test_top1"] = fmt(result.test_top1, 6);
  model.meta["train.test_top5"] = fmt(result.test_top5, 6);
  model.meta["train.epochs"] = std::to_string(cfg.epochs);
  model.meta["train.seed"] = std::to_string(cfg.seed);
  model.meta["train.options"] = describe(cfg);
  model.meta["train.dataset"] = info.source;
  model.meta["train.gate_temperature"] = "1";
  model.meta["train.ranks"] = std::to_string(comm.size());
  model.meta["train.global_batch"] = std::to_string(int64_t(cfg.batch) * comm.size());
  write_input_normalisation(model.meta, InputNormalisation{info.mean, info.std}, model.spec().in_c);
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
  train_ctx.logits = true;
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
