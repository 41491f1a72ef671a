// flynet train's work around the training loop (train_model.hpp).
#include "flynet/core/train_model.hpp"

#include <filesystem>
#include <optional>

#include "flynet/core/comm.hpp"
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

namespace {

// Everything before the loop: the data set, the architecture, the files, the fresh or
// warm-started model.
struct Setup {
  TrainConfig cfg;
  DatasetPair data, fit;
  TrainReport report;
  std::optional<Model> model;
};

void set_up(const TrainModelOptions& o, Setup& s) {
  if (o.data.empty()) throw Error(ErrorCode::usage, "--data is required");
  if (o.out.empty()) throw Error(ErrorCode::usage, "--out is required");
  TrainConfig& cfg = s.cfg;
  TrainReport& r = s.report;
  s.data = open_dataset(o.data);
  const DatasetInfo& info = s.data.train->info();
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
  s.fit = s.data;
  if (o.val_split > 0) s.fit = split_validation(s.data.train, o.val_split, cfg.seed);
  cfg.bn_choose_on_eval = o.val_split > 0;  // fit.test is then the held-out part

  Model& model = s.model.emplace(Model::create(r.spec, cfg.seed));
  if (init) {
    // Weights and BN statistics from the model; what it recorded about its own training,
    // calibration or quantization does not describe the new run (an imported QDQ model's grids
    // and int8 codes included: the weights move off them).
    model.params = std::move(init->params);
    model.extra = std::move(init->extra);
    std::erase_if(model.extra, [](const TensorRecord& t) {
      return t.name.rfind("calib.", 0) == 0 || t.name.rfind("qdq.", 0) == 0;
    });
    model.meta["train.init"] = o.init;
  }
  r.source = info.source;
  r.classes = info.classes;
  r.train_images = s.fit.train->info().size;
}

// Data parallel: every rank must train on the same data set (each reads its own copy).
void check_same_data(Communicator& comm, const Setup& s) {
  const DatasetInfo& i = s.fit.train->info();
  check_same_on_all_ranks(comm, double(i.size), "the number of training images");
  check_same_on_all_ranks(comm, double(s.data.test->info().size), "the number of test images");
  check_same_on_all_ranks(comm, double(i.h * 1000000 + i.w * 1000 + i.c), "the image shape");
}

}  // namespace

TrainReport train_model(const TrainModelOptions& o, const TrainHooks& hooks) {
  std::unique_ptr<Communicator> one;
  if (!o.config.comm) one = single_process_communicator();
  Communicator& comm = o.config.comm ? *o.config.comm : *one;
  Setup s;
  s.cfg = o.config;
  // A rank that cannot read its data or model stops every rank, before training starts.
  collective_check(comm, [&] { set_up(o, s); });
  check_same_data(comm, s);
  TrainReport& r = s.report;
  Model& model = *s.model;
  if (hooks.stage) hooks.stage(TrainStage::start, r);
  r.result = train(model, s.fit, s.cfg, hooks.observer);
  if (o.val_split > 0) {
    model.meta["train.val_top1"] = model.meta["train.test_top1"];
    model.meta["train.val_split"] = std::to_string(o.val_split);
    const InputNormalisation n = read_input_normalisation(model).per_channel(r.spec.in_c);
    const EvalResult t = evaluate(model, s.data.test, n.mean, n.std, 256, false, 1.f, o.config.comm);
    r.val_images = s.fit.test->info().size;
    r.val_top1 = r.result.test_top1;
    r.result.test_top1 = t.top1;
    r.result.test_top5 = t.top5;
    model.meta["train.test_top1"] = std::to_string(t.top1);
    model.meta["train.test_top5"] = std::to_string(t.top5);
    if (hooks.stage) hooks.stage(TrainStage::validation, r);
  }
  collective_check(comm, [&] {
    if (comm.rank() == 0) save_model(model, o.out);
  });
  return r;
}

}  // namespace flynet
