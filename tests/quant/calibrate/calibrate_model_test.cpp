// calibrate_model (flynet calibrate's work): the first N training images in the calibration
// order, cut from batches of any size, give the same report as those N images fed to
// calibrate() in one piece; the result is stored in the model; the errors it names.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "flynet/core/model.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/quant/calibrate.hpp"
#include "quant_fixtures.hpp"

namespace flynet {
namespace {

ArchSpec small() { return test::small_flynet(); }

Model model() {
  Model m = Model::create(small(), 4);
  m.meta["data.mean"] = "0.4";
  m.meta["data.std"] = "0.3";
  return m;
}

struct Data {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("flynet_calibrate_model_test_" + std::to_string(::getpid()));
  std::string path = (dir / "data.h5").string();
  static constexpr int kTrain = 13;
  Data() {
    std::filesystem::create_directories(dir);
    std::mt19937 rng(3);
    auto arrays = [&](int n) {
      DatasetArrays a;
      a.h = a.w = 16;
      a.c = 1;
      for (int i = 0; i < n * 256; ++i) a.images.push_back(uint8_t(rng() % 256u));
      for (int i = 0; i < n; ++i) a.labels.push_back(i % 10);
      return a;
    };
    write_h5_dataset(path, arrays(kTrain), arrays(2));
  }
  ~Data() { std::filesystem::remove_all(dir); }
};

TEST(CalibrateModel, FirstImagesInAnyBatchingGiveTheOneBatchReport) {
  const Data data;
  Model m = model();
  CalibrateDataOptions o;
  o.data = data.path;
  o.samples = 5;
  o.batch = 2;  // batches of 2, 2 and 1 cut from the third
  std::vector<std::string> stages;
  int64_t last_done = 0, last_total = 0;
  const CalibrationReport r = calibrate_model(m, o, [&](const std::string& stage) {
    stages.push_back(stage);
    return [&](int64_t done, int64_t total) {
      last_done = done;
      last_total = total;
    };
  });

  // The same first 5 images, in the calibration order, as one batch.
  Model m2 = model();
  BatchLoader loader(open_dataset(data.path).train, calibration_loader_options(m2, Data::kTrain));
  loader.start_epoch(0);
  Batch b;
  ASSERT_TRUE(loader.next(b));
  Tensor first({5, 16, 16, 1});
  std::copy(b.images.data.begin(), b.images.data.begin() + first.numel(), first.data.begin());
  const CalibrationReport want = calibrate(m2, [&](const auto& use) { use(first); }, {});

  EXPECT_EQ(r.samples, 5);
  ASSERT_EQ(r.tensors.size(), want.tensors.size());
  for (size_t i = 0; i < r.tensors.size(); ++i) {
    SCOPED_TRACE(r.tensors[i].name);
    EXPECT_EQ(r.tensors[i].name, want.tensors[i].name);
    EXPECT_EQ(r.tensors[i].observed_min, want.tensors[i].observed_min);
    EXPECT_EQ(r.tensors[i].observed_max, want.tensors[i].observed_max);
    EXPECT_EQ(r.tensors[i].histogram, want.tensors[i].histogram);
    EXPECT_EQ(r.tensors[i].chosen.min, want.tensors[i].chosen.min);
    EXPECT_EQ(r.tensors[i].chosen.max, want.tensors[i].chosen.max);
  }
  EXPECT_EQ(stages, std::vector<std::string>{"calibrating"});
  EXPECT_EQ(last_done, 10);  // two passes of 5
  EXPECT_EQ(last_total, 10);

  // Stored in the model.
  const Calibration c = read_calibration(m, "m.h5");
  EXPECT_EQ(c.state.method_name(), "minmax");
  EXPECT_EQ(c.ranges.size(), r.tensors.size());
  EXPECT_EQ(m.meta.at("calib.samples"), "5");

  // More samples than the split has: the whole split.
  Model m3 = model();
  o.samples = 100;
  EXPECT_EQ(calibrate_model(m3, o).samples, Data::kTrain);
}

TEST(CalibrateModel, ImagesThatDoNotFitAndNoSamplesAreRefused) {
  const Data data;
  auto code = [&](Model m, int64_t samples) {
    CalibrateDataOptions o;
    o.data = data.path;
    o.samples = samples;
    try {
      calibrate_model(m, o);
    } catch (const Error& e) {
      EXPECT_TRUE(m.meta.find("calib.method") == m.meta.end());  // nothing stored
      return e.code();
    }
    return ErrorCode::internal;  // not thrown
  };
  EXPECT_EQ(code(Model::create(arch_preset("flynet-h3"), 1), 5), ErrorCode::shape);  // 28x28 model
  EXPECT_EQ(code(model(), 0), ErrorCode::usage);
}

}  // namespace
}  // namespace flynet
