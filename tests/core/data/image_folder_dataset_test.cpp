// Image-folder trees: PNG pixel-exact, JPEG within a tolerance, grey/colour/alpha handling,
// sample order, every error; the real CIFAR-10 JPEG tree when ../shared/data has it.
#include <png.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <jpeglib.h>

#include "data_test_util.hpp"

namespace flynet::test {
namespace {

namespace fs = std::filesystem;

struct Img {
  int h, w, c;  // c: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA
  std::vector<uint8_t> px;
};

Img pattern(int h, int w, int c, int salt) {
  Img i{h, w, c, {}};
  for (int k = 0; k < h * w * c; ++k) i.px.push_back(uint8_t((k * 37 + salt * 11) % 256));
  if (c == 2 || c == 4)  // opaque alpha, so dropping it leaves the colour exact
    for (int p = 0; p < h * w; ++p) i.px[size_t(p * c + c - 1)] = 255;
  return i;
}

Img flat(int h, int w, std::vector<uint8_t> colour) {
  Img i{h, w, int(colour.size()), {}};
  for (int p = 0; p < h * w; ++p) i.px.insert(i.px.end(), colour.begin(), colour.end());
  return i;
}

void write_png(const std::string& path, const Img& i) {
  fs::create_directories(fs::path(path).parent_path());
  png_image im{};
  im.version = PNG_IMAGE_VERSION;
  im.width = png_uint_32(i.w);
  im.height = png_uint_32(i.h);
  im.format = i.c == 1 ? PNG_FORMAT_GRAY : i.c == 2 ? PNG_FORMAT_GA : i.c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
  ASSERT_TRUE(png_image_write_to_file(&im, path.c_str(), 0, i.px.data(), 0, nullptr)) << im.message;
}

void write_jpeg(const std::string& path, const Img& i, int quality) {
  fs::create_directories(fs::path(path).parent_path());
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_TRUE(f);
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, f);
  c.image_width = JDIMENSION(i.w);
  c.image_height = JDIMENSION(i.h);
  c.input_components = i.c;
  c.in_color_space = i.c == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(i.px.data()) + size_t(c.next_scanline) * size_t(i.w * i.c);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::fclose(f);
}

// Drops an alpha channel: what the reader must produce.
std::vector<uint8_t> without_alpha(const Img& i) {
  if (i.c == 1 || i.c == 3) return i.px;
  std::vector<uint8_t> out;
  for (int p = 0; p < i.h * i.w; ++p)
    for (int k = 0; k < i.c - 1; ++k) out.push_back(i.px[size_t(p * i.c + k)]);
  return out;
}

std::vector<uint8_t> sample(const Dataset& d, int64_t i) {
  std::vector<uint8_t> px(size_t(d.info().h * d.info().w * d.info().c));
  d.get(i, px.data());
  return px;
}

TEST(ImageFolder, PngPixelExactInClassThenNameOrder) {
  TempDir root;
  // Class folders sorted by name (bee < cat); files by name ("1" < "10" < "2").
  write_png(root / "train/cat/2.png", pattern(5, 4, 3, 1));
  write_png(root / "train/cat/10.png", pattern(5, 4, 4, 2));  // RGBA: alpha dropped
  write_png(root / "train/cat/1.png", pattern(5, 4, 3, 3));
  write_png(root / "train/bee/x.png", pattern(5, 4, 3, 4));
  write_png(root / "test/bee/y.PNG", pattern(5, 4, 3, 5));
  write_png(root / "test/cat/z.png", pattern(5, 4, 3, 6));
  write_bytes(root / "train/cat/notes.txt", {'x'});  // not an image: ignored
  DatasetPair p = open_dataset(root.path());
  const DatasetInfo& i = p.train->info();
  EXPECT_EQ(i.source, root.path());
  EXPECT_EQ(shape_of(i), (InfoShape{4, 5, 4, 3, 2}));
  EXPECT_TRUE(i.flip_ok);
  EXPECT_EQ(i.class_names, (std::vector<std::string>{"bee", "cat"}));
  EXPECT_EQ(read_all(*p.train).labels, (std::vector<int32_t>{0, 1, 1, 1}));
  EXPECT_EQ(sample(*p.train, 0), pattern(5, 4, 3, 4).px);
  EXPECT_EQ(sample(*p.train, 1), pattern(5, 4, 3, 3).px);
  EXPECT_EQ(sample(*p.train, 2), without_alpha(pattern(5, 4, 4, 2)));
  EXPECT_EQ(sample(*p.train, 3), pattern(5, 4, 3, 1).px);
  EXPECT_EQ(read_all(*p.test).labels, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(sample(*p.test, 0), pattern(5, 4, 3, 5).px);
  EXPECT_EQ(p.test->info().class_names, i.class_names);
  std::vector<double> m, s;
  naive_stats(read_all(*p.train).images, 3, m, s);
  for (size_t k = 0; k < 3; ++k) EXPECT_NEAR(i.mean[k], m[k], 1e-6);
}

TEST(ImageFolder, GreyPngAndGreyAlpha) {
  TempDir root;
  write_png(root / "train/a/0.png", pattern(3, 6, 1, 1));
  write_png(root / "train/b/0.png", pattern(3, 6, 2, 2));
  write_png(root / "test/a/0.png", pattern(3, 6, 1, 3));
  write_png(root / "test/b/0.png", pattern(3, 6, 1, 4));
  DatasetPair p = open_dataset(root.path());
  EXPECT_EQ(p.train->info().c, 1);
  EXPECT_EQ(sample(*p.train, 0), pattern(3, 6, 1, 1).px);
  EXPECT_EQ(sample(*p.train, 1), without_alpha(pattern(3, 6, 2, 2)));
}

TEST(ImageFolder, JpegFlatColourWithinTolerance) {
  TempDir root;
  write_jpeg(root / "train/a/0.jpg", flat(16, 16, {200, 100, 50}), 95);
  write_jpeg(root / "train/b/0.jpeg", flat(16, 16, {10, 240, 128}), 95);
  write_png(root / "test/a/0.png", flat(16, 16, {1, 2, 3}));  // JPEG and PNG may mix
  write_jpeg(root / "test/b/0.JPG", flat(16, 16, {0, 0, 255}), 95);
  DatasetPair p = open_dataset(root.path());
  EXPECT_EQ(p.train->info().c, 3);
  const std::vector<std::vector<uint8_t>> want = {{200, 100, 50}, {10, 240, 128}};
  for (int k = 0; k < 2; ++k) {
    std::vector<uint8_t> px = sample(*p.train, k);
    for (size_t q = 0; q < px.size(); ++q) EXPECT_NEAR(px[q], want[size_t(k)][q % 3], 3) << "image " << k << " byte " << q;
  }
  EXPECT_EQ(sample(*p.test, 0), flat(16, 16, {1, 2, 3}).px);

  TempDir grey;
  write_jpeg(grey / "train/a/0.jpg", flat(8, 8, {77}), 90);
  write_jpeg(grey / "train/b/0.jpg", flat(8, 8, {177}), 90);
  write_jpeg(grey / "test/a/0.jpg", flat(8, 8, {7}), 90);
  write_jpeg(grey / "test/b/0.jpg", flat(8, 8, {250}), 90);
  DatasetPair g = open_dataset(grey.path());
  EXPECT_EQ(g.train->info().c, 1);
  for (uint8_t v : sample(*g.train, 1)) EXPECT_NEAR(v, 177, 2);
}

struct ImageFolderErrors : ::testing::Test {
  TempDir root;
  void SetUp() override {
    write_png(root / "train/a/0.png", pattern(4, 4, 3, 1));
    write_png(root / "train/a/1.png", pattern(4, 4, 3, 2));
    write_png(root / "train/b/0.png", pattern(4, 4, 3, 3));
    write_png(root / "test/a/0.png", pattern(4, 4, 3, 4));
    write_png(root / "test/b/0.png", pattern(4, 4, 3, 5));
  }
};

TEST_F(ImageFolderErrors, CorruptFiles) {
  write_bytes(root / "train/b/1.jpg", {'n', 'o', 'p', 'e'});
  write_bytes(root / "test/b/1.png", {'n', 'o', 'p', 'e'});
  // Two broken files: the first in sample order is named, whatever the thread schedule.
  expect_error([&] { open_dataset(root.path()); }, ErrorCode::format,
               "corrupt JPEG file: Not a JPEG file: starts with 0x6e 0x6f", root / "train/b/1.jpg");
  fs::remove(root / "train/b/1.jpg");
  expect_error([&] { open_dataset(root.path()); }, ErrorCode::format, "corrupt PNG file: Not a PNG file",
               root / "test/b/1.png");
  fs::remove(root / "test/b/1.png");

  write_jpeg(root / "train/a/2.jpg", pattern(4, 4, 3, 7), 90);
  std::vector<uint8_t> j = read_bytes(root / "train/a/2.jpg");
  j.resize(j.size() - 40);  // cut inside the entropy-coded data
  write_bytes(root / "train/a/2.jpg", j);
  expect_error([&] { open_dataset(root.path()); }, ErrorCode::format, "corrupt JPEG file: Premature end of JPEG file",
               root / "train/a/2.jpg");
  fs::remove(root / "train/a/2.jpg");

  write_png(root / "train/a/2.png", pattern(4, 4, 3, 7));
  std::vector<uint8_t> q = read_bytes(root / "train/a/2.png");
  q.resize(q.size() - 20);
  write_bytes(root / "train/a/2.png", q);
  expect_error([&] { open_dataset(root.path()); }, ErrorCode::format, "corrupt PNG file: unexpected end of file",
               root / "train/a/2.png");
}

TEST_F(ImageFolderErrors, ShapeAndChannelMismatch) {
  write_png(root / "train/b/1.png", pattern(4, 5, 3, 7));
  expect_error([&] { open_dataset(root.path()); }, ErrorCode::format,
               "image is 4x5x3, unlike " + (root / "train/a/0.png") + " (4x4x3)", root / "train/b/1.png");
  fs::remove(root / "train/b/1.png");
  write_png(root / "test/a/1.png", pattern(4, 4, 1, 7));
  expect_error([&] { open_dataset(root.path()); }, ErrorCode::format,
               "image is 4x4x1, unlike " + (root / "train/a/0.png") + " (4x4x3)", root / "test/a/1.png");
}

TEST_F(ImageFolderErrors, TreeLayout) {
  fs::create_directories(root / "test/c");
  expect_error([&] { open_dataset(root.path()); }, ErrorCode::format, "class folder 'c' is not in train/",
               root / "test/c");
  fs::remove(root / "test/c");
  fs::remove_all(root / "test/b");
  expect_error([&] { open_dataset(root.path()); }, ErrorCode::format, "test/ has no folder for class 'b'",
               root / "test");
  fs::create_directories(root / "test/b");
  fs::create_directories(root / "train/c");
  fs::create_directories(root / "test/c");
  expect_error([&] { open_dataset(root.path()); }, ErrorCode::format, "no .jpg, .jpeg or .png images in class folder",
               root / "train/c");
  fs::remove_all(root / "test");
  expect_error([&] { open_dataset(root.path()); }, ErrorCode::io, "missing test/ folder next to train/", root / "test");
}

TEST(ImageFolder, RealCifar10Jpeg) {
  const std::string shared = std::string(FLYNET_SHARED_DIR) + "/data/cifar10-jpeg";
  const std::string tarball = shared + "/cifar10_jpeg_q75.tar.gz";
  if (!fs::exists(tarball)) GTEST_SKIP() << "../shared/data/cifar10-jpeg not found: " << tarball;
  TempDir tmp;
  // Two classes are enough to exercise the real files and keep the test short.
  const std::string cmd = "tar -xzf '" + tarball + "' -C '" + tmp.path() +
                          "' --wildcards 'train/airplane/*' 'train/cat/*' 'test/airplane/*' 'test/cat/*'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  DatasetPair p = open_dataset(tmp.path());
  const DatasetInfo& i = p.train->info();
  EXPECT_EQ(shape_of(i), (InfoShape{10000, 32, 32, 3, 2}));
  EXPECT_EQ(p.test->info().size, 2000);
  EXPECT_EQ(i.class_names, (std::vector<std::string>{"airplane", "cat"}));
  DatasetArrays a = read_all(*p.train);
  EXPECT_EQ(a.labels[4999], 0);
  EXPECT_EQ(a.labels[5000], 1);
  std::vector<double> m, s;
  naive_stats(a.images, 3, m, s);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_NEAR(i.mean[k], m[k], 1e-5);
    EXPECT_NEAR(i.std[k], s[k], 1e-5);
    EXPECT_GT(i.mean[k], 0.3);  // natural images, not zeros
    EXPECT_LT(i.mean[k], 0.7);
  }
}

}  // namespace
}  // namespace flynet::test
