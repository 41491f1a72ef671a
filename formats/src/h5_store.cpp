#include "flynet/formats/h5_store.hpp"

#include <H5Cpp.h>

#include <filesystem>

#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {

namespace {

constexpr const char* kFormatName = "flynet-model";
constexpr int kFormatVersion = 1;

H5::PredType h5_type(DType t) {
  switch (t) {
    case DType::f32: return H5::PredType::NATIVE_FLOAT;
    case DType::i8: return H5::PredType::NATIVE_INT8;
    case DType::i32: return H5::PredType::NATIVE_INT32;
    case DType::u8: return H5::PredType::NATIVE_UINT8;
    case DType::i64: return H5::PredType::NATIVE_INT64;
  }
  return H5::PredType::NATIVE_FLOAT;
}

void write_string_attr(H5::H5Object& obj, const std::string& key, const std::string& value) {
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  type.setCset(H5T_CSET_UTF8);
  H5::Attribute a = obj.createAttribute(key, type, H5::DataSpace(H5S_SCALAR));
  a.write(type, value);
}

std::string read_string_attr(const H5::Attribute& a) {
  std::string v;
  a.read(a.getStrType(), v);
  return v;
}

std::map<std::string, std::string> read_string_attrs(const H5::Group& g) {
  std::map<std::string, std::string> kv;
  const int n = g.getNumAttrs();
  for (int i = 0; i < n; ++i) {
    H5::Attribute a = g.openAttribute(static_cast<unsigned>(i));
    kv[a.getName()] = read_string_attr(a);
  }
  return kv;
}

DType dtype_of(const H5::DataSet& ds, const std::string& name) {
  const H5T_class_t cls = ds.getTypeClass();
  if (cls == H5T_FLOAT) {
    if (ds.getFloatType().getSize() == 4) return DType::f32;
  } else if (cls == H5T_INTEGER) {
    H5::IntType it = ds.getIntType();
    const bool is_signed = it.getSign() != H5T_SGN_NONE;
    switch (it.getSize()) {
      case 1: return is_signed ? DType::i8 : DType::u8;
      case 4: if (is_signed) return DType::i32; break;
      case 8: if (is_signed) return DType::i64; break;
    }
  }
  throw Error(ErrorCode::format, "tensor '" + name + "' has an unsupported element type");
}

}  // namespace

void save_model_h5(const ModelRecord& model, const std::string& path) {
  write_file_atomically(path, [&](const std::string& tmp) {
    try {
      H5::Exception::dontPrint();
      H5::H5File f(tmp, H5F_ACC_TRUNC);
      H5::Group root = f.openGroup("/");
      write_string_attr(root, "format", kFormatName);
      write_string_attr(root, "version", std::to_string(kFormatVersion));
      H5::Group arch = f.createGroup("/arch");
      for (const auto& [k, v] : model.arch) write_string_attr(arch, k, v);
      H5::Group meta = f.createGroup("/meta");
      for (const auto& [k, v] : model.meta) write_string_attr(meta, k, v);
      H5::Group tensors = f.createGroup("/tensors");
      for (const TensorRecord& t : model.tensors) {
        if (t.name.empty() || t.name.find('/') != std::string::npos)
          throw Error(ErrorCode::internal, "tensor name '" + t.name + "' cannot be stored", path);
        if (t.data.size() != size_t(t.numel()) * dtype_size(t.dtype))
          throw Error(ErrorCode::internal, "tensor '" + t.name + "' data size does not match its shape", path);
        std::vector<hsize_t> dims(t.shape.begin(), t.shape.end());
        H5::DataSpace space = dims.empty() ? H5::DataSpace(H5S_SCALAR)
                                           : H5::DataSpace(int(dims.size()), dims.data());
        H5::DataSet ds = tensors.createDataSet(t.name, h5_type(t.dtype), space);
        if (!t.data.empty()) ds.write(t.data.data(), h5_type(t.dtype));
      }
      f.close();
    } catch (const H5::Exception& e) {
      throw Error(ErrorCode::io, "cannot write HDF5 model: " + e.getDetailMsg(), path);
    }
  });
}

ModelRecord load_model_h5(const std::string& path) {
  if (!std::filesystem::exists(path)) throw Error(ErrorCode::io, "no such file", path);
  H5::Exception::dontPrint();
  if (!H5::H5File::isHdf5(path)) throw Error(ErrorCode::format, "not an HDF5 file", path);
  ModelRecord m;
  std::string where = "/";
  try {
    H5::H5File f(path, H5F_ACC_RDONLY);
    H5::Group root = f.openGroup("/");
    if (!root.attrExists("format") || read_string_attr(root.openAttribute("format")) != kFormatName)
      throw Error(ErrorCode::format, "not a flynet model (no format=\"flynet-model\" attribute)", path);
    const std::string version = read_string_attr(root.openAttribute("version"));
    if (version != std::to_string(kFormatVersion))
      throw Error(ErrorCode::format, "unsupported flynet model version " + version + " (this build reads " +
                                         std::to_string(kFormatVersion) + ")", path);
    where = "/arch";
    m.arch = read_string_attrs(f.openGroup("/arch"));
    where = "/meta";
    m.meta = read_string_attrs(f.openGroup("/meta"));
    where = "/tensors";
    H5::Group tensors = f.openGroup("/tensors");
    const hsize_t n = tensors.getNumObjs();
    for (hsize_t i = 0; i < n; ++i) {
      TensorRecord t;
      t.name = tensors.getObjnameByIdx(i);
      where = "/tensors/" + t.name;
      H5::DataSet ds = tensors.openDataSet(t.name);
      t.dtype = dtype_of(ds, t.name);
      H5::DataSpace space = ds.getSpace();
      const int rank = space.getSimpleExtentNdims();
      std::vector<hsize_t> dims(size_t(std::max(rank, 0)));
      if (rank > 0) space.getSimpleExtentDims(dims.data());
      t.shape.assign(dims.begin(), dims.end());
      t.data.resize(size_t(t.numel()) * dtype_size(t.dtype));
      if (!t.data.empty()) ds.read(t.data.data(), h5_type(t.dtype));
      m.tensors.push_back(std::move(t));
    }
  } catch (const H5::Exception& e) {
    throw Error(ErrorCode::format, "damaged flynet model at " + where + ": " + e.getDetailMsg(), path);
  }
  return m;
}

}  // namespace flynet
