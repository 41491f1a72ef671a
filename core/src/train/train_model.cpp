// flynet train's work around the training loop (train_model.hpp).
#include "flynet/core/train_model.hpp"

#include <filesystem>
#include <optional>

#include "flynet/core/data.hpp"
#include "flynet/core/model.hpp"
#include "flynet/core/model_state.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {

namespace {

std::string sibling(const std::string& out, const std::string& suffix) {
  std::filesystem::path p(out);
  return (p.parent_path() / (p.stem().string() + suffix)).string();
}

// An option naming a file: empty gives the default, "none" no file.
std::string file_option(const std::string& given, const std::string& out, const std::string& suffix) {
  if (given == "none") return {};
  return given.empty() ? sibling(out, suffix) : given;
}

}  // namespace

TrainFiles train_files(const TrainModelOptions& o) {
  return {file_option(o.checkpoint, o.out, ".ckpt.h5"), file_option(o.metrics, o.out, ".metrics.jsonl")};
}

TrainReport train_model(const TrainModelOptions& o, const TrainHooks& hooks) {
  if (o.data.empty()) throw Error(ErrorCode::usage, "--data is required");
  if (o.out.empty()) throw Error(ErrorCode::usage, "--out is required");
  TrainConfig cfg = o.config;

  DatasetPair data = open_dataset(o.data);
  const DatasetInfo& info = data.train->info();
  TrainReport r;
  if (!cfg.resume.empty() && !o.init.empty())
    throw Error(ErrorCode::usage, "--init and --resume exclude each other (a checkpoint already holds the weights)");
  std::optional<Model> init;
  if (!o.init.empty()) init = load_model(o.init);
  if (!cfg.resume.empty() || init) {
    // The checkpoint (or the warm-start model) fixes the architecture; options given must
    // agree with it.
    const std::string& from = init ? o.init : cfg.resume;
    r.spec = init ? init->spec() : load_model(cfg.resume).spec();
    if (o.arch_given && !(o.arch.spec() == r.spec))
      throw Error(ErrorCode::format, std::string(init ? "model" : "checkpoint") + " has a different architecture",
                  from);
  } else {
    ArchRequest a = o.arch;  // input shape and classes follow the dataset unless given
    if (a.input.empty()) a.input = std::to_string(info.h) + "x" + std::to_string(info.w) + "x" + std::to_string(info.c);
    if (!a.classes) a.classes = info.classes;
    r.spec = a.spec();
  }
  const TrainFiles files = train_files(o);
  cfg.checkpoint = r.checkpoint = files.checkpoint;
  cfg.metrics = r.metrics = files.metrics;

  if (!(o.val_split >= 0 && o.val_split < 1)) throw Error(ErrorCode::usage, "--val-split must be in [0, 1)");
  // With a validation split, the epochs are evaluated on the held-out part of the training
  // split; the test split is used once, at the end.
  DatasetPair fit = data;
  if (o.val_split > 0) fit = split_validation(data.train, o.val_split, cfg.seed);

  Model model = Model::create(r.spec, cfg.seed);
  if (init) {
    // Weights and BN statistics from the model; what it recorded about its own training,
    // calibration or quantization does not describe the new run.
    model.params = std::move(init->params);
    model.extra = std::move(init->extra);
    std::erase_if(model.extra, [](const TensorRecord& t) { return t.name.rfind("calib.", 0) == 0; });
    model.meta["train.init"] = o.init;
  }
  r.source = info.source;
  r.classes = info.classes;
  r.train_images = fit.train->info().size;
  if (hooks.stage) hooks.stage(TrainStage::start, r);
  r.result = train(model, fit, cfg, hooks.observer);
  if (o.val_split > 0) {
    model.meta["train.val_top1"] = model.meta["train.test_top1"];
    model.meta["train.val_split"] = std::to_string(o.val_split);
    const InputNormalisation n = read_input_normalisation(model).per_channel(r.spec.in_c);
    const EvalResult t = evaluate(model, data.test, n.mean, n.std);
    r.val_images = fit.test->info().size;
    r.val_top1 = r.result.test_top1;
    r.result.test_top1 = t.top1;
    r.result.test_top5 = t.top5;
    model.meta["train.test_top1"] = std::to_string(t.top1);
    model.meta["train.test_top5"] = std::to_string(t.top5);
    if (hooks.stage) hooks.stage(TrainStage::validation, r);
  }
  save_model(model, o.out);
  return r;
}

}  // namespace flynet
