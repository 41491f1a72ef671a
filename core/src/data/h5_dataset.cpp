// HDF5 dataset files: groups train/ and test/, each with `images` (uint8, N x H x W x C, or
// N x H x W for grey) and `labels` (any integer type, N or N x 1); optional root attributes
// `class_names` (string array) and `flip_ok` (integer).
#include <H5Cpp.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "flynet/formats/h5_read.hpp"
#include "flynet/formats/limits.hpp"

#include "data_internal.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {
namespace data_detail {
namespace {

// More class names than this is a damaged file (ImageNet-21k has 21,841).
constexpr uint64_t kMaxClassNames = 1 << 20;

std::string dims_str(const std::vector<uint64_t>& d) {
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) s += (i ? " x " : "") + std::to_string(d[i]);
  return s;
}

// Images and labels of one split, their shapes, sizes and places in the file checked before a
// byte is read.
DatasetArrays read_split(hid_t f, const std::string& split, uint64_t file_bytes, const std::string& path) {
  const std::string in = split + "/images", ln = split + "/labels";
  if (!h5::has_link(f, split)) throw Error(ErrorCode::format, "no group '" + split + "' in HDF5 dataset", path);
  const h5::Handle g = h5::open_group(f, split, {path, "/"});
  const h5::Where w{path, "/" + split};
  if (!h5::has_link(g.get(), "images")) throw Error(ErrorCode::format, "no dataset '" + in + "' in HDF5 dataset", path);
  const h5::Dataset images = h5::open_dataset(g.get(), "images", 4, 1, limits::kDatasetBytes, file_bytes, w);
  if (images.type_class != H5T_INTEGER || images.type_size != 1 || images.is_signed)
    throw Error(ErrorCode::format, "'" + in + "' must hold uint8 pixels", path);
  std::vector<uint64_t> d = images.dims;
  if (d.size() == 3) d.push_back(1);
  if (d.size() != 4 || d[1] == 0 || d[2] == 0 || d[3] == 0 || d[1] > limits::kImageSide ||
      d[2] > limits::kImageSide || d[3] > 64)
    throw Error(ErrorCode::format, "'" + in + "' must be N x H x W x C, got " + dims_str(images.dims), path);
  limits::check("'" + in + "' image", d[1] * d[2] * d[3], limits::kImageBytes, "bytes", path);
  if (!h5::has_link(g.get(), "labels")) throw Error(ErrorCode::format, "no dataset '" + ln + "' in HDF5 dataset", path);
  const h5::Dataset labels = h5::open_dataset(g.get(), "labels", 2, 8, limits::kDatasetBytes, file_bytes, w);
  if (labels.type_class != H5T_INTEGER)
    throw Error(ErrorCode::format, "'" + ln + "' must hold integer labels", path);
  const std::vector<uint64_t>& ld = labels.dims;
  if (!(ld.size() == 1 || (ld.size() == 2 && ld[1] == 1)))
    throw Error(ErrorCode::format, "'" + ln + "' must be N or N x 1, got " + dims_str(ld), path);
  if (ld[0] != d[0])
    throw Error(ErrorCode::format,
                "'" + ln + "' has " + std::to_string(ld[0]) + " labels for " + std::to_string(d[0]) + " images", path);

  DatasetArrays a;
  a.h = int(d[1]);
  a.w = int(d[2]);
  a.c = int(d[3]);
  a.images.resize(size_t(images.elements));
  h5::read_dataset(images, H5T_NATIVE_UINT8, a.images.data(), {path, "/" + in});
  // HDF5 converts whatever integer type is stored; range is checked after.
  std::vector<int64_t> l(static_cast<size_t>(ld[0]));
  h5::read_dataset(labels, H5T_NATIVE_INT64, l.data(), {path, "/" + ln});
  a.labels.resize(l.size());
  for (size_t i = 0; i < l.size(); ++i) {
    if (l[i] < INT32_MIN || l[i] > INT32_MAX)
      throw Error(ErrorCode::format, "label " + std::to_string(l[i]) + " at index " + std::to_string(i) + " is out of range", path);
    a.labels[i] = int32_t(l[i]);
  }
  return a;
}

// Class names: fixed-length strings, or variable-length ones (h5py's default).
std::vector<std::string> read_names(hid_t f, const std::string& path) {
  const h5::Where w{path, "/"};
  if (H5Aexists(f, "class_names") <= 0) return {};
  if (h5::is_variable_string(f, "class_names", w))
    return h5::read_variable_strings(f, "class_names", kMaxClassNames, w);
  return h5::read_fixed_strings(f, "class_names", kMaxClassNames, w);
}

// The data set as the file holds it: runs inside h5::run_isolated.
struct H5Contents {
  DatasetArrays split[2];
  std::vector<std::string> names;
  bool flip_ok = true;
};

H5Contents read_contents(const std::string& path) {
  const h5::Handle f = h5::open_file(path);
  const uint64_t file_bytes = h5::file_size(f.get(), {path, "/"});
  H5Contents c;
  c.split[0] = read_split(f.get(), "train", file_bytes, path);
  c.split[1] = read_split(f.get(), "test", file_bytes, path);
  c.names = read_names(f.get(), path);
  if (H5Aexists(f.get(), "flip_ok") > 0) c.flip_ok = h5::read_int(f.get(), "flip_ok", {path, "/"}) != 0;
  return c;
}

std::string encode(const H5Contents& c) {
  h5::ByteWriter w;
  for (const DatasetArrays& a : c.split) {
    for (int d : {a.h, a.w, a.c}) w.u64(uint64_t(d));
    w.str(std::string_view(reinterpret_cast<const char*>(a.images.data()), a.images.size()));
    w.str(std::string_view(reinterpret_cast<const char*>(a.labels.data()), a.labels.size() * 4));
  }
  w.u64(c.names.size());
  for (const std::string& n : c.names) w.str(n);
  w.u64(c.flip_ok);
  return w.take();
}

H5Contents decode(const std::string& bytes, const std::string& path) {
  h5::ByteReader r(bytes, path);
  H5Contents c;
  for (DatasetArrays& a : c.split) {
    a.h = int(r.u64());
    a.w = int(r.u64());
    a.c = int(r.u64());
    const std::string px = r.str(), lb = r.str();
    a.images.assign(px.begin(), px.end());
    a.labels.resize(lb.size() / 4);
    std::memcpy(a.labels.data(), lb.data(), a.labels.size() * 4);
  }
  for (uint64_t n = r.u64(); n > 0; --n) c.names.push_back(r.str());
  c.flip_ok = r.u64() != 0;
  return c;
}

}  // namespace

DatasetPair open_h5_file(const std::string& path) {
  H5Contents c = decode(h5::run_isolated([&] { return encode(read_contents(path)); }, path), path);
  return make_pair(std::move(c.split[0]), std::move(c.split[1]), path, std::move(c.names), c.flip_ok, path, path);
}

}  // namespace data_detail

namespace {

void write_split(H5::H5File& f, const std::string& name, const DatasetArrays& a, const std::string& path) {
  if (a.h <= 0 || a.w <= 0 || a.c <= 0 || a.images.size() != size_t(a.h) * size_t(a.w) * size_t(a.c) * a.labels.size())
    throw Error(ErrorCode::shape,
                name + " images hold " + std::to_string(a.images.size()) + " bytes, expected " +
                    std::to_string(a.labels.size()) + " x " + std::to_string(a.h) + "x" + std::to_string(a.w) + "x" +
                    std::to_string(a.c),
                path);
  H5::Group g = f.createGroup(name);
  const hsize_t d[4] = {hsize_t(a.labels.size()), hsize_t(a.h), hsize_t(a.w), hsize_t(a.c)};
  H5::DataSet im = g.createDataSet("images", H5::PredType::NATIVE_UINT8, H5::DataSpace(4, d));
  if (!a.images.empty()) im.write(a.images.data(), H5::PredType::NATIVE_UINT8);
  H5::DataSet lb = g.createDataSet("labels", H5::PredType::NATIVE_INT32, H5::DataSpace(1, d));
  if (!a.labels.empty()) lb.write(a.labels.data(), H5::PredType::NATIVE_INT32);
}

}  // namespace

void write_h5_dataset(const std::string& path, const DatasetArrays& train, const DatasetArrays& test,
                      const std::vector<std::string>& class_names) {
  H5::Exception::dontPrint();
  try {
    H5::H5File f(path, H5F_ACC_TRUNC);
    write_split(f, "train", train, path);
    write_split(f, "test", test, path);
    if (!class_names.empty()) {
      // Fixed-length strings (the longest name's size, NUL-padded): read without the child
      // process that variable-length ones need (h5::read_variable_strings).
      size_t len = 1;
      for (const std::string& s : class_names) len = std::max(len, s.size());
      H5::StrType t(H5::PredType::C_S1, len);
      t.setStrpad(H5T_STR_NULLPAD);
      t.setCset(H5T_CSET_UTF8);
      std::vector<char> buf(len * class_names.size(), '\0');
      for (size_t i = 0; i < class_names.size(); ++i) class_names[i].copy(buf.data() + i * len, len);
      const hsize_t n = class_names.size();
      H5::Attribute a = f.openGroup("/").createAttribute("class_names", t, H5::DataSpace(1, &n));
      a.write(t, buf.data());
    }
  } catch (const H5::Exception& e) {
    throw Error(ErrorCode::io, "cannot write HDF5 dataset: " + e.getDetailMsg(), path);
  }
}

}  // namespace flynet
