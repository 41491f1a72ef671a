// HDF5 dataset files: groups train/ and test/, each with `images` (uint8, N x H x W x C, or
// N x H x W for grey) and `labels` (any integer type, N or N x 1); optional root attributes
// `class_names` (string array) and `flip_ok` (integer).
#include <H5Cpp.h>

#include <climits>

#include "data_internal.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {
namespace data_detail {
namespace {

bool link_exists(const H5::Group& g, const std::string& name) {
  return H5Lexists(g.getId(), name.c_str(), H5P_DEFAULT) > 0;
}

std::string dims_str(const std::vector<hsize_t>& d) {
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) s += (i ? " x " : "") + std::to_string(d[i]);
  return s;
}

std::vector<hsize_t> dims_of(const H5::DataSet& ds) {
  H5::DataSpace sp = ds.getSpace();
  std::vector<hsize_t> d(size_t(std::max(0, sp.getSimpleExtentNdims())));
  if (!d.empty()) sp.getSimpleExtentDims(d.data());
  return d;
}

H5::DataSet open_member(const H5::H5File& f, const std::string& name, const std::string& path) {
  const std::string split = name.substr(0, name.find('/'));
  if (!link_exists(f, split)) throw Error(ErrorCode::format, "no group '" + split + "' in HDF5 dataset", path);
  if (!link_exists(f.openGroup(split), name.substr(split.size() + 1)))
    throw Error(ErrorCode::format, "no dataset '" + name + "' in HDF5 dataset", path);
  return f.openDataSet(name);
}

DatasetArrays read_split(const H5::H5File& f, const std::string& split, const std::string& path) {
  const std::string in = split + "/images", ln = split + "/labels";
  H5::DataSet images = open_member(f, in, path);
  if (images.getTypeClass() != H5T_INTEGER || images.getIntType().getSize() != 1 ||
      images.getIntType().getSign() != H5T_SGN_NONE)
    throw Error(ErrorCode::format, "'" + in + "' must hold uint8 pixels", path);
  std::vector<hsize_t> d = dims_of(images);
  if (d.size() == 3) d.push_back(1);
  if (d.size() != 4 || d[1] == 0 || d[2] == 0 || d[3] == 0 || d[1] > 65535 || d[2] > 65535 || d[3] > 64)
    throw Error(ErrorCode::format, "'" + in + "' must be N x H x W x C, got " + dims_str(dims_of(images)), path);
  H5::DataSet labels = open_member(f, ln, path);
  if (labels.getTypeClass() != H5T_INTEGER)
    throw Error(ErrorCode::format, "'" + ln + "' must hold integer labels", path);
  const std::vector<hsize_t> ld = dims_of(labels);
  if (!(ld.size() == 1 || (ld.size() == 2 && ld[1] == 1)))
    throw Error(ErrorCode::format, "'" + ln + "' must be N or N x 1, got " + dims_str(ld), path);
  if (ld[0] != d[0])
    throw Error(ErrorCode::format,
                "'" + ln + "' has " + std::to_string(ld[0]) + " labels for " + std::to_string(d[0]) + " images", path);

  DatasetArrays a;
  a.h = int(d[1]);
  a.w = int(d[2]);
  a.c = int(d[3]);
  a.images.resize(size_t(d[0] * d[1] * d[2] * d[3]));
  if (!a.images.empty()) images.read(a.images.data(), H5::PredType::NATIVE_UINT8);
  // HDF5 converts whatever integer type is stored; range is checked after.
  std::vector<int64_t> l(static_cast<size_t>(ld[0]));
  if (!l.empty()) labels.read(l.data(), H5::PredType::NATIVE_INT64);
  a.labels.resize(l.size());
  for (size_t i = 0; i < l.size(); ++i) {
    if (l[i] < INT32_MIN || l[i] > INT32_MAX)
      throw Error(ErrorCode::format, "label " + std::to_string(l[i]) + " at index " + std::to_string(i) + " is out of range", path);
    a.labels[i] = int32_t(l[i]);
  }
  return a;
}

std::vector<std::string> read_names(const H5::H5File& f, const std::string& path) {
  H5::Group root = f.openGroup("/");
  if (!root.attrExists("class_names")) return {};
  H5::Attribute a = root.openAttribute("class_names");
  if (a.getTypeClass() != H5T_STRING) throw Error(ErrorCode::format, "attribute 'class_names' must hold strings", path);
  H5::StrType t = a.getStrType();
  H5::DataSpace sp = a.getSpace();
  const hssize_t n = sp.getSimpleExtentNpoints();
  std::vector<std::string> names;
  if (t.isVariableStr()) {
    std::vector<char*> p(size_t(n), nullptr);
    a.read(t, p.data());
    for (char* s : p) names.emplace_back(s ? s : "");
    H5Dvlen_reclaim(t.getId(), sp.getId(), H5P_DEFAULT, p.data());
  } else {
    const size_t len = t.getSize();
    std::vector<char> buf(size_t(n) * len);
    a.read(t, buf.data());
    for (hssize_t i = 0; i < n; ++i) {
      std::string s(buf.data() + size_t(i) * len, len);
      s.resize(std::min(s.size(), s.find('\0')));
      names.push_back(s);
    }
  }
  return names;
}

}  // namespace

DatasetPair open_h5_file(const std::string& path) {
  H5::Exception::dontPrint();
  if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(ErrorCode::format, "not an HDF5 file", path);
  try {
    H5::H5File f(path, H5F_ACC_RDONLY);
    DatasetArrays train = read_split(f, "train", path);
    DatasetArrays test = read_split(f, "test", path);
    std::vector<std::string> names = read_names(f, path);
    bool flip_ok = true;
    H5::Group root = f.openGroup("/");
    if (root.attrExists("flip_ok")) {
      int v = 1;
      root.openAttribute("flip_ok").read(H5::PredType::NATIVE_INT, &v);
      flip_ok = v != 0;
    }
    return make_pair(std::move(train), std::move(test), path, std::move(names), flip_ok, path, path);
  } catch (const H5::Exception& e) {
    throw Error(ErrorCode::format, "cannot read HDF5 dataset: " + e.getDetailMsg(), path);
  }
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
      H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
      t.setCset(H5T_CSET_UTF8);
      const hsize_t n = class_names.size();
      std::vector<const char*> p;
      for (const std::string& s : class_names) p.push_back(s.c_str());
      H5::Attribute a = f.openGroup("/").createAttribute("class_names", t, H5::DataSpace(1, &n));
      a.write(t, p.data());
    }
  } catch (const H5::Exception& e) {
    throw Error(ErrorCode::io, "cannot write HDF5 dataset: " + e.getDetailMsg(), path);
  }
}

}  // namespace flynet
