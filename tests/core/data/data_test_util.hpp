// Helpers for the data tests: temp directories, raw files, error assertions.
#ifndef FLYNET_TESTS_CORE_DATA_DATA_TEST_UTIL_HPP_
#define FLYNET_TESTS_CORE_DATA_DATA_TEST_UTIL_HPP_

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FLYNET_TEST_HAS_ASAN 1
#endif
#endif
#ifndef FLYNET_TEST_HAS_ASAN
#define FLYNET_TEST_HAS_ASAN 0
#endif

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

/// Runs f in a child process whose address space is limited to `mib` MiB and returns the
/// message of the flynet::Error it throws ("no error" if none, "out of memory" or "crashed"
/// otherwise). Sanitizer builds reserve terabytes of shadow memory, so there the child runs
/// without the limit (the message is still checked). f must not start threads.
template <class F>
std::string error_within_memory(F&& f, uint64_t mib) {
  int fds[2];
  if (pipe(fds) != 0) return "no pipe";
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
#if !defined(__SANITIZE_ADDRESS__) && !FLYNET_TEST_HAS_ASAN
    const rlimit lim{mib << 20, mib << 20};
    setrlimit(RLIMIT_AS, &lim);
#else
    (void)mib;
#endif
    std::string msg = "no error";
    try {
      f();
    } catch (const Error& e) {
      msg = e.message();
    } catch (const std::bad_alloc&) {
      msg = "out of memory";
    }
    if (write(fds[1], msg.data(), msg.size()) < 0) _exit(2);
    _exit(0);
  }
  close(fds[1]);
  std::string msg;
  char buf[512];
  for (ssize_t r; (r = read(fds[0], buf, sizeof buf)) > 0;) msg.append(buf, size_t(r));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? msg : "crashed";
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
