// flynet train: trains a model on a dataset and writes it with its test accuracy and
// normalisation. Thin: options -> train_model() (core/train_model.hpp) with a progress printer
// -> the report as text.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <map>

#include "commands.hpp"
#include "flynet/core/comm.hpp"
#include "flynet/core/train_model.hpp"
#include "flynet/core/trainer.hpp"
#include "flynet/formats/output_set.hpp"

namespace flynet::cli {

namespace {

// The library's options, and what only the command does: the option spellings and the
// benchmark mode.
struct TrainOptions : TrainModelOptions {
  std::string optimizer = "sgd";
  bool no_nesterov = false;
  bool no_augment = false;
  std::string flip = "auto";
  int benchmark = 0;
  bool quiet = false;
  int64_t bucket_kib = 1024;
};

std::string duration(double s) {
  char b[32];
  const int t = int(s + 0.5);
  if (t >= 3600)
    std::snprintf(b, sizeof b, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
  else
    std::snprintf(b, sizeof b, "%d:%02d", t / 60, t % 60);
  return b;
}

// A progress bar redrawn in place on a terminal; plain lines (about every 10% of an epoch)
// otherwise, so logs stay readable.
class Progress final : public TrainObserver {
 public:
  explicit Progress(bool quiet) : tty_(isatty(STDOUT_FILENO) == 1), quiet_(quiet) {}
  void on_batch(const BatchProgress& p) override {
    if (quiet_) return;
    const auto now = std::chrono::steady_clock::now();
    if (tty_) {
      if (p.batch != p.batches && now - last_ < std::chrono::milliseconds(200)) return;
      last_ = now;
      const int width = 24, done = int(double(width) * double(p.batch) / double(p.batches));
      std::printf("\repoch %d/%d [%s%s] %lld/%lld loss %.4f acc %.2f%% %.0f img/s ETA %s   ", p.epoch + 1, p.epochs,
                  std::string(size_t(done), '#').c_str(), std::string(size_t(width - done), '.').c_str(),
                  (long long)p.batch, (long long)p.batches, p.loss, 100 * p.accuracy, p.images_per_s,
                  duration(p.eta_s).c_str());
      std::fflush(stdout);
    } else {
      const int64_t every = std::max<int64_t>(1, p.batches / 10);
      if (p.batch % every && p.batch != p.batches) return;
      std::printf("epoch %d/%d batch %lld/%lld loss %.4f acc %.2f%% %.0f img/s ETA %s\n", p.epoch + 1, p.epochs,
                  (long long)p.batch, (long long)p.batches, p.loss, 100 * p.accuracy, p.images_per_s,
                  duration(p.eta_s).c_str());
      std::fflush(stdout);
    }
  }
  void on_epoch(const EpochStats& s) override {
    if (quiet_) return;
    if (tty_) std::printf("\n");
    std::printf("epoch %d done: loss %.4f train acc %.2f%%", s.epoch + 1, s.loss, 100 * s.accuracy);
    if (s.test_top1 >= 0) std::printf(" test top-1 %.2f%% top-5 %.2f%%", 100 * s.test_top1, 100 * s.test_top5);
    std::printf(" lr %.4g T %.3g %.0f img/s %s\n", s.lr, s.temperature, s.images_per_s, duration(s.seconds).c_str());
    std::fflush(stdout);
  }
  void on_resume(int epoch, const std::string& file) override {
    if (!quiet_) std::printf("resuming from %s after epoch %d\n", file.c_str(), epoch);
  }

 private:
  bool tty_, quiet_;
  std::chrono::steady_clock::time_point last_{};
};

void run_train(TrainOptions& o, const CLI::App& sub) {
  TrainConfig& cfg = o.config;
  cfg.optim.kind = o.optimizer == "adamw" ? OptimKind::adamw : OptimKind::sgd;
  cfg.optim.nesterov = !o.no_nesterov;
  cfg.augment = !o.no_augment;
  cfg.flip = o.flip == "auto" ? -1 : o.flip == "on" ? 1 : 0;

  if (o.benchmark > 0) {
    const ArchSpec spec = o.arch.spec();
    const Throughput t = measure_throughput(spec, cfg.batch, o.benchmark, cfg.threads);
    std::printf("model: %s\nbatch: %d\ntrain_img_per_s: %.1f\ninfer_img_per_s: %.1f\n", spec.summary().c_str(),
                cfg.batch, t.train_images_per_s, t.infer_images_per_s);
    return;
  }
  o.arch_given = arch_options_given(sub);
  // Under mpirun every rank runs this; rank 0 alone prints (and writes, see TrainConfig::comm).
  std::unique_ptr<Communicator> comm = make_communicator();
  cfg.comm = comm.get();
  cfg.bucket_bytes = o.bucket_kib * 1024;
  const bool rank0 = comm->rank() == 0;
  // The checkpoint stays when the run fails (it is what --resume continues from); the model
  // appears only when the run succeeds, and the metrics log of a failed run is taken back.
  OutputSet outs;
  outs.input("--data", o.data);
  outs.input("--init", o.init);
  outs.input("--resume", cfg.resume);
  outs.output("--out", o.out);
  if (!o.out.empty()) {
    const TrainFiles files = train_files(o);
    outs.kept("--checkpoint", files.checkpoint);
    outs.log("--metrics", files.metrics);
  }
  outs.allow_same("--checkpoint", "--resume");
  outs.check();
  Progress progress(o.quiet || !rank0);
  TrainHooks hooks;
  hooks.observer = &progress;
  hooks.stage = [&](TrainStage stage, const TrainReport& r) {
    if (!rank0) return;
    if (stage == TrainStage::start && !o.quiet) {
      std::printf("training %s on %s (%lld images, %d classes), %d epochs, batch %d\n", r.spec.summary().c_str(),
                  r.source.c_str(), (long long)r.train_images, r.classes, cfg.epochs, cfg.batch);
      if (comm->size() > 1)
        std::printf("data parallel: %d ranks x batch %d = global batch %lld, BN statistics %s\n", comm->size(),
                    cfg.batch, (long long)cfg.batch * comm->size(), cfg.sync_bn ? "synchronised" : "per rank");
    }
    if (stage == TrainStage::validation)
      std::printf("validation top-1 %.2f%% (%lld held-out training images)\n", 100 * r.val_top1,
                  (long long)r.val_images);
  };
  TrainReport r;
  try {
    r = train_model(o, hooks);
  } catch (const Error& e) {
    if (rank0) throw;
    // Every rank holds the same error (collective_check): rank 0 prints it; the others leave
    // with its exit code, after MPI_Finalize.
    comm.reset();
    std::exit(int(e.code()));
  }
  outs.commit();
  if (rank0)
    std::printf("test top-1 %.2f%% top-5 %.2f%% (%s, %s)\n", 100 * r.result.test_top1, 100 * r.result.test_top5,
                duration(r.result.seconds).c_str(), o.out.c_str());
}

}  // namespace

void setup_train(CLI::App& app) {
  auto opt = std::make_shared<TrainOptions>();
  TrainConfig& c = opt->config;
  CLI::App* sub = app.add_subcommand("train", "train a model on a dataset and write it with its test accuracy");
  sub->add_option("--data", opt->data,
                  "dataset: MNIST-style idx directory, CIFAR binary directory, image-folder tree or HDF5 file")
      ->option_text("DIR|FILE");
  sub->add_option("--out", opt->out, "the trained model (.h5)")->option_text("FILE");
  add_arch_options(*sub, opt->arch);
  const std::string tr = "Training";
  sub->add_option("--epochs", c.epochs, "epochs")->option_text("N")->default_val(c.epochs)->group(tr);
  sub->add_option("--batch", c.batch, "batch size")->option_text("B")->default_val(c.batch)->group(tr);
  sub->add_option("--lr", c.lr, "peak learning rate")->option_text("LR")->default_val(c.lr)->group(tr);
  sub->add_option("--optimizer", opt->optimizer, "sgd (momentum, Nesterov) or adamw; decay is decoupled")
      ->check(CLI::IsMember({"sgd", "adamw"}))
      ->option_text("sgd|adamw")
      ->default_val(opt->optimizer)
      ->group(tr);
  sub->add_option("--momentum", c.optim.momentum, "SGD momentum")->option_text("M")->default_val(c.optim.momentum)->group(tr);
  sub->add_flag("--no-nesterov", opt->no_nesterov, "plain instead of Nesterov momentum")->group(tr);
  sub->add_option("--weight-decay", c.optim.weight_decay, "decoupled weight decay (not on BN or biases)")
      ->option_text("WD")
      ->default_val(c.optim.weight_decay)
      ->group(tr);
  sub->add_option("--warmup", c.warmup_epochs, "epochs of linear learning-rate warm-up before the cosine decay")
      ->option_text("EPOCHS")
      ->default_val(c.warmup_epochs)
      ->group(tr);
  sub->add_option("--lr-final", c.lr_final_ratio, "final learning rate as a fraction of --lr")
      ->option_text("F")
      ->default_val(c.lr_final_ratio)
      ->group(tr);
  sub->add_option("--label-smoothing", c.label_smoothing, "label smoothing of the cross-entropy")
      ->option_text("EPS")
      ->default_val(c.label_smoothing)
      ->group(tr);
  sub->add_option("--t-start", c.t_start, "softmax gating temperature of the first epoch")
      ->option_text("T")
      ->default_val(c.t_start)
      ->group(tr);
  sub->add_option("--t-end", c.t_end, "softmax gating temperature of the last epoch (geometric in between)")
      ->option_text("T")
      ->default_val(c.t_end)
      ->group(tr);
  sub->add_flag("--no-augment", opt->no_augment, "no random crop/flip")->group(tr);
  sub->add_option("--flip", opt->flip,
                  "random horizontal flip: auto (by data set: off for idx files, on for natural images), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->group(tr);
  sub->add_option("--seed", c.seed, "initialisation, shuffling, augmentation and dropout seed")
      ->option_text("S")
      ->default_val(c.seed)
      ->group(tr);
  sub->add_option("--threads", c.threads, "compute threads (0: OMP_NUM_THREADS or all cores)")
      ->option_text("N")
      ->default_val(c.threads)
      ->group(tr);
  sub->add_option("--loader-threads", c.loader_threads, "threads decoding and augmenting batches")
      ->option_text("N")
      ->default_val(c.loader_threads)
      ->group(tr);
  sub->add_option("--eval-every", c.eval_every, "test accuracy every N epochs (0: only at the end)")
      ->option_text("N")
      ->default_val(c.eval_every)
      ->group(tr);
  sub->add_option("--bn-recal", c.bn_recalibration,
                  "batches of un-augmented training images that recompute the BN statistics at the end (0: off)")
      ->option_text("N")
      ->default_val(c.bn_recalibration)
      ->group(tr);
  sub->add_option("--bn-momentum", c.bn_momentum,
                  "momentum of the BN running statistics (default: max(0.01, 4 / steps per epoch), at most 0.5)")
      ->option_text("M")
      ->group(tr);
  sub->add_option("--checkpoint", opt->checkpoint, "checkpoint written after every epoch (default <out>.ckpt.h5; none: off)")
      ->option_text("FILE")
      ->group(tr);
  sub->add_option("--metrics", opt->metrics, "JSON-lines metrics log (default <out>.metrics.jsonl; none: off)")
      ->option_text("FILE")
      ->group(tr);
  sub->add_option("--resume", c.resume, "continue from a checkpoint: weights, optimizer, schedule, RNG")
      ->option_text("CHECKPOINT")
      ->group(tr);
  sub->add_option("--max-steps", c.max_steps, "stop after this many optimizer steps in total")
      ->option_text("N")
      ->group(tr);
  sub->add_option("--benchmark", opt->benchmark,
                  "time N training steps and N inference batches on random data, print img/s, and exit")
      ->option_text("N")
      ->group(tr);
  sub->add_flag("--quiet", opt->quiet, "only the final line")->group(tr);
  const std::string mpi = "Data parallel (under mpirun -np N; --batch is per rank)";
  sub->add_flag("--sync-bn", c.sync_bn, "BN batch statistics over all ranks instead of each rank's own")->group(mpi);
  sub->add_option("--allreduce-bucket", opt->bucket_kib,
                  "gradients are summed over the ranks in buckets of this size, each started as soon as backward "
                  "has finished it (0: one sum after backward)")
      ->option_text("KiB")
      ->default_val(opt->bucket_kib)
      ->group(mpi);
  sub->add_option("--weight-levels", c.weight_levels,
                  "train with conv/FC weights quantized to L levels per output channel (2..128 or odd up to 255, "
                  "the counts whose codes int8 holds exactly; float or 0: off)")
      ->option_text("L")
      ->transform(CLI::Transformer(std::map<std::string, std::string>{{"float", "0"}}))
      ->check(weight_levels_validator())
      ->default_val(c.weight_levels)
      ->group(tr);
  sub->add_option("--act-bits", c.act_bits,
                  "quantization-aware training: node outputs fake-quantized to int8 (asymmetric, per tensor, "
                  "EMA ranges) as the device computes them; weights get the int8 grid unless --weight-levels is given")
      ->option_text("8")
      ->check(CLI::IsMember({0, 8}))
      ->group(tr);
  sub->add_option("--fold-bn-after", c.fold_bn_after,
                  "from epoch N (0-based) on, freeze BN statistics and fold BN into the conv before weight "
                  "quantization, so the last epochs train the device's folded weights")
      ->option_text("N")
      ->group(tr);
  sub->add_option("--init", opt->init, "warm start from this trained model (.h5): its weights and BN statistics, "
                                       "a fresh schedule and optimizer")
      ->option_text("FILE")
      ->group(tr);
  sub->add_option("--val-split", opt->val_split,
                  "hold out this fraction of the training split: epochs are evaluated on it, the test split once at the end")
      ->option_text("F")
      ->default_val(opt->val_split)
      ->group(tr);
  bound_options(*sub);
  sub->callback([opt, sub]() { run_train(*opt, *sub); });
}

}  // namespace flynet::cli
