// Writes the HDF5 seeds of corpus/h5_model and corpus/h5_dataset with flynet's own writers, and
// the JPEG seeds of corpus/image_folder with libjpeg:
//   fuzz_seed_writer OUT_DIR
// A seed is small on purpose: libFuzzer mutates faster and reaches more of a small file.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>

#include "flynet/core/data.hpp"
#include "flynet/formats/h5_store.hpp"

namespace {

// An 8x8 JPEG of `components` (1 or 3) with a gradient, baseline or progressive.
void write_jpeg(const std::filesystem::path& path, int components, bool progressive) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = c.image_height = 8;
  c.input_components = components;
  c.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 80, TRUE);
  if (progressive) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  std::vector<unsigned char> row(size_t(8 * components));
  while (c.next_scanline < 8) {
    for (size_t i = 0; i < row.size(); ++i) row[i] = static_cast<unsigned char>(i * 29 + c.next_scanline * 31);
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&c, &r, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(buf), std::streamsize(size));
  std::free(buf);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seed_writer OUT_DIR\n";
    return 2;
  }
  const std::filesystem::path out = argv[1];
  flynet::ModelRecord m;
  m.arch = {{"arch", "flynet"}, {"width", "0.25"}};
  m.meta = {{"note", "seed"}};
  const float w[6] = {1.5f, -2.f, 0.f, 3.25f, -0.f, 1e-30f};
  m.tensors.push_back(flynet::TensorRecord::from_f32("fc.weight", {2, 3}, w));
  m.tensors.push_back(flynet::TensorRecord{"fc.codes", flynet::DType::i8, {4}, {0x80, 0xff, 0x00, 0x7f}});
  m.tensors.push_back(flynet::TensorRecord{"fc.bias", flynet::DType::i32, {1}, {1, 2, 3, 4}});
  flynet::save_model_h5(m, (out / "model.h5").string());

  flynet::DatasetArrays a;
  a.h = a.w = 2;
  a.c = 1;
  a.images = {0, 64, 128, 255, 255, 128, 64, 0};
  a.labels = {0, 1};
  flynet::write_h5_dataset((out / "data.h5").string(), a, a, {"zero", "one"});
  flynet::DatasetArrays b = a;
  b.c = 1;
  flynet::write_h5_dataset((out / "data-nonames.h5").string(), a, b);
  write_jpeg(out / "gray.jpg", 1, false);
  write_jpeg(out / "rgb.jpg", 3, false);
  write_jpeg(out / "progressive.jpg", 3, true);
  return 0;
}
