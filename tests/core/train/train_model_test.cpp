// train_model (flynet train's work) checked from the outside: the architecture follows the data
// set, the files land where the options say, the report's epoch and step counts are those of
// the metrics log and of the batches a hand count gives, the validation split takes the
// per-epoch evaluations and the test split is evaluated on the written model, and bad input
// is refused naming the file, before anything is written.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "flynet/core/data.hpp"
#include "flynet/core/model.hpp"
#include "flynet/core/model_state.hpp"
#include "flynet/core/train_model.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {
namespace {

namespace fs = std::filesystem;

constexpr int kTrain = 64, kTest = 24, kClasses = 3, kBatch = 16;

class TrainModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_);
    std::mt19937 rng(7);
    auto noise = [&](int n) {  // nothing to learn, which these tests do not need
      DatasetArrays a{12, 12, 1, std::vector<uint8_t>(size_t(n) * 144), {}};
      for (uint8_t& v : a.images) v = uint8_t(rng());
      for (int i = 0; i < n; ++i) a.labels.push_back(i % kClasses);
      return a;
    };
    write_h5_dataset(data_, noise(kTrain), noise(kTest));
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Width 0.25, input and classes left to the data set; a few quick steps.
  TrainModelOptions options(const std::string& out) const {
    TrainModelOptions o;
    o.data = data_;
    o.out = path(out);
    o.arch.width = 0.25;
    o.config.epochs = 2;
    o.config.batch = kBatch;
    o.config.lr = 0.05;
    o.config.threads = 1;
    o.config.bn_recalibration = 2;
    o.config.augment = false;
    return o;
  }

  // The metrics log: each line's epoch and step.
  static std::vector<std::pair<int, int64_t>> epochs_and_steps(const std::string& file) {
    std::vector<std::pair<int, int64_t>> v;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      int epoch = 0;
      long long step = 0;
      EXPECT_EQ(std::sscanf(line.c_str(), "{\"epoch\":%d,\"step\":%lld,", &epoch, &step), 2) << line;
      v.emplace_back(epoch, int64_t(step));
    }
    return v;
  }

  fs::path dir_ = fs::temp_directory_path() / ("flynet_train_model_test_" + std::to_string(::getpid()));
  std::string data_ = (dir_ / "data.h5").string();
};

TEST_F(TrainModelTest, ArchitectureFilesAndCountsFollowTheOptions) {
  const TrainModelOptions o = options("m.h5");
  std::vector<TrainStage> stages;
  TrainHooks hooks;
  hooks.stage = [&](TrainStage s, const TrainReport& r) {
    stages.push_back(s);
    EXPECT_FALSE(fs::exists(r.metrics));  // before training
  };
  const TrainReport r = train_model(o, hooks);
  EXPECT_EQ(stages, std::vector<TrainStage>{TrainStage::start});

  EXPECT_EQ(r.spec.in_h, 12);
  EXPECT_EQ(r.spec.in_w, 12);
  EXPECT_EQ(r.spec.in_c, 1);
  EXPECT_EQ(r.spec.classes, kClasses);
  EXPECT_EQ(r.spec.width, 0.25);
  EXPECT_EQ(r.classes, kClasses);
  EXPECT_EQ(r.train_images, kTrain);
  EXPECT_EQ(r.val_images, 0);

  // Beside the output, named after it.
  EXPECT_EQ(r.checkpoint, path("m.ckpt.h5"));
  EXPECT_EQ(r.metrics, path("m.metrics.jsonl"));
  EXPECT_TRUE(fs::exists(r.checkpoint));
  const auto log = epochs_and_steps(r.metrics);
  // Whole batches only: 64 / 16 = 4 steps an epoch.
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0], (std::pair<int, int64_t>{1, 4}));
  EXPECT_EQ(log[1], (std::pair<int, int64_t>{2, 8}));
  EXPECT_EQ(r.result.epochs, log.back().first);
  EXPECT_EQ(r.result.steps, log.back().second);

  const Model m = load_model(o.out);
  EXPECT_TRUE(m.spec() == r.spec);
  EXPECT_NEAR(std::stod(m.meta.at("train.test_top1")), r.result.test_top1, 1e-6);
  EXPECT_EQ(m.meta.count("train.val_split"), 0u);
}

TEST_F(TrainModelTest, MaxStepsNamedFilesAndNone) {
  TrainModelOptions o = options("m.h5");
  o.config.max_steps = 5;
  o.metrics = path("steps.jsonl");
  o.checkpoint = "none";
  const TrainReport r = train_model(o);
  EXPECT_EQ(r.metrics, o.metrics);
  EXPECT_TRUE(r.checkpoint.empty());
  EXPECT_FALSE(fs::exists(path("m.ckpt.h5")));
  const auto log = epochs_and_steps(o.metrics);
  ASSERT_EQ(log.size(), 2u);  // 4 steps, then 1 of the second epoch
  EXPECT_EQ(log[1], (std::pair<int, int64_t>{2, 5}));
  EXPECT_EQ(r.result.steps, 5);
  EXPECT_EQ(r.result.epochs, 2);

  o.metrics = "none";
  o.out = path("n.h5");
  EXPECT_TRUE(train_model(o).metrics.empty());
  EXPECT_FALSE(fs::exists(path("n.metrics.jsonl")));
}

TEST_F(TrainModelTest, ValidationSplitTakesTheEpochsAndTheTestSplitIsEvaluatedOnce) {
  TrainModelOptions o = options("v.h5");
  o.val_split = 0.25;
  o.config.epochs = 1;
  std::vector<TrainStage> stages;
  TrainHooks hooks;
  hooks.stage = [&](TrainStage s, const TrainReport&) { stages.push_back(s); };
  const TrainReport r = train_model(o, hooks);
  EXPECT_EQ(stages, (std::vector<TrainStage>{TrainStage::start, TrainStage::validation}));
  EXPECT_EQ(r.val_images, kTrain / 4);
  EXPECT_EQ(r.train_images, kTrain - kTrain / 4);
  EXPECT_EQ(r.result.steps, (kTrain - kTrain / 4) / kBatch);  // 48 / 16

  // The written model on the test split, evaluated here.
  Model m = load_model(o.out);
  const InputNormalisation n = read_input_normalisation(m).per_channel(1);
  const EvalResult t = evaluate(m, open_dataset(data_).test, n.mean, n.std);
  EXPECT_EQ(t.count, kTest);
  EXPECT_DOUBLE_EQ(r.result.test_top1, t.top1);
  EXPECT_DOUBLE_EQ(r.result.test_top5, t.top5);
  EXPECT_EQ(m.meta.at("train.val_split"), std::to_string(0.25));
  EXPECT_NEAR(std::stod(m.meta.at("train.val_top1")), r.val_top1, 1e-6);
}

TEST_F(TrainModelTest, WarmStartKeepsTheWeightsAndRefusesAnotherArchitecture) {
  const TrainReport first = train_model(options("m.h5"));
  TrainModelOptions o = options("w.h5");
  o.init = path("m.h5");
  o.arch = {};  // the architecture comes from the model
  o.config.max_steps = 0;  // no step: the weights stay the model's
  o.config.bn_recalibration = 0;
  o.metrics = o.checkpoint = "none";
  const TrainReport r = train_model(o);
  EXPECT_TRUE(r.spec == first.spec);
  const Model a = load_model(path("m.h5")), b = load_model(path("w.h5"));
  for (const ParamDecl& p : a.graph.all_params()) {
    if (p.role == ParamRole::bn_mean || p.role == ParamRole::bn_var) continue;
    EXPECT_EQ(a.param(p.name).data, b.param(p.name).data) << p.name;
  }
  EXPECT_EQ(b.meta.at("train.init"), o.init);

  // Asked for another architecture than the model's.
  o.arch.width = 0.5;
  o.arch_given = true;
  o.out = path("x.h5");
  try {
    train_model(o);
    ADD_FAILURE() << "not refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::format);
    EXPECT_EQ(e.file(), o.init);
  }
  EXPECT_FALSE(fs::exists(o.out));
}

TEST_F(TrainModelTest, BadInputIsRefusedNamingItBeforeAnythingIsWritten) {
  auto refused = [&](TrainModelOptions o) {
    try {
      train_model(o);
    } catch (const Error& e) {
      EXPECT_FALSE(fs::exists(o.out)) << e.what();
      EXPECT_FALSE(fs::exists(path("bad.metrics.jsonl"))) << e.what();
      return e;
    }
    ADD_FAILURE() << "not refused";
    return Error(ErrorCode::internal, "");
  };
  TrainModelOptions o = options("bad.h5");
  o.init = path("missing.h5");
  EXPECT_EQ(refused(o).file(), o.init);
  o.init.clear();
  o.config.resume = path("missing.ckpt.h5");
  EXPECT_EQ(refused(o).file(), o.config.resume);
  o.init = path("m.h5");
  EXPECT_EQ(refused(o).code(), ErrorCode::usage);  // both
  o.init.clear();
  o.config.resume.clear();
  o.data = path("nowhere");
  EXPECT_EQ(refused(o).file(), o.data);
  o = options("bad.h5");
  o.val_split = 1;
  EXPECT_EQ(refused(o).code(), ErrorCode::usage);
  o.val_split = 0;
  o.arch.classes = 2;  // the data set has 3
  EXPECT_EQ(refused(o).code(), ErrorCode::shape);
  o = options("bad.h5");
  o.out.clear();
  EXPECT_EQ(refused(o).code(), ErrorCode::usage);
}

}  // namespace
}  // namespace flynet
