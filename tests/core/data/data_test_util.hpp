// Helpers for the data tests: temp directories, raw files, error assertions.
#ifndef FLYNET_TESTS_CORE_DATA_DATA_TEST_UTIL_HPP_
#define FLYNET_TESTS_CORE_DATA_DATA_TEST_UTIL_HPP_

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "flynet/core/data.hpp"
#include "flynet/formats/error.hpp"

namespace flynet::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "flynet_data_XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

inline void put_be32(std::vector<uint8_t>& b, uint32_t v) {
  b.push_back(uint8_t(v >> 24));
  b.push_back(uint8_t(v >> 16));
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}

/// Runs f and expects a flynet::Error with exactly this code, message and file.
template <class F>
void expect_error(F&& f, ErrorCode code, const std::string& what, const std::string& file) {
  try {
    f();
    ADD_FAILURE() << "no error thrown; expected: " << what;
  } catch (const Error& e) {
    EXPECT_EQ(e.what(), what);
    EXPECT_EQ(e.file(), file);
    EXPECT_EQ(int(e.code()), int(code)) << e.message();
  }
}

/// The shape an opened split reports: samples, image h x w x c, classes (one comparison, printed
/// whole when it fails).
struct InfoShape {
  int64_t size;
  int h, w, c, classes;
  bool operator==(const InfoShape&) const = default;
};
inline InfoShape shape_of(const DatasetInfo& i) { return {i.size, i.h, i.w, i.c, i.classes}; }
inline std::ostream& operator<<(std::ostream& o, const InfoShape& s) {
  return o << s.size << " samples of " << s.h << "x" << s.w << "x" << s.c << ", " << s.classes << " classes";
}

/// Reads every sample of a dataset: (pixels, labels).
inline DatasetArrays read_all(const Dataset& d) {
  DatasetArrays a;
  a.h = d.info().h;
  a.w = d.info().w;
  a.c = d.info().c;
  const size_t n = size_t(a.h) * a.w * a.c;
  a.images.resize(n * size_t(d.info().size));
  for (int64_t i = 0; i < d.info().size; ++i) a.labels.push_back(d.get(i, a.images.data() + size_t(i) * n));
  return a;
}

/// Naive per-channel mean/std of pixel/255 in double, two passes.
inline void naive_stats(const std::vector<uint8_t>& px, int c, std::vector<double>& mean, std::vector<double>& sd) {
  const size_t n = px.size() / size_t(c);
  mean.assign(size_t(c), 0.0);
  sd.assign(size_t(c), 0.0);
  for (size_t i = 0; i < n; ++i)
    for (int k = 0; k < c; ++k) mean[size_t(k)] += px[i * size_t(c) + size_t(k)] / 255.0;
  for (double& m : mean) m /= double(n);
  for (size_t i = 0; i < n; ++i)
    for (int k = 0; k < c; ++k) {
      const double d = px[i * size_t(c) + size_t(k)] / 255.0 - mean[size_t(k)];
      sd[size_t(k)] += d * d;
    }
  for (double& s : sd) s = std::sqrt(s / double(n));
}

}  // namespace flynet::test

#endif  // FLYNET_TESTS_CORE_DATA_DATA_TEST_UTIL_HPP_
