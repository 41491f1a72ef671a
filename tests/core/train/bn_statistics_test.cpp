// BN statistics on a small data set (issue 18, section 2), with 16 steps per epoch:
//  - the per-epoch test top-1 the trainer reports is, at every epoch, that of the same weights
//    with exact BN statistics (recomputed here from the epoch's checkpoint, over the same
//    batches: the variance is the mean of per-batch variances, so another batching of the same
//    images gives other statistics, enough to move an image or two across a decision);
//  - the running statistics themselves (the checkpoint as it is) track the weights from the
//    second epoch on with the adaptive momentum, where torchvision's fixed 0.01 stays at chance;
//  - with a validation split, the end-of-training statistics score at least the running ones
//    on that split (both evaluated here from the files).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "flynet/core/model.hpp"
#include "flynet/core/model_state.hpp"
#include "flynet/core/train_model.hpp"
#include "flynet/core/trainer.hpp"

namespace flynet {
namespace {

namespace fs = std::filesystem;

// Four classes of 16x16 images: a bright 6x6 square in one quadrant, at a random offset in
// it, on noise.
DatasetArrays quadrant_images(int n, uint32_t seed) {
  DatasetArrays a{16, 16, 1, {}, {}};
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(0, 90), shift(0, 2), bright(120, 220);
  for (int i = 0; i < n; ++i) {
    const int label = i % 4, oy = (label / 2) * 8 + shift(rng), ox = (label % 2) * 8 + shift(rng);
    const int b = bright(rng);
    for (int y = 0; y < 16; ++y)
      for (int x = 0; x < 16; ++x) {
        const bool on = y >= oy && y < oy + 6 && x >= ox && x < ox + 6;
        a.images.push_back(uint8_t(std::min(255, (on ? b : 0) + noise(rng))));
      }
    a.labels.push_back(label);
  }
  return a;
}

class BnStatisticsTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(dir_); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& f) const { return (dir_ / f).string(); }
  fs::path dir_ = fs::temp_directory_path() / ("flynet_bn_statistics_test_" + std::to_string(::getpid()));
};

// At every epoch end: the trainer's test top-1, and those of the checkpoint's weights with
// exact statistics (every training batch) and with its running statistics.
struct Gaps : TrainObserver {
  const DatasetPair* data = nullptr;
  std::string checkpoint;
  uint64_t seed = 0;  // the trainer's, which orders its refresh batches
  double reported = 0, running = 0;  // largest |x - exact|; running from the second epoch on
  void on_epoch(const EpochStats& s) override {
    Model m = load_model(checkpoint);
    const DatasetInfo& i = data->train->info();
    const double as_is = evaluate(m, data->test, i.mean, i.std).top1;
    recalibrate_batchnorm(m, data->train, i.mean, i.std, 16, kEvalRefreshBatches, seed);
    const double exact = evaluate(m, data->test, i.mean, i.std).top1;
    std::printf("epoch %d: reported %.3f, exact statistics %.3f, running statistics %.3f, train accuracy %.3f\n",
                s.epoch + 1, s.test_top1, exact, as_is, s.accuracy);
    reported = std::max(reported, std::fabs(exact - s.test_top1));
    if (s.epoch > 0) running = std::max(running, std::fabs(exact - as_is));
  }
};

Gaps gaps(const DatasetPair& d, double bn_momentum, const std::string& ckpt) {
  ArchSpec spec = arch_preset("flynet-h3");
  spec.width = 0.25;
  spec.in_h = spec.in_w = 16;
  spec.in_c = 1;
  spec.classes = 4;
  Model m = Model::create(spec, 2);
  TrainConfig c;
  c.epochs = 4;
  c.batch = 16;
  c.lr = 0.05;
  c.threads = 1;
  c.t_start = c.t_end = 1;  // the evaluations and the exact statistics at one temperature
  c.augment = false;        // and of the same (un-augmented) images
  c.bn_momentum = bn_momentum;
  c.checkpoint = ckpt;
  Gaps g;
  g.data = &d;
  g.checkpoint = ckpt;
  g.seed = c.seed;
  train(m, d, c, &g);
  return g;
}

TEST_F(BnStatisticsTest, PerEpochEvaluationUsesStatisticsOfTheCurrentWeights) {
  auto train_set = memory_dataset(quadrant_images(256, 1), "quadrants-train", 4);
  const DatasetPair d{train_set, memory_dataset(quadrant_images(128, 2), "quadrants-test", 4, train_set.get())};
  const Gaps adaptive = gaps(d, -1, path("a.ckpt.h5"));
  const Gaps fixed = gaps(d, 0.01, path("f.ckpt.h5"));
  // The refresh and the reference take the same 16 batches of the same weights (the checkpoint
  // holds them exactly), so the same statistics and the same predictions: not one image apart.
  EXPECT_EQ(adaptive.reported, 0.0);
  EXPECT_EQ(fixed.reported, 0.0);
  EXPECT_LE(adaptive.running, 0.05);
  EXPECT_GE(fixed.running, 0.5);
}

TEST_F(BnStatisticsTest, FinalStatisticsAreNoWorseThanRunningOnValidation) {
  write_h5_dataset(path("d.h5"), quadrant_images(320, 3), quadrant_images(64, 4));
  TrainModelOptions o;
  o.data = path("d.h5");
  o.out = path("m.h5");
  o.arch.width = 0.25;
  o.val_split = 0.25;
  o.config.epochs = 3;
  o.config.batch = 16;
  o.config.lr = 0.05;
  o.config.threads = 1;
  train_model(o);
  // The last checkpoint holds the running statistics of the final weights.
  Model final_model = load_model(o.out), running = load_model(path("m.ckpt.h5"));
  const DatasetPair val = split_validation(open_dataset(o.data).train, o.val_split, o.config.seed);
  const InputNormalisation n = read_input_normalisation(final_model).per_channel(1);
  const double with_final = evaluate(final_model, val.test, n.mean, n.std).top1;
  const double with_running = evaluate(running, val.test, n.mean, n.std).top1;
  EXPECT_GE(with_final, with_running);
  const std::string choice = final_model.meta.at("train.bn_statistics");
  EXPECT_TRUE(choice.rfind("recalibrated (", 0) == 0 || choice.rfind("running (", 0) == 0) << choice;
  EXPECT_NEAR(std::stod(final_model.meta.at("train.val_top1")), with_final, 1e-9);
}

}  // namespace
}  // namespace flynet
