// HDF5 dataset files: write_h5_dataset round trip, other label types, grey rank-3 images,
// errors.
#include <H5Cpp.h>

#include <filesystem>

#include "data_test_util.hpp"

namespace flynet::test {
namespace {

DatasetArrays pattern(int n, int h, int w, int c, int salt, std::vector<int32_t> labels) {
  DatasetArrays a;
  a.h = h;
  a.w = w;
  a.c = c;
  a.labels = std::move(labels);
  for (int k = 0; k < n * h * w * c; ++k) a.images.push_back(uint8_t((k * 13 + salt) % 251));
  return a;
}

TEST(H5Dataset, RoundTripPixelExact) {
  TempDir dir;
  DatasetArrays tr = pattern(6, 4, 3, 3, 0, {0, 2, 1, 1, 2, 0}), te = pattern(2, 4, 3, 3, 9, {2, 1});
  write_h5_dataset(dir / "d.h5", tr, te, {"cat", "dog", "eel"});
  DatasetPair p = open_dataset(dir / "d.h5");
  const DatasetInfo& i = p.train->info();
  EXPECT_EQ(i.source, dir / "d.h5");
  EXPECT_EQ(shape_of(i), (InfoShape{6, 4, 3, 3, 3}));
  EXPECT_TRUE(i.flip_ok);
  EXPECT_EQ(i.class_names, (std::vector<std::string>{"cat", "dog", "eel"}));
  DatasetArrays a = read_all(*p.train), b = read_all(*p.test);
  EXPECT_EQ(a.images, tr.images);
  EXPECT_EQ(a.labels, tr.labels);
  EXPECT_EQ(b.images, te.images);
  EXPECT_EQ(b.labels, te.labels);
  std::vector<double> m, s;
  naive_stats(tr.images, 3, m, s);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_NEAR(i.mean[k], m[k], 1e-6);
    EXPECT_NEAR(i.std[k], s[k], 1e-6);
  }
  EXPECT_EQ(p.test->info().mean, i.mean);
  // A directory holding one HDF5 file opens it.
  EXPECT_EQ(open_dataset(dir.path()).train->info().size, 6);
}

// Written with the HDF5 API directly: grey N x H x W images, uint8 / int64 N x 1 labels.
TEST(H5Dataset, GreyImagesAndOtherLabelTypes) {
  TempDir dir;
  const std::string path = dir / "g.h5";
  {
    H5::H5File f(path, H5F_ACC_TRUNC);
    std::vector<uint8_t> px(3 * 2 * 2);
    for (size_t k = 0; k < px.size(); ++k) px[k] = uint8_t(k * 20);
    const hsize_t d[3] = {3, 2, 2};
    for (const char* g : {"train", "test"}) {
      H5::Group grp = f.createGroup(g);
      grp.createDataSet("images", H5::PredType::STD_U8LE, H5::DataSpace(3, d)).write(px.data(), H5::PredType::NATIVE_UINT8);
    }
    const uint8_t l8[3] = {4, 0, 1};
    f.createDataSet("train/labels", H5::PredType::STD_U8LE, H5::DataSpace(1, d)).write(l8, H5::PredType::NATIVE_UINT8);
    const int64_t l64[3] = {1, 4, 3};
    const hsize_t d2[2] = {3, 1};
    f.createDataSet("test/labels", H5::PredType::STD_I64BE, H5::DataSpace(2, d2)).write(l64, H5::PredType::NATIVE_INT64);
    int flip = 0;
    f.openGroup("/").createAttribute("flip_ok", H5::PredType::NATIVE_INT, H5::DataSpace(H5S_SCALAR)).write(H5::PredType::NATIVE_INT, &flip);
  }
  DatasetPair p = open_dataset(path);
  EXPECT_EQ(p.train->info().c, 1);
  EXPECT_EQ(p.train->info().classes, 5);
  EXPECT_FALSE(p.train->info().flip_ok);
  EXPECT_EQ(read_all(*p.train).labels, (std::vector<int32_t>{4, 0, 1}));
  EXPECT_EQ(read_all(*p.test).labels, (std::vector<int32_t>{1, 4, 3}));
  EXPECT_EQ(read_all(*p.test).images[5], 100);
}

TEST(H5Dataset, Errors) {
  TempDir dir;
  const std::string path = dir / "e.h5";
  DatasetArrays tr = pattern(4, 2, 2, 1, 0, {0, 1, 0, 1});
  {
    H5::H5File f(path, H5F_ACC_TRUNC);
    f.createGroup("train");
  }
  expect_error([&] { open_dataset(path); }, ErrorCode::format, "no dataset 'train/images' in HDF5 dataset", path);
  {
    H5::H5File f(path, H5F_ACC_TRUNC);
    H5::Group g = f.createGroup("train");
    const hsize_t d[4] = {4, 2, 2, 1};
    std::vector<float> px(16, 0.5f);
    g.createDataSet("images", H5::PredType::NATIVE_FLOAT, H5::DataSpace(4, d)).write(px.data(), H5::PredType::NATIVE_FLOAT);
    g.createDataSet("labels", H5::PredType::NATIVE_INT32, H5::DataSpace(1, d)).write(tr.labels.data(), H5::PredType::NATIVE_INT32);
  }
  expect_error([&] { open_dataset(path); }, ErrorCode::format, "'train/images' must hold uint8 pixels", path);
  {
    H5::H5File f(path, H5F_ACC_TRUNC);
    H5::Group g = f.createGroup("train");
    const hsize_t d[4] = {4, 2, 2, 1};
    g.createDataSet("images", H5::PredType::NATIVE_UINT8, H5::DataSpace(4, d)).write(tr.images.data(), H5::PredType::NATIVE_UINT8);
    const hsize_t d3 = 3;
    g.createDataSet("labels", H5::PredType::NATIVE_INT32, H5::DataSpace(1, &d3)).write(tr.labels.data(), H5::PredType::NATIVE_INT32);
  }
  expect_error([&] { open_dataset(path); }, ErrorCode::format, "'train/labels' has 3 labels for 4 images", path);
  {
    H5::H5File f(path, H5F_ACC_TRUNC);
    H5::Group g = f.createGroup("train");
    const hsize_t d[2] = {4, 4};
    g.createDataSet("images", H5::PredType::NATIVE_UINT8, H5::DataSpace(2, d)).write(tr.images.data(), H5::PredType::NATIVE_UINT8);
  }
  expect_error([&] { open_dataset(path); }, ErrorCode::format, "'train/images' must be N x H x W x C, got 4 x 4", path);

  write_h5_dataset(path, tr, tr);
  {  // the test group dropped
    H5::H5File f(path, H5F_ACC_RDWR);
    f.unlink("test");
  }
  expect_error([&] { open_dataset(path); }, ErrorCode::format, "no group 'test' in HDF5 dataset", path);

  write_bytes(dir / "fake.h5", {'n', 'o', 'p', 'e'});
  expect_error([&] { open_dataset(dir / "fake.h5"); }, ErrorCode::format, "not an HDF5 file", dir / "fake.h5");

  write_h5_dataset(path, tr, pattern(1, 2, 3, 1, 0, {1}));
  expect_error([&] { open_dataset(path); }, ErrorCode::format, "test images are 2x3x1, train images are 2x2x1", path);

  // Class names fix the class count; a test label beyond them is out of range.
  write_h5_dataset(path, tr, pattern(1, 2, 2, 1, 0, {2}), {"a", "b"});
  expect_error([&] { open_dataset(path); }, ErrorCode::format, "label 2 at index 0 is out of range for 2 classes", path);
  write_h5_dataset(path, tr, pattern(1, 2, 2, 1, 0, {2}));
  expect_error([&] { open_dataset(path); }, ErrorCode::format, "test label 2 at index 0 is not one of the 2 train classes", path);

  DatasetArrays bad = tr;
  bad.images.pop_back();
  expect_error([&] { write_h5_dataset(dir / "w.h5", bad, tr); }, ErrorCode::shape,
               "train images hold 15 bytes, expected 4 x 2x2x1", dir / "w.h5");
}

// h5py writes string lists as variable-length strings: read (in a child process) all the same.
TEST(H5Dataset, VariableLengthClassNames) {
  TempDir dir;
  write_h5_dataset(dir / "d.h5", pattern(2, 2, 2, 1, 0, {0, 1}), pattern(2, 2, 2, 1, 0, {1, 0}));
  {
    H5::H5File f(dir / "d.h5", H5F_ACC_RDWR);
    H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
    const hsize_t n = 2;
    const char* names[2] = {"left", "right"};
    f.openGroup("/").createAttribute("class_names", t, H5::DataSpace(1, &n)).write(t, names);
  }
  EXPECT_EQ(open_dataset(dir / "d.h5").train->info().class_names, (std::vector<std::string>{"left", "right"}));
}

TEST(H5Dataset, TruncatedFile) {
  TempDir dir;
  write_h5_dataset(dir / "t.h5", pattern(50, 8, 8, 3, 0, std::vector<int32_t>(50, 1)), pattern(5, 8, 8, 3, 0, std::vector<int32_t>(5, 0)));
  std::vector<uint8_t> b = read_bytes(dir / "t.h5");
  const size_t full = b.size();
  b.resize(b.size() / 2);
  write_bytes(dir / "t.h5", b);
  try {
    open_dataset(dir / "t.h5");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    // libhdf5's own words for the cut, after flynet's: the real and the stored end of file.
    EXPECT_EQ(std::string(e.what()), "cannot open the file: truncated file: eof = " + std::to_string(b.size()) +
                                         ", sblock->base_addr = 0, stored_eof = " + std::to_string(full));
    EXPECT_EQ(e.file(), dir / "t.h5");
  }
}

}  // namespace
}  // namespace flynet::test
