#include "flynet/formats/h5_store.hpp"

#include <H5Cpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("flynet_h5_test_" + name)).string();
}

ModelRecord sample() {
  ModelRecord m;
  m.arch = {{"arch", "flynet"}, {"width", "0.5"}};
  m.meta = {{"note", "héllo"}, {"empty", ""}};
  const float f[6] = {1.5f, -2.f, 0.f, 3.25f, -0.f, 1e-30f};
  m.tensors.push_back(TensorRecord::from_f32("a.weight", {2, 3}, f));
  m.tensors.push_back(TensorRecord{"codes", DType::i8, {4}, {0x80, 0xff, 0x00, 0x7f}});
  m.tensors.push_back(TensorRecord{"bias", DType::i32, {1}, {0x01, 0x02, 0x03, 0x84}});
  m.tensors.push_back(TensorRecord{"pixels", DType::u8, {2, 1}, {0, 255}});
  m.tensors.push_back(TensorRecord{"big", DType::i64, {1}, {1, 2, 3, 4, 5, 6, 7, 0x80}});
  m.tensors.push_back(TensorRecord{"none", DType::f32, {0}, {}});
  return m;
}

TEST(H5Store, RoundTripKeepsEveryByteAndName) {
  const std::string path = temp_path("roundtrip.h5");
  const ModelRecord m = sample();
  save_model_h5(m, path);
  ModelRecord back = load_model_h5(path);
  // HDF5 lists datasets by name; compare as a name-sorted set.
  auto by_name = [](const TensorRecord& a, const TensorRecord& b) { return a.name < b.name; };
  ModelRecord want = m;
  std::sort(want.tensors.begin(), want.tensors.end(), by_name);
  std::sort(back.tensors.begin(), back.tensors.end(), by_name);
  EXPECT_EQ(back, want);
  std::filesystem::remove(path);
}

TEST(H5Store, MissingFile) {
  try {
    load_model_h5("/nonexistent/m.h5");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "no such file (/nonexistent/m.h5)");
    EXPECT_EQ(e.code(), ErrorCode::io);
  }
}

TEST(H5Store, NotHdf5) {
  const std::string path = temp_path("text.h5");
  write_bytes_atomically(path, "this is not a model\n");
  try {
    load_model_h5(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "not an HDF5 file (" + path + ")");
    EXPECT_EQ(e.code(), ErrorCode::format);
  }
  std::filesystem::remove(path);
}

TEST(H5Store, EveryTruncationIsRejectedCleanly) {
  const std::string path = temp_path("full.h5");
  save_model_h5(sample(), path);
  const std::string bytes = read_file_bytes(path);
  const std::string cut = temp_path("cut.h5");
  // Step through the file; every prefix must give an Error, never a crash or a wrong model.
  for (size_t n = 0; n < bytes.size(); n += std::max<size_t>(1, bytes.size() / 97)) {
    write_bytes_atomically(cut, std::string_view(bytes).substr(0, n));
    EXPECT_THROW(load_model_h5(cut), Error) << "prefix of " << n << " bytes";
  }
  std::filesystem::remove(cut);
  std::filesystem::remove(path);
}

TEST(H5Store, HdfFileWithoutFlynetMarker) {
  const std::string path = temp_path("other.h5");
  ModelRecord m = sample();
  save_model_h5(m, path);
  // Re-save under a different format marker by writing a plain HDF5 file through the store's
  // own path is not possible; instead check the version guard with an edited copy.
  std::string bytes = read_file_bytes(path);
  const std::string marker = "flynet-model";
  const size_t at = bytes.find(marker);
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'g';
  write_bytes_atomically(path, bytes);
  EXPECT_THROW(load_model_h5(path), Error);
  std::filesystem::remove(path);
}

TEST(H5Store, FailedWriteLeavesNoFile) {
  const std::string path = temp_path("bad.h5");
  std::filesystem::remove(path);
  ModelRecord m = sample();
  m.tensors[0].name = "has/slash";
  EXPECT_THROW(save_model_h5(m, path), Error);
  EXPECT_FALSE(std::filesystem::exists(path));
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::temp_directory_path()))
    EXPECT_EQ(e.path().filename().string().find("flynet_h5_test_bad.h5.tmp"), std::string::npos);
}

TEST(H5Store, DirectoryIsAnIoError) {
  const std::string dir = temp_path("dir.h5");
  std::filesystem::create_directories(dir);
  try {
    load_model_h5(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "not a regular file (" + dir + ")");
    EXPECT_EQ(e.code(), ErrorCode::io);
  }
  std::filesystem::remove(dir);
}

// A version 1 file as flynet wrote it before: variable-length string attributes.
void write_version1(const ModelRecord& m, const std::string& path) {
  H5::H5File f(path, H5F_ACC_TRUNC);
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  type.setCset(H5T_CSET_UTF8);
  auto put = [&](H5::H5Object& o, const std::string& k, const std::string& v) {
    o.createAttribute(k, type, H5::DataSpace(H5S_SCALAR)).write(type, v);
  };
  H5::Group root = f.openGroup("/");
  put(root, "format", "flynet-model");
  put(root, "version", "1");
  H5::Group arch = f.createGroup("/arch"), meta = f.createGroup("/meta"), tensors = f.createGroup("/tensors");
  for (const auto& [k, v] : m.arch) put(arch, k, v);
  for (const auto& [k, v] : m.meta) put(meta, k, v);
  const TensorRecord& t = m.tensors[0];  // f32 {2, 3}
  const hsize_t d[2] = {2, 3};
  tensors.createDataSet(t.name, H5::PredType::NATIVE_FLOAT, H5::DataSpace(2, d))
      .write(t.data.data(), H5::PredType::NATIVE_FLOAT);
}

TEST(H5Store, Version1FilesStillRead) {
  const std::string path = temp_path("v1.h5");
  ModelRecord m = sample();
  m.tensors.resize(1);
  write_version1(m, path);
  EXPECT_EQ(load_model_h5(path), m);
  // Its strings live in the global heap ("GCOL"): a damaged heap is an error, never a crash.
  std::string bytes = read_file_bytes(path);
  const size_t at = bytes.find("GCOL");
  ASSERT_NE(at, std::string::npos);
  for (size_t k = at + 8; k < at + 24; ++k) bytes[k] = char(0xff);  // the collection size
  write_bytes_atomically(path, bytes);
  try {
    load_model_h5(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::format);
    EXPECT_EQ(e.file(), path);
  }
  std::filesystem::remove(path);
}

// A model whose one tensor is declared `dims` of `type` but never written.
void write_declared(const std::string& path, std::vector<hsize_t> dims, const H5::PredType& type) {
  ModelRecord m;
  save_model_h5(m, path);
  H5::H5File f(path, H5F_ACC_RDWR);
  f.openGroup("/tensors").createDataSet("big", type, H5::DataSpace(int(dims.size()), dims.data()));
}

TEST(H5Store, DeclaredTensorSizesAreBoundedBeforeReading) {
  const std::string path = temp_path("big.h5");
  auto message = [&] {
    try {
      load_model_h5(path);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::format);
      return e.message();
    }
    return std::string("no error");
  };
  write_declared(path, {hsize_t(1) << 31}, H5::PredType::NATIVE_FLOAT);  // 2^31 floats: 8 GiB
  EXPECT_EQ(message(), "'/tensors/big' declares 8589934592 bytes, above the limit of 1073741824 (" + path + ")");
  write_declared(path, {hsize_t(1) << 33}, H5::PredType::NATIVE_UINT8);  // 2^33 bytes
  EXPECT_EQ(message(), "'/tensors/big' declares 8589934592 bytes, above the limit of 1073741824 (" + path + ")");
  write_declared(path, {1 << 14, 1 << 14}, H5::PredType::NATIVE_FLOAT);  // 1 GiB: the limit, not in the file
  EXPECT_EQ(message(), "'/tensors/big' declares 1073741824 bytes that are not inside the file (" +
                           std::to_string(std::filesystem::file_size(path)) + " bytes) (" + path + ")");
  std::filesystem::remove(path);
}

TEST(H5Store, WritesVersion2WithFixedLengthStrings) {
  const std::string path = temp_path("v2.h5");
  save_model_h5(sample(), path);
  H5::H5File f(path, H5F_ACC_RDONLY);
  H5::Attribute v = f.openGroup("/").openAttribute("version");
  EXPECT_FALSE(v.getStrType().isVariableStr());
  std::string s;
  v.read(v.getStrType(), s);
  EXPECT_EQ(s, "2");
  EXPECT_FALSE(f.openGroup("/meta").openAttribute("note").getStrType().isVariableStr());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace flynet
