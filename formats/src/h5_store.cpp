#include "flynet/formats/h5_store.hpp"

#include <H5Cpp.h>

#include <algorithm>

#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/h5_read.hpp"
#include "flynet/formats/limits.hpp"

namespace flynet {

namespace {

constexpr const char* kFormatName = "flynet-model";
// Version 1 wrote variable-length strings; it is still read (see read_string_attr).
constexpr int kFormatVersion = 2;
constexpr int kMaxRank = 8;

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

// Version 2 stores fixed-length strings: they live inside the attribute's own record, where
// libhdf5 checks their size, unlike version 1's variable-length strings in the global heap.
void write_string_attr(H5::H5Object& obj, const std::string& key, const std::string& value) {
  H5::StrType type(H5::PredType::C_S1, std::max<size_t>(1, value.size()));
  type.setStrpad(H5T_STR_NULLPAD);
  type.setCset(H5T_CSET_UTF8);
  H5::Attribute a = obj.createAttribute(key, type, H5::DataSpace(H5S_SCALAR));
  std::string padded = value;
  padded.resize(type.getSize(), '\0');
  a.write(type, padded.data());
}

// One string attribute of either version.
std::string read_string_attr(hid_t obj, const std::string& key, const h5::Where& w, bool legacy) {
  if (!legacy || !h5::is_variable_string(obj, key, w))
    return h5::read_fixed_string(obj, key, limits::kModelStringBytes, w);
  const std::vector<std::string> v = h5::read_variable_strings(obj, key, 1, w);
  if (v.size() != 1) throw Error(ErrorCode::format, "attribute '" + key + "' of " + w.object + " is not one string", w.file);
  return v[0];
}

std::map<std::string, std::string> read_string_attrs(hid_t file, const std::string& group, const std::string& path,
                                                     bool legacy) {
  const h5::Where w{path, group};
  const h5::Handle g = h5::open_group(file, group.substr(1), {path, "/"});
  std::map<std::string, std::string> kv;
  for (const std::string& key : h5::attribute_names(g.get(), limits::kModelAttributes, w))
    kv[key] = read_string_attr(g.get(), key, w, legacy);
  return kv;
}

DType dtype_of(const h5::Dataset& d, const std::string& obj, const std::string& path) {
  if (d.type_class == H5T_FLOAT && d.type_size == 4) return DType::f32;
  if (d.type_class == H5T_INTEGER) {
    switch (d.type_size) {
      case 1: return d.is_signed ? DType::i8 : DType::u8;
      case 4: if (d.is_signed) return DType::i32; break;
      case 8: if (d.is_signed) return DType::i64; break;
    }
  }
  throw Error(ErrorCode::format, "'" + obj + "' has an unsupported element type", path);
}

TensorRecord read_tensor(hid_t tensors, const std::string& name, uint64_t file_bytes, const std::string& path) {
  const h5::Where w{path, "/tensors"};
  const std::string obj = "/tensors/" + name;
  // Bounded at the stored element size, which is the size read into once the type is accepted.
  const h5::Dataset d = h5::open_dataset(tensors, name, kMaxRank, 0, limits::kModelTensorBytes, file_bytes, w);
  TensorRecord t;
  t.name = name;
  t.dtype = dtype_of(d, obj, path);
  t.shape.assign(d.dims.begin(), d.dims.end());
  t.data.resize(size_t(d.elements) * dtype_size(t.dtype));
  h5::read_dataset(d, h5_type(t.dtype).getId(), t.data.data(), {path, obj});
  return t;
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

namespace {

// The model as the file holds it; runs inside h5::run_isolated.
ModelRecord read_model(const std::string& path) {
  const h5::Handle f = h5::open_file(path);
  const h5::Where root{path, "/"};
  const uint64_t file_bytes = h5::file_size(f.get(), root);
  auto root_attr = [&](const char* key, bool legacy) {
    if (!H5Aexists(f.get(), key)) {
      H5Eclear2(H5E_DEFAULT);
      throw Error(ErrorCode::format, "not a flynet model (no format=\"flynet-model\" attribute)", path);
    }
    return read_string_attr(f.get(), key, root, legacy);
  };
  const bool legacy = H5Aexists(f.get(), "version") > 0 && h5::is_variable_string(f.get(), "version", root);
  if (root_attr("format", legacy) != kFormatName)
    throw Error(ErrorCode::format, "not a flynet model (no format=\"flynet-model\" attribute)", path);
  const std::string version = root_attr("version", legacy);
  if (version != (legacy ? "1" : std::to_string(kFormatVersion)))
    throw Error(ErrorCode::format, "unsupported flynet model version " + version.substr(0, 32) +
                                       " (this build reads 1 and " + std::to_string(kFormatVersion) + ")", path);
  ModelRecord m;
  m.arch = read_string_attrs(f.get(), "/arch", path, legacy);
  m.meta = read_string_attrs(f.get(), "/meta", path, legacy);
  const h5::Handle tensors = h5::open_group(f.get(), "tensors", root);
  for (const std::string& name : h5::link_names(tensors.get(), limits::kModelTensors, {path, "/tensors"}))
    m.tensors.push_back(read_tensor(tensors.get(), name, file_bytes, path));
  return m;
}

std::string encode(const ModelRecord& m) {
  h5::ByteWriter w;
  for (const auto* kv : {&m.arch, &m.meta}) {
    w.u64(kv->size());
    for (const auto& [k, v] : *kv) {
      w.str(k);
      w.str(v);
    }
  }
  w.u64(m.tensors.size());
  for (const TensorRecord& t : m.tensors) {
    w.str(t.name);
    w.u64(uint64_t(t.dtype));
    w.u64(t.shape.size());
    for (int64_t d : t.shape) w.u64(uint64_t(d));
    w.str(std::string_view(reinterpret_cast<const char*>(t.data.data()), t.data.size()));
  }
  return w.take();
}

ModelRecord decode(const std::string& bytes, const std::string& path) {
  h5::ByteReader r(bytes, path);
  ModelRecord m;
  for (auto* kv : {&m.arch, &m.meta})
    for (uint64_t n = r.u64(); n > 0; --n) {
      std::string k = r.str();
      (*kv)[k] = r.str();
    }
  for (uint64_t n = r.u64(); n > 0; --n) {
    TensorRecord t;
    t.name = r.str();
    t.dtype = DType(r.u64());
    for (uint64_t k = r.u64(); k > 0; --k) t.shape.push_back(int64_t(r.u64()));
    const std::string data = r.str();
    t.data.assign(data.begin(), data.end());
    m.tensors.push_back(std::move(t));
  }
  return m;
}

}  // namespace

ModelRecord load_model_h5(const std::string& path) {
  return decode(h5::run_isolated([&] { return encode(read_model(path)); }, path), path);
}

}  // namespace flynet
