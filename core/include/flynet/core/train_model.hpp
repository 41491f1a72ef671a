// `flynet train` as a library function: from a data set path and the options to a trained model
// file. The rules around the training loop (trainer.hpp) live here: the architecture of a fresh
// model follows the data set's images and classes unless asked for; a warm start (init) or a
// checkpoint (resume) fixes it; the checkpoint and metrics files default to siblings of the
// output; an optional validation split takes the per-epoch evaluations, the test split then
// being evaluated once at the end.
//
//   TrainModelOptions o; o.data = "fashion-mnist"; o.out = "m.h5"; o.config.epochs = 5;
//   TrainReport r = train_model(o);      // m.h5, m.ckpt.h5, m.metrics.jsonl written
//   r.result.test_top1;
#ifndef FLYNET_CORE_TRAIN_MODEL_HPP_
#define FLYNET_CORE_TRAIN_MODEL_HPP_

#include <cstdint>
#include <functional>
#include <string>

#include "flynet/core/arch.hpp"
#include "flynet/core/trainer.hpp"

namespace flynet {

struct TrainModelOptions {
  std::string data;         ///< data set (open_dataset); required
  std::string out;          ///< the trained model (.h5); required
  ArchRequest arch;         ///< a fresh model's architecture; unset input and classes: the data set's
  bool arch_given = false;  ///< arch was asked for: with init or resume it must equal the model's
  TrainConfig config;       ///< the loop's settings; its checkpoint and metrics come from the two below
  std::string checkpoint;   ///< written after every epoch; empty: <out stem>.ckpt.h5 beside out; "none": off
  std::string metrics;      ///< JSON-lines log; empty: <out stem>.metrics.jsonl beside out; "none": off
  double val_split = 0;     ///< fraction of the training split held out for the per-epoch evaluations, [0, 1)
  std::string init;         ///< warm start: a trained float (or QAT) model's weights and BN statistics
};

struct TrainReport {
  ArchSpec spec;                    ///< of the trained model
  std::string source;               ///< the data set (DatasetInfo::source)
  int classes = 0;                  ///< of the data set
  int64_t train_images = 0;         ///< images trained on: the training split less the held-out part
  std::string checkpoint, metrics;  ///< the files the run wrote; empty: none
  int64_t val_images = 0;           ///< held-out images; 0: no validation split
  double val_top1 = 0;              ///< the last epoch's top-1 on them
  TrainResult result;               ///< top-1 / top-5 on the test split, epochs, steps, time
};

/// The files train_model writes beside o.out: the checkpoint and the metrics log (empty: none).
struct TrainFiles {
  std::string checkpoint, metrics;
};
TrainFiles train_files(const TrainModelOptions& o);

/// The points at which train_model hands its report so far to a caller.
enum class TrainStage {
  start,       ///< data and model ready, before the first step: spec, source, classes, files
  validation,  ///< with a validation split, after the test split's evaluation: val_images, val_top1
};

struct TrainHooks {
  TrainObserver* observer = nullptr;  ///< the loop's batches and epochs
  std::function<void(TrainStage, const TrainReport&)> stage;
};

/// Trains and writes o.out (and the checkpoint and metrics files). Throws Error{usage} for a
/// missing data or out, init together with resume, a val_split outside [0, 1) and a bad
/// architecture; Error{format} naming the init model or checkpoint when arch was given and
/// differs from theirs; and what open_dataset, load_model and train throw.
TrainReport train_model(const TrainModelOptions& o, const TrainHooks& hooks = {});

}  // namespace flynet

#endif  // FLYNET_CORE_TRAIN_MODEL_HPP_
