// The trainer end to end on generated data: the loss falls and the accuracy rises; equal seeds
// give bit-identical weights; a run stopped after epoch 1 and resumed from its checkpoint ends
// bit-identical to an uninterrupted one; metrics, meta and error paths.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "flynet/core/trainer.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {
namespace {

namespace fs = std::filesystem;

// Three classes of 12x12 images: horizontal stripes, vertical stripes, a centred blob, with
// random phase, contrast and noise.
DatasetArrays make_images(int n, uint32_t seed) {
  DatasetArrays a;
  a.h = a.w = 12;
  a.c = 1;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> phase(0, 3), noise(-30, 30);
  std::uniform_real_distribution<float> contrast(0.6f, 1.f);
  for (int i = 0; i < n; ++i) {
    const int label = i % 3, p = phase(rng);
    const float k = contrast(rng);
    for (int y = 0; y < 12; ++y)
      for (int x = 0; x < 12; ++x) {
        float v;
        if (label == 0) v = ((y + p) / 2) % 2 ? 1.f : 0.f;
        else if (label == 1) v = ((x + p) / 2) % 2 ? 1.f : 0.f;
        else v = (std::abs(y - 6 + p / 2) + std::abs(x - 6 + p % 2)) < 4 ? 1.f : 0.f;
        a.images.push_back(uint8_t(std::clamp(int(40 + 170 * k * v) + noise(rng), 0, 255)));
      }
    a.labels.push_back(label);
  }
  return a;
}

DatasetPair make_data() {
  auto train = memory_dataset(make_images(192, 1), "generated-train", 3);
  auto test = memory_dataset(make_images(96, 2), "generated-test", 3, train.get());
  return {train, test};
}

ArchSpec tiny_spec() {
  ArchSpec s = arch_preset("flynet-h3");
  s.width = 0.25;
  s.in_h = s.in_w = 12;
  s.in_c = 1;
  s.classes = 3;
  return s;
}

TrainConfig tiny_config(int epochs) {
  TrainConfig c;
  c.epochs = epochs;
  c.batch = 16;
  c.lr = 0.05;
  c.warmup_epochs = 0.5;
  c.seed = 9;
  c.threads = 1;
  c.eval_every = 0;
  return c;
}

struct Recorder : TrainObserver {
  std::vector<EpochStats> epochs;
  int batches = 0;
  void on_batch(const BatchProgress&) override { ++batches; }
  void on_epoch(const EpochStats& s) override { epochs.push_back(s); }
};

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("flynet_trainer_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(TrainerTest, LossFallsAndAccuracyRises) {
  DatasetPair d = make_data();
  // 72 steps are too few for torchvision's BN momentum 0.01 to move the running statistics
  // from their initial values: the final BN recalibration is what makes eval mode work here.
  Model m = Model::create(tiny_spec(), 4);
  const EvalResult before = evaluate(m, d.test, d.train->info().mean, d.train->info().std);
  TrainConfig c = tiny_config(6);
  c.metrics = path("metrics.jsonl");
  Recorder rec;
  const TrainResult r = train(m, d, c, &rec);
  ASSERT_EQ(rec.epochs.size(), 6u);
  EXPECT_EQ(rec.batches, 6 * 12);
  EXPECT_LT(rec.epochs.back().loss, rec.epochs.front().loss * 0.8);
  EXPECT_GT(rec.epochs.back().accuracy, rec.epochs.front().accuracy);
  EXPECT_GT(r.test_top1, 0.8) << "before training: " << before.top1;
  EXPECT_NEAR(std::stod(m.meta.at("train.test_top1")), r.test_top1, 1e-5);
  EXPECT_FALSE(m.meta.at("data.mean").empty());
  EXPECT_FALSE(m.meta.at("data.std").empty());
  std::ifstream log(c.metrics);
  int lines = 0;
  for (std::string l; std::getline(log, l);) {
    ++lines;
    EXPECT_EQ(l.front(), '{');
    EXPECT_NE(l.find("\"loss\":"), std::string::npos);
  }
  EXPECT_EQ(lines, 6);
}

// Tied logits count as argmax breaks them, the lower class index first (as quantize and verify
// count): with every parameter zero the network gives equal logits for every class, so top-1 is
// the share of class-0 images and top-5 (3 classes) is everything.
TEST_F(TrainerTest, TiedLogitsCountAsArgmaxBreaksThem) {
  DatasetPair d = make_data();
  Model m = Model::create(tiny_spec(), 4);
  for (auto& [name, t] : m.params) std::fill(t.data.begin(), t.data.end(), 0.f);
  const EvalResult r = evaluate(m, d.test, d.train->info().mean, d.train->info().std, 16, true);
  ASSERT_EQ(r.count, 96);
  int64_t class0 = 0;
  for (int64_t i = 0; i < r.count; ++i) {
    for (int k = 1; k < 3; ++k) ASSERT_EQ(r.logits.ptr()[i * 3 + k], r.logits.ptr()[i * 3]) << "image " << i;
    class0 += r.labels[size_t(i)] == 0;
  }
  ASSERT_GT(class0, 0);
  ASSERT_LT(class0, r.count);
  EXPECT_DOUBLE_EQ(r.top1, double(class0) / double(r.count));
  EXPECT_DOUBLE_EQ(r.top5, 1.0);
}

TEST_F(TrainerTest, SameSeedGivesBitIdenticalWeights) {
  DatasetPair d = make_data();
  Model a = Model::create(tiny_spec(), 4), b = Model::create(tiny_spec(), 4);
  // Two threads: the parallel reductions must not depend on scheduling. Few steps, because
  // OpenMP barriers crawl when other jobs load the machine.
  TrainConfig c = tiny_config(1);
  c.threads = 2;
  c.max_steps = 3;
  c.bn_recalibration = 2;
  train(a, d, c);
  train(b, d, c);
  for (const auto& [name, t] : a.params) EXPECT_EQ(t.data, b.params.at(name).data) << name;
}

TEST_F(TrainerTest, ResumeContinuesExactly) {
  DatasetPair d = make_data();
  Model straight = Model::create(tiny_spec(), 4);
  train(straight, d, tiny_config(2));

  Model first = Model::create(tiny_spec(), 4);
  TrainConfig c1 = tiny_config(2);
  c1.max_steps = 12;  // stops after epoch 1 (12 batches) and its checkpoint
  c1.checkpoint = path("ckpt.h5");
  train(first, d, c1);
  ASSERT_TRUE(fs::exists(c1.checkpoint));
  EXPECT_FALSE(fs::exists(c1.checkpoint + ".tmp"));

  Model resumed = Model::create(tiny_spec(), 77);  // different init: everything must come from the checkpoint
  TrainConfig c2 = tiny_config(2);
  c2.resume = c1.checkpoint;
  Recorder rec;
  train(resumed, d, c2, &rec);
  ASSERT_EQ(rec.epochs.size(), 1u);
  EXPECT_EQ(rec.epochs[0].epoch, 1);
  for (const auto& [name, t] : straight.params) EXPECT_EQ(t.data, resumed.params.at(name).data) << name;
}

TEST_F(TrainerTest, ResumeOfAnotherArchitectureFails) {
  DatasetPair d = make_data();
  Model m = Model::create(tiny_spec(), 4);
  TrainConfig c = tiny_config(1);
  c.max_steps = 2;
  c.checkpoint = path("ckpt.h5");
  train(m, d, c);
  ArchSpec other = tiny_spec();
  other.heads = 2;
  Model o = Model::create(other, 4);
  TrainConfig c2 = tiny_config(1);
  c2.resume = c.checkpoint;
  try {
    train(o, d, c2);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "checkpoint was trained with a different architecture (" + c.checkpoint + ")");
  }
}

TEST(Throughput, MeasuresBothDirections) {
  const Throughput t = measure_throughput(tiny_spec(), 8, 1, 1);
  EXPECT_GT(t.train_images_per_s, 0);
  EXPECT_GT(t.infer_images_per_s, 0);
}

}  // namespace
}  // namespace flynet
