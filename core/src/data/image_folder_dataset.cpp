// Image-folder trees root/{train,test}/<class>/*.{jpg,jpeg,png}, decoded with libjpeg(-turbo)
// and libpng, Debian's standard decoders. Everything is decoded up front, in parallel, into
// memory: 50,000 32x32 colour images are 150 MB, and decoding once beats decoding every epoch.
#include <jerror.h>
#include <png.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>

// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>

#include "data_internal.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/limits.hpp"

namespace flynet::data_detail {
namespace {

namespace fs = std::filesystem;

struct Image {
  int h = 0, w = 0, c = 0;
  std::vector<uint8_t> px;  // HWC
};

// Declared image sizes are checked before the decoder allocates a row.
void check_declared(uint64_t w, uint64_t h, uint64_t c, const std::string& path) {
  if (w > limits::kImageSide || h > limits::kImageSide)
    throw Error(ErrorCode::format,
                "image header declares " + std::to_string(w) + "x" + std::to_string(h) + " pixels, above the limit of " +
                    std::to_string(limits::kImageSide) + " per side",
                path);
  limits::check("image header", w * h * c, limits::kImageBytes, "bytes", path);
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::io, "cannot open image", path);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// ---- JPEG ------------------------------------------------------------------------------------
// libjpeg's default error handler calls exit(); ours longjmps back to the decoder, which turns
// the message into an Error naming the file.

struct JpegState {
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char msg[JMSG_LENGTH_MAX] = {};
};

[[noreturn]] void jpeg_fail(j_common_ptr cinfo) {
  // mgr is not the first member, so go through the client_data pointer set below.
  auto* s = static_cast<JpegState*>(cinfo->client_data);
  (*cinfo->err->format_message)(cinfo, s->msg);
  std::longjmp(s->jump, 1);
}

void jpeg_message(j_common_ptr cinfo, int level) {
  // Warnings are normally printed and decoding goes on; a premature end of data would silently
  // fill the rest of the image with grey, so that one is an error. Others (extraneous bytes
  // before a marker, ...) leave the pixels intact and are ignored; trace messages too.
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_fail(cinfo);
}

// Only C objects live in this frame between setjmp and a longjmp (std::vector members of
// `out` are resized before any libjpeg call can fail), so the jump skips no destructor.
bool jpeg_decode(JpegState& s, const std::vector<uint8_t>& file, Image& out, const char*& unsupported) {
  s.cinfo.err = jpeg_std_error(&s.mgr);
  s.mgr.error_exit = jpeg_fail;
  s.mgr.emit_message = jpeg_message;
  s.cinfo.client_data = &s;
  if (setjmp(s.jump)) {
    jpeg_destroy_decompress(&s.cinfo);
    return false;
  }
  jpeg_create_decompress(&s.cinfo);
  s.cinfo.client_data = &s;
  jpeg_mem_src(&s.cinfo, file.data(), static_cast<unsigned long>(file.size()));
  jpeg_read_header(&s.cinfo, TRUE);
  out.w = int(std::min<JDIMENSION>(s.cinfo.image_width, INT32_MAX));
  out.h = int(std::min<JDIMENSION>(s.cinfo.image_height, INT32_MAX));
  out.c = s.cinfo.num_components;
  if (uint64_t(out.w) > limits::kImageSide || uint64_t(out.h) > limits::kImageSide ||
      uint64_t(out.w) * uint64_t(out.h) * uint64_t(std::max(out.c, 0)) > limits::kImageBytes) {
    jpeg_destroy_decompress(&s.cinfo);
    return true;  // decode_jpeg reports the declared size
  }
  if (s.cinfo.num_components == 1) {
    s.cinfo.out_color_space = JCS_GRAYSCALE;
  } else if (s.cinfo.num_components == 3) {
    s.cinfo.out_color_space = JCS_RGB;
  } else {
    unsupported = "unsupported JPEG colour space (only grey and colour)";
    jpeg_destroy_decompress(&s.cinfo);
    return true;
  }
  jpeg_start_decompress(&s.cinfo);
  out.h = int(s.cinfo.output_height);
  out.w = int(s.cinfo.output_width);
  out.c = int(s.cinfo.output_components);
  out.px.resize(size_t(out.h) * size_t(out.w) * size_t(out.c));
  while (s.cinfo.output_scanline < s.cinfo.output_height) {
    JSAMPROW row = out.px.data() + size_t(s.cinfo.output_scanline) * size_t(out.w) * size_t(out.c);
    jpeg_read_scanlines(&s.cinfo, &row, 1);
  }
  jpeg_finish_decompress(&s.cinfo);
  jpeg_destroy_decompress(&s.cinfo);
  return true;
}

Image decode_jpeg(const std::vector<uint8_t>& file, const std::string& path) {
  Image img;
  JpegState s;
  const char* unsupported = nullptr;
  if (!jpeg_decode(s, file, img, unsupported))
    throw Error(ErrorCode::format, std::string("corrupt JPEG file: ") + s.msg, path);
  check_declared(uint64_t(img.w), uint64_t(img.h), uint64_t(img.c), path);
  if (unsupported) throw Error(ErrorCode::unsupported, unsupported, path);
  return img;
}

// ---- PNG -------------------------------------------------------------------------------------
// The full libpng API rather than png_image: the simplified API treats 16-bit data as linear
// light and re-encodes it, while dataset PNGs are sRGB at any depth; strip_16 just keeps the
// high byte.

struct PngState {
  const std::vector<uint8_t>* file = nullptr;
  size_t pos = 0;
  char msg[256] = {};
};

[[noreturn]] void png_fail(png_structp png, png_const_charp msg) {
  auto* s = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(s->msg, sizeof s->msg, "%s", msg);
  png_longjmp(png, 1);
}

void png_warn(png_structp, png_const_charp) {}

void png_read_cb(png_structp png, png_bytep dst, png_size_t n) {
  auto* s = static_cast<PngState*>(png_get_io_ptr(png));
  if (s->file->size() - s->pos < n) png_error(png, "unexpected end of file");
  std::memcpy(dst, s->file->data() + s->pos, n);
  s->pos += n;
}

bool png_decode(png_structp png, png_infop info, Image& out, std::vector<png_bytep>& rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);  // libpng itself refuses more than 1,000,000 pixels per side
  out.w = int(png_get_image_width(png, info));
  out.h = int(png_get_image_height(png, info));
  if (uint64_t(out.w) > limits::kImageSide || uint64_t(out.h) > limits::kImageSide ||
      uint64_t(out.w) * uint64_t(out.h) * 3 > limits::kImageBytes)
    return true;  // decode_png reports the declared size
  const int type = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  if (depth == 16) png_set_strip_16(png);
  if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);  // dataset images: alpha is dropped
  png_read_update_info(png, info);
  out.px.clear();
  out.h = int(png_get_image_height(png, info));
  out.w = int(png_get_image_width(png, info));
  out.c = int(png_get_channels(png, info));
  if (png_get_rowbytes(png, info) != size_t(out.w) * size_t(out.c)) png_error(png, "unexpected row size");
  out.px.resize(size_t(out.h) * size_t(out.w) * size_t(out.c));
  rows.resize(size_t(out.h));
  for (int y = 0; y < out.h; ++y) rows[size_t(y)] = out.px.data() + size_t(y) * size_t(out.w) * size_t(out.c);
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  return true;
}

Image decode_png(const std::vector<uint8_t>& file, const std::string& path) {
  // libpng would first complain about the short read of a tiny file; the signature is the point.
  if (file.size() < 8 || png_sig_cmp(file.data(), 0, 8) != 0)
    throw Error(ErrorCode::format, "corrupt PNG file: Not a PNG file", path);
  PngState s;
  s.file = &file;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, png_fail, png_warn);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    throw Error(ErrorCode::internal, "cannot create a PNG reader", path);
  }
  png_set_read_fn(png, &s, png_read_cb);
  Image img;
  std::vector<png_bytep> rows;
  const bool ok = png_decode(png, info, img, rows);
  png_destroy_read_struct(&png, &info, nullptr);
  if (!ok) throw Error(ErrorCode::format, std::string("corrupt PNG file: ") + s.msg, path);
  if (img.px.empty()) check_declared(uint64_t(img.w), uint64_t(img.h), 3, path);
  return img;
}

// ---- the tree --------------------------------------------------------------------------------

std::string lower_ext(const fs::path& p) {
  std::string e = p.extension().string();
  for (char& ch : e) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return e;
}

Image decode_any(const std::string& path) {
  const std::vector<uint8_t> file = read_file(path);
  return lower_ext(path) == ".png" ? decode_png(file, path) : decode_jpeg(file, path);
}

std::vector<std::string> subdirs(const fs::path& d) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(d, ec))
    if (e.is_directory(ec)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> images_in(const fs::path& d) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(d, ec)) {
    const std::string ext = lower_ext(e.path());
    if (e.is_regular_file(ec) && (ext == ".jpg" || ext == ".jpeg" || ext == ".png")) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string shape_str(const Image& i) {
  return std::to_string(i.h) + "x" + std::to_string(i.w) + "x" + std::to_string(i.c);
}

}  // namespace

DatasetPair open_image_folder(const std::string& dir) {
  const fs::path root(dir), train_dir = root / "train", test_dir = root / "test";
  const bool has_train = fs::is_directory(train_dir), has_test = fs::is_directory(test_dir);
  if (!has_train && !has_test) return {};
  if (!has_train) throw Error(ErrorCode::io, "missing train/ folder next to test/", train_dir.string());
  if (!has_test) throw Error(ErrorCode::io, "missing test/ folder next to train/", test_dir.string());

  const std::vector<std::string> classes = subdirs(train_dir);
  if (classes.empty()) throw Error(ErrorCode::format, "no class folders in train/", train_dir.string());
  const std::vector<std::string> test_classes = subdirs(test_dir);
  for (const std::string& c : classes)
    if (!std::binary_search(test_classes.begin(), test_classes.end(), c))
      throw Error(ErrorCode::format, "test/ has no folder for class '" + c + "'", test_dir.string());
  for (const std::string& c : test_classes)
    if (!std::binary_search(classes.begin(), classes.end(), c))
      throw Error(ErrorCode::format, "class folder '" + c + "' is not in train/", (test_dir / c).string());

  // Deterministic sample order: class (sorted names), then file name. Train files come first in
  // `files`, then test files.
  std::vector<std::string> files;
  std::vector<int32_t> labels;
  int64_t n_train = 0;
  for (int split = 0; split < 2; ++split) {
    for (size_t k = 0; k < classes.size(); ++k) {
      const fs::path cdir = (split ? test_dir : train_dir) / classes[k];
      std::vector<std::string> f = images_in(cdir);
      if (f.empty() && split == 0) throw Error(ErrorCode::format, "no .jpg, .jpeg or .png images in class folder", cdir.string());
      files.insert(files.end(), f.begin(), f.end());
      labels.insert(labels.end(), f.size(), int32_t(k));
    }
    if (split == 0) n_train = int64_t(files.size());
  }

  const Image first = decode_any(files[0]);
  const size_t px = first.px.size();
  limits::check("image folder split (" + std::to_string(files.size()) + " images like this one)",
                limits::mul_sat(px, std::max<uint64_t>(uint64_t(n_train), files.size() - size_t(n_train))),
                limits::kDatasetBytes, "bytes", files[0]);
  DatasetArrays tr, te;
  tr.h = te.h = first.h;
  tr.w = te.w = first.w;
  tr.c = te.c = first.c;
  tr.labels.assign(labels.begin(), labels.begin() + n_train);
  te.labels.assign(labels.begin() + n_train, labels.end());
  tr.images.resize(px * size_t(tr.size()));
  te.images.resize(px * size_t(te.size()));
  auto slot = [&](size_t i) {
    return i < size_t(n_train) ? tr.images.data() + i * px : te.images.data() + (i - size_t(n_train)) * px;
  };
  std::memcpy(slot(0), first.px.data(), px);

  // Decode in parallel; on failure keep the error of the lowest-numbered file, so the message
  // does not depend on scheduling.
  std::mutex mu;
  size_t bad = files.size();
  std::exception_ptr bad_error;
  tbb::parallel_for(tbb::blocked_range<size_t>(1, files.size(), 32), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t i = r.begin(); i < r.end(); ++i) {
      try {
        const Image img = decode_any(files[i]);
        if (img.h != first.h || img.w != first.w || img.c != first.c)
          throw Error(ErrorCode::format,
                      "image is " + shape_str(img) + ", unlike " + files[0] + " (" + shape_str(first) + ")", files[i]);
        std::memcpy(slot(i), img.px.data(), px);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (i < bad) {
          bad = i;
          bad_error = std::current_exception();
        }
      }
    }
  });
  if (bad_error) std::rethrow_exception(bad_error);
  return make_pair(std::move(tr), std::move(te), dir, classes, /*flip_ok=*/true, train_dir.string(), test_dir.string(),
                   int(classes.size()));
}

}  // namespace flynet::data_detail
