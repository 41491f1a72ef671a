// MNIST-style idx files (Fashion-MNIST, MNIST, EMNIST), plain or gzip-compressed.
// Format: big-endian uint32 magic 0x00000803 (uint8, 3 dims) then N, H, W, then N*H*W pixels;
// labels: magic 0x00000801, N, then N bytes.
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <map>

#include "data_internal.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/limits.hpp"

namespace flynet::data_detail {
namespace {

namespace fs = std::filesystem;

// gzopen/gzread read plain files transparently, so one code path serves both kinds.
class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path), f_(gzopen(path.c_str(), "rb")) {
    if (!f_) throw Error(ErrorCode::io, "cannot open idx file", path);
    gzbuffer(f_, 1 << 18);
  }
  ~GzFile() { gzclose(f_); }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  /// Reads up to n bytes; returns how many were read (fewer at end of data).
  size_t read(uint8_t* dst, size_t n) {
    size_t got = 0;
    while (got < n) {
      const unsigned chunk = unsigned(std::min<size_t>(n - got, size_t(1) << 30));
      const int r = gzread(f_, dst + got, chunk);
      if (r < 0) {
        int code = 0;
        std::string msg = gzerror(f_, &code);
        // zlib prefixes the path ("path: invalid block type"); the Error names the file already.
        if (msg.rfind(path_ + ": ", 0) == 0) msg.erase(0, path_.size() + 2);
        throw Error(ErrorCode::format, "corrupt gzip data: " + msg, path_);
      }
      if (r == 0) break;
      got += size_t(r);
    }
    return got;
  }

 private:
  std::string path_;
  gzFile f_;
};

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

// n bytes of payload, then the end of the data. The buffer grows with the bytes actually read
// (doubling from 64 KiB, at most 64 MiB at a time), so a header that overstates its count fails
// as truncated having allocated about twice what the file holds, never what it claims.
std::vector<uint8_t> read_payload(GzFile& f, const std::string& path, uint64_t n, const char* what) {
  constexpr size_t kFirst = size_t(1) << 16, kChunk = size_t(1) << 26;
  std::vector<uint8_t> out;
  while (out.size() < n) {
    const size_t at = out.size(), step = std::clamp(at, kFirst, kChunk);
    const size_t chunk = size_t(std::min<uint64_t>(n - at, step));
    out.resize(at + chunk);
    const size_t got = f.read(out.data() + at, chunk);
    if (got != chunk)
      throw Error(ErrorCode::format,
                  "truncated idx file: expected " + std::to_string(n) + " bytes of " + what + ", got " +
                      std::to_string(at + got),
                  path);
  }
  uint8_t extra = 0;
  if (f.read(&extra, 1) != 0)
    throw Error(ErrorCode::format, std::string("idx file has data after its ") + what, path);
  return out;
}

DatasetArrays read_idx_images(const std::string& path) {
  GzFile f(path);
  uint8_t hdr[16];
  const size_t got = f.read(hdr, 16);
  if (got < 4 || be32(hdr) != 0x00000803u)
    throw Error(ErrorCode::format,
                "not an idx image file: magic " + (got >= 4 ? hex32(be32(hdr)) : std::string("missing")) +
                    ", expected 0x00000803",
                path);
  if (got < 16)
    throw Error(ErrorCode::format, "truncated idx file: expected 16 header bytes, got " + std::to_string(got), path);
  const uint32_t n = be32(hdr + 4), h = be32(hdr + 8), w = be32(hdr + 12);
  if (h == 0 || w == 0 || h > limits::kImageSide || w > limits::kImageSide)
    throw Error(ErrorCode::format,
                "bad idx image size " + std::to_string(h) + "x" + std::to_string(w) + " (1.." +
                    std::to_string(limits::kImageSide) + " per side)",
                path);
  limits::check("idx image header", uint64_t(n) * h * w, limits::kDatasetBytes, "pixel bytes", path);
  DatasetArrays a;
  a.h = int(h);
  a.w = int(w);
  a.c = 1;
  a.images = read_payload(f, path, uint64_t(n) * h * w, "pixels");
  a.labels.resize(n);  // filled by the caller from the label file
  return a;
}

// The labels of `images` images: a header that declares another count fails before any read.
std::vector<int32_t> read_idx_labels(const std::string& path, size_t images) {
  GzFile f(path);
  uint8_t hdr[8];
  const size_t got = f.read(hdr, 8);
  if (got < 4 || be32(hdr) != 0x00000801u)
    throw Error(ErrorCode::format,
                "not an idx label file: magic " + (got >= 4 ? hex32(be32(hdr)) : std::string("missing")) +
                    ", expected 0x00000801",
                path);
  if (got < 8)
    throw Error(ErrorCode::format, "truncated idx file: expected 8 header bytes, got " + std::to_string(got), path);
  const uint32_t n = be32(hdr + 4);
  if (n != images)
    throw Error(ErrorCode::format,
                "idx label count " + std::to_string(n) + " does not match image count " + std::to_string(images), path);
  const std::vector<uint8_t> raw = read_payload(f, path, n, "labels");
  return std::vector<int32_t>(raw.begin(), raw.end());
}

enum Role { kTrainImages, kTrainLabels, kTestImages, kTestLabels };
constexpr std::array<const char*, 4> kRoleName = {"train images", "train labels", "test images", "test labels"};
constexpr std::array<const char*, 4> kRoleExample = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                                     "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

const std::vector<std::string> kFashionNames = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

}  // namespace

DatasetPair open_idx_dir(const std::string& dir) {
  // Role from the name: "...idx3-ubyte" images / "...idx1-ubyte" labels, "train" vs "t10k"/"test".
  // Prefixes are allowed (EMNIST's "emnist-letters-train-images-idx3-ubyte"); a plain file wins
  // over its .gz twin because it reads faster.
  std::array<std::map<std::string, std::string>, 4> found;  // base name -> path
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec)) continue;
    const std::string name = e.path().filename().string();
    const bool gz = ends_with(name, ".gz");
    const std::string base = gz ? name.substr(0, name.size() - 3) : name;
    int role = -1;
    const bool train = base.find("train") != std::string::npos;
    const bool test = base.find("t10k") != std::string::npos || base.find("test") != std::string::npos;
    if (train == test) continue;
    if (ends_with(base, "idx3-ubyte")) role = train ? kTrainImages : kTestImages;
    if (ends_with(base, "idx1-ubyte")) role = train ? kTrainLabels : kTestLabels;
    if (role < 0) continue;
    auto [it, fresh] = found[size_t(role)].emplace(base, e.path().string());
    if (!fresh && !gz) it->second = e.path().string();
  }
  bool any = false;
  for (const auto& f : found) any = any || !f.empty();
  if (!any) return {};
  std::array<std::string, 4> path;
  for (size_t r = 0; r < 4; ++r) {
    if (found[r].empty())
      throw Error(ErrorCode::io,
                  std::string("missing idx file for ") + kRoleName[r] + " (e.g. " + kRoleExample[r] + ")", dir);
    if (found[r].size() > 1) {
      std::string names;
      for (const auto& [b, p] : found[r]) names += (names.empty() ? "" : ", ") + b;
      throw Error(ErrorCode::format, std::string("several idx files for ") + kRoleName[r] + ": " + names, dir);
    }
    path[r] = found[r].begin()->second;
  }

  DatasetArrays train = read_idx_images(path[kTrainImages]);
  DatasetArrays test = read_idx_images(path[kTestImages]);
  if (test.h != train.h || test.w != train.w)
    throw Error(ErrorCode::format,
                "test images are " + std::to_string(test.h) + "x" + std::to_string(test.w) + ", train images are " +
                    std::to_string(train.h) + "x" + std::to_string(train.w),
                path[kTestImages]);
  for (int split = 0; split < 2; ++split) {
    DatasetArrays& a = split ? test : train;
    const std::string& lp = path[split ? kTestLabels : kTrainLabels];
    a.labels = read_idx_labels(lp, a.labels.size());
  }

  std::vector<std::string> names = read_names_file((fs::path(dir) / "class_names.txt").string());
  if (names.empty()) {
    // Fashion-MNIST has the same file names as MNIST; the directory name tells them apart
    // (Debian installs it as /usr/share/datasets/fashion-mnist).
    std::string lower = fs::absolute(fs::path(dir)).lexically_normal().string();
    for (char& ch : lower) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    const int32_t mx = train.labels.empty() ? 0 : *std::max_element(train.labels.begin(), train.labels.end());
    if (lower.find("fashion") != std::string::npos && mx == 9) names = kFashionNames;
  }
  return make_pair(std::move(train), std::move(test), dir, std::move(names), /*flip_ok=*/false,
                   path[kTrainLabels], path[kTestLabels]);
}

}  // namespace flynet::data_detail
