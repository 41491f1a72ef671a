// Data set files whose headers declare more than they hold, or more than flynet's limits
// (flynet/formats/limits.hpp): each fails with one line naming the file and the field, before
// anything of the declared size is allocated (checked in a child under a 1 GiB address-space
// limit; every declared size below is several GiB).
#include <H5Cpp.h>
#include <jpeglib.h>
#include <zlib.h>

#include <filesystem>

#include "data_test_util.hpp"
#include "flynet/formats/limits.hpp"

namespace flynet::test {
namespace {

constexpr uint64_t kMiB = 1024;  // the child's limit in MiB: 1 GiB

std::vector<uint8_t> idx_header(uint32_t magic, std::vector<uint32_t> fields) {
  std::vector<uint8_t> b;
  put_be32(b, magic);
  for (uint32_t f : fields) put_be32(b, f);
  return b;
}

// A valid idx pair of three 2x2 images in `dir`, to which one file is then swapped.
void write_idx_pair(const TempDir& dir) {
  std::vector<uint8_t> im = idx_header(0x803, {3, 2, 2});
  im.resize(im.size() + 12, 7);
  std::vector<uint8_t> lb = idx_header(0x801, {3});
  lb.insert(lb.end(), {0, 1, 0});
  for (const char* s : {"train", "t10k"}) {
    write_bytes(dir / (std::string(s) + "-images-idx3-ubyte"), im);
    write_bytes(dir / (std::string(s) + "-labels-idx1-ubyte"), lb);
  }
}

TEST(HostileInput, IdxLabelFileClaiming4GLabels) {
  TempDir dir;
  write_idx_pair(dir);
  std::vector<uint8_t> lb = idx_header(0x801, {0xFFFFFFFFu});
  lb.insert(lb.end(), {0, 1, 0});
  write_bytes(dir / "train-labels-idx1-ubyte", lb);
  EXPECT_EQ(error_within_memory([&] { open_dataset(dir.path()); }, kMiB),
            "idx label count 4294967295 does not match image count 3 (" + (dir / "train-labels-idx1-ubyte") + ")");
}

TEST(HostileInput, IdxImageHeaders) {
  TempDir dir;
  write_idx_pair(dir);
  const std::string p = dir / "train-images-idx3-ubyte";
  // 25 M images of 28x28 = 19.6 GB, over the 8 GiB split limit.
  write_bytes(p, idx_header(0x803, {25000000, 28, 28}));
  EXPECT_EQ(error_within_memory([&] { open_dataset(dir.path()); }, kMiB),
            "idx image header declares 19600000000 pixel bytes, above the limit of 8589934592 (" + p + ")");
  // 10 M images (7.84 GB, under the limit) in a 16-byte file: truncated, found without allocating.
  write_bytes(p, idx_header(0x803, {10000000, 28, 28}));
  EXPECT_EQ(error_within_memory([&] { open_dataset(dir.path()); }, kMiB),
            "truncated idx file: expected 7840000000 bytes of pixels, got 0 (" + p + ")");
  write_bytes(p, idx_header(0x803, {1, 65535, 65535}));
  EXPECT_EQ(error_within_memory([&] { open_dataset(dir.path()); }, kMiB),
            "bad idx image size 65535x65535 (1..16384 per side) (" + p + ")");
}

// An 8x8 grey JPEG whose frame header (SOF0) then claims w x h.
std::vector<uint8_t> jpeg_claiming(uint16_t w, uint16_t h) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = c.image_height = 8;
  c.input_components = 1;
  c.in_color_space = JCS_GRAYSCALE;
  jpeg_set_defaults(&c);
  jpeg_start_compress(&c, TRUE);
  std::vector<uint8_t> row(8, 128);
  for (int y = 0; y < 8; ++y) {
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&c, &r, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::vector<uint8_t> b(buf, buf + size);
  std::free(buf);
  for (size_t i = 0; i + 9 < b.size(); ++i)
    if (b[i] == 0xFF && b[i + 1] == 0xC0) {  // FF C0, length(2), precision(1), height(2), width(2)
      b[i + 5] = uint8_t(h >> 8), b[i + 6] = uint8_t(h), b[i + 7] = uint8_t(w >> 8), b[i + 8] = uint8_t(w);
      break;
    }
  return b;
}

TEST(HostileInput, JpegHeaderOverTheLimits) {
  TempDir dir;
  const std::string a = dir / "train/a/0.jpg";
  for (const char* f : {"train/a/0.jpg", "train/b/0.jpg", "test/a/0.jpg", "test/b/0.jpg"}) {
    write_bytes(dir / f, jpeg_claiming(8, 8));
  }
  write_bytes(a, jpeg_claiming(65500, 65500));
  EXPECT_LT(read_bytes(a).size(), 1000u);
  EXPECT_EQ(error_within_memory([&] { open_dataset(dir.path()); }, kMiB),
            "image header declares 65500x65500 pixels, above the limit of 16384 per side (" + a + ")");
}

// A PNG header (IHDR) claiming w x h grey pixels, an empty image stream, the end; CRCs by zlib.
std::vector<uint8_t> png_claiming(uint32_t w, uint32_t h) {
  std::vector<uint8_t> b = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  auto chunk = [&](const char* type, std::vector<uint8_t> data) {
    put_be32(b, uint32_t(data.size()));
    std::vector<uint8_t> td(type, type + 4);
    td.insert(td.end(), data.begin(), data.end());
    b.insert(b.end(), td.begin(), td.end());
    put_be32(b, uint32_t(crc32(0, td.data(), uInt(td.size()))));
  };
  std::vector<uint8_t> ihdr;
  put_be32(ihdr, w);
  put_be32(ihdr, h);
  ihdr.insert(ihdr.end(), {8, 0, 0, 0, 0});
  chunk("IHDR", ihdr);
  chunk("IDAT", {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});  // zlib stream of no bytes
  chunk("IEND", {});
  return b;
}

TEST(HostileInput, PngHeaderOverTheLimits) {
  TempDir dir;
  const std::string a = dir / "train/a/0.png";
  write_bytes(a, png_claiming(20000, 20));
  write_bytes(dir / "test/a/0.png", png_claiming(20000, 20));
  EXPECT_EQ(error_within_memory([&] { open_dataset(dir.path()); }, kMiB),
            "image header declares 20000x20 pixels, above the limit of 16384 per side (" + a + ")");
  write_bytes(a, png_claiming(16000, 16000));
  EXPECT_EQ(error_within_memory([&] { open_dataset(dir.path()); }, kMiB),
            "image header declares 768000000 bytes, above the limit of 268435456 (" + a + ")");
}

TEST(HostileInput, CifarBatchOverTheSplitLimit) {
  TempDir dir;
  const std::string p = dir / "data_batch_1.bin";
  write_bytes(p, {});
  std::filesystem::resize_file(p, (uint64_t(9) << 30));  // sparse: no disk used
  write_bytes(dir / "test_batch.bin", std::vector<uint8_t>(3073, 0));
  EXPECT_EQ(error_within_memory([&] { open_dataset(dir.path()); }, kMiB),
            "CIFAR split with this batch declares 9663676416 bytes, above the limit of 8589934592 (" + p + ")");
}

TEST(HostileInput, Hdf5DatasetDeclaringMoreThanItHolds) {
  TempDir dir;
  const std::string p = dir / "d.h5";
  auto write = [&](hsize_t n, hsize_t side) {
    H5::H5File f(p, H5F_ACC_TRUNC);
    for (const char* split : {"train", "test"}) {
      H5::Group g = f.createGroup(split);
      const hsize_t d[4] = {n, side, side, 1};
      g.createDataSet("images", H5::PredType::NATIVE_UINT8, H5::DataSpace(4, d));  // never written
      g.createDataSet("labels", H5::PredType::NATIVE_INT32, H5::DataSpace(1, d));
    }
  };
  write(100000, 1000);  // 100 GB
  EXPECT_EQ(error_within_memory([&] { open_dataset(p); }, kMiB),
            "'/train/images' declares 100000000000 bytes, above the limit of 8589934592 (" + p + ")");
  write(1000, 1000);  // 1 GB, under the limit, but not in the file
  const uint64_t size = std::filesystem::file_size(p);
  EXPECT_EQ(error_within_memory([&] { open_dataset(p); }, kMiB),
            "'/train/images' declares 1000000000 bytes that are not inside the file (" + std::to_string(size) +
                " bytes) (" + p + ")");
}

}  // namespace
}  // namespace flynet::test
