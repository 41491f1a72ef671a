// The training loop: epochs of shuffled, augmented batches through Net, softmax cross-entropy
// with label smoothing, SGD/AdamW with a cosine schedule, the softmax-gate temperature annealed
// per epoch, a JSON-lines metrics log, an atomic checkpoint after every epoch and exact resume
// from one. Plus evaluate(), used by train and by the later stages (calibrate, verify).
//
//   DatasetPair d = open_dataset(path);
//   Model m = Model::create(spec, seed);
//   TrainConfig cfg; cfg.epochs = 20; cfg.checkpoint = "model.ckpt.h5";
//   TrainResult r = train(m, d, cfg, &observer);       // m now holds the trained weights
//   EvalResult e = evaluate(m, *d.test, mean, std);
#ifndef FLYNET_CORE_TRAINER_HPP_
#define FLYNET_CORE_TRAINER_HPP_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flynet/core/data.hpp"
#include "flynet/core/model.hpp"
#include "flynet/core/optim.hpp"

namespace flynet {

class Communicator;  // comm.hpp

/// Batches of un-augmented training images whose exact BN statistics the per-epoch evaluations
/// use (fewer when an epoch has fewer): the running statistics trail the weights, by far when an
/// epoch has few steps, and the numbers printed during training must describe the weights.
constexpr int kEvalRefreshBatches = 20;

struct TrainConfig {
  int epochs = 20;
  int batch = 128;
  double lr = 0.1;               ///< peak learning rate (after warm-up)
  double warmup_epochs = 1.0;    ///< linear warm-up length
  double lr_final_ratio = 0.0;   ///< cosine ends at lr * this
  OptimOptions optim;
  double label_smoothing = 0.1;
  double t_start = 10.0, t_end = 1.0;  ///< softmax gating temperature, geometric per epoch
  bool augment = true;           ///< Augment::for_dataset (crop, flip where valid)
  /// Horizontal flip when augmenting: -1 follows the data set (DatasetInfo::flip_ok), 0 never,
  /// 1 always (Fashion-MNIST: idx files default to no flip, clothes mirror fine).
  int flip = -1;
  uint64_t seed = 1;             ///< shuffling, augmentation, dropout (init seed is the model's)
  int threads = 0;               ///< compute threads (OpenMP, oneDNN); 0 = default
  int loader_threads = 1;        ///< TBB threads decoding/augmenting batches
  int eval_every = 1;            ///< test accuracy every N epochs (0: only at the end), measured on
                                 ///< a copy of the model whose BN statistics are refreshed
                                 ///< first (kEvalRefreshBatches un-augmented training batches)
  int bn_recalibration = 100;    ///< batches of un-augmented training images whose exact BN
                                 ///< statistics replace the running ones at the end (0: keep)
  /// Decide the end-of-training BN statistics on data.test (train_model sets it when data.test
  /// is a validation split): the recalibrated ones are kept only if their top-1 there is at
  /// least that of the running ones. Recorded in model.meta["train.bn_statistics"].
  bool bn_choose_on_eval = false;
  /// Momentum of the BN running statistics; < 0: adaptive, max(0.01, 4 / steps per epoch) up
  /// to 0.5, so the running average spans at most a quarter of an epoch and the per-epoch
  /// evaluations see statistics of the current weights even when an epoch has few steps.
  double bn_momentum = -1;
  std::string checkpoint;        ///< written after every epoch (atomic); empty: none
  std::string metrics;           ///< JSON-lines log, one object per epoch (appended); empty: none
  std::string resume;            ///< checkpoint to continue from; empty: start fresh
  int64_t max_steps = -1;        ///< stop after this many steps in total (tests, benchmarks)
  int weight_levels = 0;         ///< conv/FC weights fake-quantized to this many levels per output
                                 ///< channel from the first step (design 3.7): 2..128 or odd up to
                                 ///< 255 (valid_weight_levels); 0: float (255, the int8 grid, when
                                 ///< act_bits is set)
  int act_bits = 0;              ///< 8: node outputs fake-quantized to int8 with EMA ranges (qat.hpp)
  int fold_bn_after = -1;        ///< >= 0: from this epoch on BN statistics are frozen and folded
                                 ///< into the conv before weight quantization (qat.hpp)
  float act_range_momentum = 0.01f;  ///< EMA weight of each batch's activation range
  /// Data parallel (comm.hpp): the ranks of the job, not owned; nullptr: one process. Each rank
  /// trains on its shard of every global batch of batch x ranks images (batch is per rank),
  /// gradients are averaged over the ranks, and rank 0 alone writes the checkpoint and metrics
  /// and calls the observer.
  Communicator* comm = nullptr;
  bool sync_bn = false;           ///< BN batch statistics over all ranks (default: each rank its own)
  int64_t bucket_bytes = 1 << 20; ///< gradients summed in buckets of this size during backward
                                  ///< (<= 0: one sum after backward)
};

/// What an observer sees while training.
struct BatchProgress {
  int epoch = 0, epochs = 0;
  int64_t batch = 0, batches = 0;  ///< 1-based batch index of this epoch and their count
  double loss = 0, accuracy = 0;   ///< running means over the epoch so far
  double images_per_s = 0;         ///< this epoch so far
  double eta_s = 0;                ///< rest of this epoch
};

struct EpochStats {
  int epoch = 0;                   ///< 0-based
  double loss = 0, accuracy = 0;   ///< training, running over the epoch
  double test_top1 = -1, test_top5 = -1, test_loss = -1;  ///< -1 when not evaluated
  double lr = 0, temperature = 1;
  double seconds = 0, images_per_s = 0;
};

class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void on_batch(const BatchProgress&) {}
  virtual void on_epoch(const EpochStats&) {}
  virtual void on_resume(int /*epoch*/, const std::string& /*file*/) {}
};

struct TrainResult {
  double test_top1 = 0, test_top5 = 0;
  int epochs = 0;        ///< 1-based number of the last epoch this run trained (0: none, a finished checkpoint)
  int64_t steps = 0;     ///< optimizer steps since the start of training (a resumed run counts the checkpoint's)
  double seconds = 0;
};

/// Trains `model` in place (a fresh one, or a warm start: any float model of the architecture). With cfg.resume the parameters, BN statistics, optimizer state and
/// schedule position come from the checkpoint (which must be of the same architecture; throws
/// Error{format}). Stores the results, seed and options in model.meta ("train.test_top1", ...),
/// with the gating temperature fixed to 1, and the QAT state and the data set's normalisation
/// (model_state.hpp).
TrainResult train(Model& model, const DatasetPair& data, const TrainConfig& cfg, TrainObserver* observer = nullptr);

struct EvalResult {
  double top1 = 0, top5 = 0, loss = 0;  ///< loss without label smoothing
  int64_t count = 0;
  Tensor logits;                        ///< [count, classes] when keep_logits
  std::vector<int32_t> labels;
};

/// Inference (eval-mode BN, no dropout) over a dataset in order, normalised with `mean`/`std`
/// per channel. `temperature` is the softmax gating temperature: 1 for a finished model; the
/// trainer's per-epoch evaluations use the epoch's value so they measure the network trained.
/// With `comm`, each rank evaluates its shard of the batches and every rank gets the totals
/// (no logits kept).
EvalResult evaluate(Model& model, std::shared_ptr<const Dataset> data, const std::vector<float>& mean,
                    const std::vector<float>& std, int batch = 256, bool keep_logits = false,
                    float temperature = 1.f, Communicator* comm = nullptr);

struct Throughput {
  double train_images_per_s = 0;  ///< forward + loss + backward + optimizer step
  double infer_images_per_s = 0;  ///< forward in eval mode
};
/// About the memory a training step of `spec` at `batch` takes: twice the activations of a
/// batch (their values and gradients; 2.0x measured at 64x64 and 224x224) and the weights four
/// times (values, gradients, two optimizer moments), plus 64 MB of the rest.
uint64_t training_memory_bytes(const ArchSpec& spec, int batch);
/// Throws Error{unsupported} when training_memory_bytes is more than this process may use (the
/// physical memory, and an address-space limit such as `ulimit -v`): refused before allocating,
/// rather than swapping or dying at the first step. train() and measure_throughput() call it.
void check_training_memory(const ArchSpec& spec, int batch);

/// Times `steps` training steps and `steps` inference batches of `batch` random images on a
/// fresh model of `spec` (after two warm-up steps each). No data set needed.
Throughput measure_throughput(const ArchSpec& spec, int batch, int steps, int threads);

/// Replaces the running statistics of every BN with the exact mean (and unbiased variance) over
/// `batches` batches of un-augmented training images, in training-mode forward passes at T = 1.
/// Why: torchvision's BN momentum 0.01 averages over the last ~100 steps of changing weights,
/// which lags behind the final weights in short runs (and badly in tiny ones).
/// With `comm`, each rank takes its shard of the batches and the ranks' statistics are averaged.
/// `temperature`: the softmax gating temperature of the passes (the per-epoch evaluations
/// refresh the statistics at their epoch's).
void recalibrate_batchnorm(Model& model, std::shared_ptr<const Dataset> data, const std::vector<float>& mean,
                           const std::vector<float>& std, int batch, int batches, uint64_t seed,
                           Communicator* comm = nullptr, float temperature = 1.f);

}  // namespace flynet

#endif  // FLYNET_CORE_TRAINER_HPP_
