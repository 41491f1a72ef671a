// CIFAR-10/100 binary batches: planar-to-HWC conversion, batch order, fine labels, errors.
#include <filesystem>

#include "data_test_util.hpp"

namespace flynet::test {
namespace {

uint8_t plane_value(int rec, int ch, int p) { return uint8_t((rec * 7 + ch * 50 + p) % 256); }

// Records rec0 .. rec0+n-1 with the given label bytes each.
std::vector<uint8_t> records(int rec0, const std::vector<std::vector<uint8_t>>& labels) {
  std::vector<uint8_t> b;
  for (size_t i = 0; i < labels.size(); ++i) {
    b.insert(b.end(), labels[i].begin(), labels[i].end());
    for (int ch = 0; ch < 3; ++ch)
      for (int p = 0; p < 1024; ++p) b.push_back(plane_value(rec0 + int(i), ch, p));
  }
  return b;
}

void expect_hwc(const Dataset& d, int64_t i, int rec) {
  std::vector<uint8_t> px(3072);
  d.get(i, px.data());
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x)
      for (int ch = 0; ch < 3; ++ch)
        ASSERT_EQ(px[size_t((y * 32 + x) * 3 + ch)], plane_value(rec, ch, y * 32 + x)) << y << "," << x << "," << ch;
}

std::string ten_names() {
  return "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n";
}

void write_text(const std::string& path, const std::string& s) { write_bytes(path, std::vector<uint8_t>(s.begin(), s.end())); }

TEST(CifarDataset, Cifar10BatchesInNumericOrder) {
  TempDir dir;
  const std::string d = dir / "cifar-10-batches-bin";  // opened through its parent
  write_bytes(d + "/data_batch_1.bin", records(0, {{3}, {9}}));
  write_bytes(d + "/data_batch_2.bin", records(2, {{0}}));
  write_bytes(d + "/data_batch_10.bin", records(3, {{5}}));
  write_bytes(d + "/test_batch.bin", records(10, {{1}, {2}}));
  write_text(d + "/batches.meta.txt", ten_names());
  DatasetPair p = open_dataset(dir.path());
  const DatasetInfo& i = p.train->info();
  EXPECT_EQ(i.source, d);
  EXPECT_EQ(shape_of(i), (InfoShape{4, 32, 32, 3, 10}));
  EXPECT_TRUE(i.flip_ok);
  ASSERT_EQ(i.class_names.size(), 10u);
  EXPECT_EQ(i.class_names[9], "truck");
  EXPECT_EQ(read_all(*p.train).labels, (std::vector<int32_t>{3, 9, 0, 5}));
  EXPECT_EQ(read_all(*p.test).labels, (std::vector<int32_t>{1, 2}));
  for (int k = 0; k < 4; ++k) expect_hwc(*p.train, k, k);
  expect_hwc(*p.test, 1, 11);
  std::vector<double> m, s;
  naive_stats(read_all(*p.train).images, 3, m, s);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_NEAR(i.mean[k], m[k], 1e-6);
    EXPECT_NEAR(i.std[k], s[k], 1e-6);
  }
}

TEST(CifarDataset, Cifar100FineLabels) {
  TempDir dir;
  write_bytes(dir / "train.bin", records(0, {{19, 99}, {0, 42}, {3, 7}}));
  write_bytes(dir / "test.bin", records(5, {{1, 11}}));
  DatasetPair p = open_dataset(dir.path());
  EXPECT_EQ(p.train->info().classes, 100);
  EXPECT_TRUE(p.train->info().class_names.empty());
  EXPECT_EQ(read_all(*p.train).labels, (std::vector<int32_t>{99, 42, 7}));
  EXPECT_EQ(read_all(*p.test).labels, (std::vector<int32_t>{11}));
  expect_hwc(*p.train, 2, 2);
  expect_hwc(*p.test, 0, 5);
}

TEST(CifarDataset, Errors) {
  TempDir dir;
  write_bytes(dir / "data_batch_1.bin", records(0, {{3}, {9}}));
  expect_error([&] { open_dataset(dir.path()); }, ErrorCode::io, "missing CIFAR-10 test batch", dir / "test_batch.bin");
  write_bytes(dir / "test_batch.bin", records(0, {{1}, {10}}));
  expect_error([&] { open_dataset(dir.path()); }, ErrorCode::format, "label 10 of record 1 is out of range for 10 classes",
               dir / "test_batch.bin");
  std::vector<uint8_t> b = records(0, {{1}, {2}});
  b.pop_back();
  write_bytes(dir / "test_batch.bin", b);
  expect_error([&] { open_dataset(dir.path()); }, ErrorCode::format,
               "truncated CIFAR batch: 6145 bytes is not a whole number of 3073-byte records", dir / "test_batch.bin");
  write_bytes(dir / "test_batch.bin", records(0, {{1}}));
  write_text(dir / "batches.meta.txt", "a\nb\n");
  expect_error([&] { open_dataset(dir.path()); }, ErrorCode::format, "2 class names for 10 classes",
               dir / "batches.meta.txt");

  TempDir d100;
  write_bytes(d100 / "train.bin", records(0, {{1, 2}}));
  expect_error([&] { open_dataset(d100.path()); }, ErrorCode::io, "missing CIFAR-100 test file", d100 / "test.bin");
}

}  // namespace
}  // namespace flynet::test
