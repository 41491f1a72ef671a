// idx (MNIST-style) files, plain and gzip: pixel-exact reading, statistics, every error.
#include <zlib.h>

#include <filesystem>

#include "data_test_util.hpp"

namespace flynet::test {
namespace {

struct IdxData {
  int n, h, w;
  std::vector<uint8_t> px;
  std::vector<uint8_t> labels;
};

IdxData make_idx(int n, int h, int w, int salt, std::vector<uint8_t> labels) {
  IdxData d{n, h, w, {}, std::move(labels)};
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) d.px.push_back(uint8_t((i * 31 + y * 7 + x * 3 + salt) % 256));
  return d;
}

std::vector<uint8_t> images_file(const IdxData& d) {
  std::vector<uint8_t> b;
  put_be32(b, 0x00000803);
  put_be32(b, uint32_t(d.n));
  put_be32(b, uint32_t(d.h));
  put_be32(b, uint32_t(d.w));
  b.insert(b.end(), d.px.begin(), d.px.end());
  return b;
}

std::vector<uint8_t> labels_file(const IdxData& d) {
  std::vector<uint8_t> b;
  put_be32(b, 0x00000801);
  put_be32(b, uint32_t(d.labels.size()));
  b.insert(b.end(), d.labels.begin(), d.labels.end());
  return b;
}

void write_gz(const std::string& path, const std::vector<uint8_t>& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_TRUE(f);
  ASSERT_EQ(gzwrite(f, b.data(), unsigned(b.size())), int(b.size()));
  gzclose(f);
}

// Train 5 images 3x4 (plain files), test 3 images (gzip).
struct IdxFixture : ::testing::Test {
  TempDir dir;
  IdxData train = make_idx(5, 3, 4, 0, {2, 0, 1, 2, 1});
  IdxData test = make_idx(3, 3, 4, 100, {1, 2, 0});
  void write_all() {
    write_bytes(dir / "train-images-idx3-ubyte", images_file(train));
    write_bytes(dir / "train-labels-idx1-ubyte", labels_file(train));
    write_gz(dir / "t10k-images-idx3-ubyte.gz", images_file(test));
    write_gz(dir / "t10k-labels-idx1-ubyte.gz", labels_file(test));
  }
};

TEST_F(IdxFixture, ReadsPlainAndGzipPixelExact) {
  write_all();
  DatasetPair p = open_dataset(dir.path());
  const DatasetInfo& ti = p.train->info();
  EXPECT_EQ(shape_of(ti), (InfoShape{5, 3, 4, 1, 3}));
  EXPECT_FALSE(ti.flip_ok);
  EXPECT_TRUE(ti.class_names.empty());
  EXPECT_EQ(ti.source, dir.path());
  EXPECT_EQ(p.test->info().size, 3);
  EXPECT_EQ(p.test->info().classes, 3);

  DatasetArrays a = read_all(*p.train);
  EXPECT_EQ(a.images, train.px);
  EXPECT_EQ(a.labels, std::vector<int32_t>(train.labels.begin(), train.labels.end()));
  DatasetArrays b = read_all(*p.test);
  EXPECT_EQ(b.images, test.px);
  EXPECT_EQ(b.labels, std::vector<int32_t>(test.labels.begin(), test.labels.end()));
}

TEST_F(IdxFixture, StatisticsAreTrainStatisticsOnBothSplits) {
  write_all();
  DatasetPair p = open_dataset(dir.path());
  std::vector<double> m, s;
  naive_stats(train.px, 1, m, s);
  ASSERT_EQ(p.train->info().mean.size(), 1u);
  EXPECT_NEAR(p.train->info().mean[0], m[0], 1e-6);
  EXPECT_NEAR(p.train->info().std[0], s[0], 1e-6);
  EXPECT_EQ(p.test->info().mean, p.train->info().mean);
  EXPECT_EQ(p.test->info().std, p.train->info().std);
  ChannelStats cs = channel_stats(*p.train);
  EXPECT_NEAR(cs.mean[0], m[0], 1e-6);
  EXPECT_NEAR(cs.std[0], s[0], 1e-6);
}

TEST_F(IdxFixture, ClassNamesFile) {
  write_all();
  write_bytes(dir / "class_names.txt", {'a', '\n', 'b', '\n', 'c', '\n'});
  DatasetPair p = open_dataset(dir.path());
  EXPECT_EQ(p.train->info().class_names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(p.test->info().class_names, p.train->info().class_names);
}

TEST_F(IdxFixture, TruncatedPixels) {
  write_all();
  std::vector<uint8_t> b = images_file(train);
  b.resize(b.size() - 10);
  write_bytes(dir / "train-images-idx3-ubyte", b);
  expect_error([&] { open_dataset(dir.path()); }, ErrorCode::format,
               "truncated idx file: expected 60 bytes of pixels, got 50", dir / "train-images-idx3-ubyte");
}

TEST_F(IdxFixture, TruncatedGzip) {
  write_all();
  // Cut the compressed stream: zlib delivers what it can, the count check names the shortfall.
  std::vector<uint8_t> big = images_file(make_idx(3, 30, 40, 100, {}));
  write_gz(dir / "t10k-images-idx3-ubyte.gz", big);
  std::vector<uint8_t> gz = read_bytes(dir / "t10k-images-idx3-ubyte.gz");
  gz.resize(gz.size() / 2);
  write_bytes(dir / "t10k-images-idx3-ubyte.gz", gz);
  try {
    open_dataset(dir.path());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("truncated idx file: expected 3600 bytes of pixels, got ", 0), 0u) << e.what();
    EXPECT_EQ(e.file(), dir / "t10k-images-idx3-ubyte.gz");
  }
}

TEST_F(IdxFixture, CorruptGzip) {
  write_all();
  std::vector<uint8_t> gz = read_bytes(dir / "t10k-labels-idx1-ubyte.gz");
  // Right after the 10-byte gzip header: BFINAL=1, BTYPE=3 (reserved) -> "invalid block type".
  for (size_t i = 10; i < gz.size(); ++i) gz[i] = 0xff;
  write_bytes(dir / "t10k-labels-idx1-ubyte.gz", gz);
  expect_error([&] { open_dataset(dir.path()); }, ErrorCode::format, "corrupt gzip data: invalid block type",
               dir / "t10k-labels-idx1-ubyte.gz");
}

TEST_F(IdxFixture, BadMagic) {
  write_all();
  write_bytes(dir / "train-images-idx3-ubyte", labels_file(train));
  expect_error([&] { open_dataset(dir.path()); }, ErrorCode::format,
               "not an idx image file: magic 0x00000801, expected 0x00000803", dir / "train-images-idx3-ubyte");
  write_bytes(dir / "train-images-idx3-ubyte", images_file(train));
  write_bytes(dir / "train-labels-idx1-ubyte", images_file(train));
  expect_error([&] { open_dataset(dir.path()); }, ErrorCode::format,
               "not an idx label file: magic 0x00000803, expected 0x00000801", dir / "train-labels-idx1-ubyte");
}

TEST_F(IdxFixture, CountMismatch) {
  write_all();
  IdxData t = train;
  t.labels.pop_back();
  write_bytes(dir / "train-labels-idx1-ubyte", labels_file(t));
  expect_error([&] { open_dataset(dir.path()); }, ErrorCode::format,
               "idx label count 4 does not match image count 5", dir / "train-labels-idx1-ubyte");
}

TEST_F(IdxFixture, ShapeMismatchBetweenSplits) {
  write_all();
  write_gz(dir / "t10k-images-idx3-ubyte.gz", images_file(make_idx(3, 4, 4, 0, {})));
  expect_error([&] { open_dataset(dir.path()); }, ErrorCode::format, "test images are 4x4, train images are 3x4",
               dir / "t10k-images-idx3-ubyte.gz");
}

TEST_F(IdxFixture, TestLabelOutsideTrainClasses) {
  write_all();
  IdxData t = test;
  t.labels[1] = 7;
  write_gz(dir / "t10k-labels-idx1-ubyte.gz", labels_file(t));
  expect_error([&] { open_dataset(dir.path()); }, ErrorCode::format,
               "test label 7 at index 1 is not one of the 3 train classes", dir / "t10k-labels-idx1-ubyte.gz");
}

TEST_F(IdxFixture, MissingFile) {
  write_all();
  std::filesystem::remove(dir / "t10k-labels-idx1-ubyte.gz");
  expect_error([&] { open_dataset(dir.path()); }, ErrorCode::io,
               "missing idx file for test labels (e.g. t10k-labels-idx1-ubyte.gz)", dir.path());
}

TEST_F(IdxFixture, TrailingData) {
  write_all();
  std::vector<uint8_t> b = labels_file(train);
  b.push_back(0);
  write_bytes(dir / "train-labels-idx1-ubyte", b);
  expect_error([&] { open_dataset(dir.path()); }, ErrorCode::format, "idx file has data after its labels",
               dir / "train-labels-idx1-ubyte");
}

TEST(OpenDataset, UnknownLayoutAndMissingPath) {
  TempDir dir;
  write_bytes(dir / "readme.txt", {'x'});
  expect_error([&] { open_dataset(dir.path()); }, ErrorCode::format,
               "no dataset found in " + dir.path() +
                   ": expected idx files, CIFAR batches, train/ and test/ class folders, or an HDF5 file",
               dir.path());
  expect_error([&] { open_dataset(dir / "nope"); }, ErrorCode::io, "no such file or directory", dir / "nope");
  expect_error([&] { open_dataset(dir / "readme.txt"); }, ErrorCode::format,
               "not a dataset: expected an HDF5 file or a dataset directory", dir / "readme.txt");
}

TEST(FashionMnist, RealDataset) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << dir << " not found: apt-get install dataset-fashion-mnist";
  DatasetPair p = open_dataset(dir);
  const DatasetInfo& i = p.train->info();
  EXPECT_EQ(shape_of(i), (InfoShape{60000, 28, 28, 1, 10}));
  EXPECT_EQ(p.test->info().size, 10000);
  ASSERT_EQ(i.class_names.size(), 10u);
  std::vector<uint8_t> px(28 * 28);
  const int32_t l0 = p.train->get(0, px.data());
  EXPECT_EQ(l0, 9);
  EXPECT_EQ(i.class_names[size_t(l0)], "Ankle boot");
  // Published Fashion-MNIST statistics of pixel/255 over the training set.
  EXPECT_NEAR(i.mean[0], 0.2860, 1e-3);
  EXPECT_NEAR(i.std[0], 0.3530, 1e-3);
  EXPECT_EQ(p.test->info().mean, i.mean);
}

}  // namespace
}  // namespace flynet::test
