// CIFAR-10/100 binary batches. A record is the label byte(s) then 3072 bytes of 32x32 pixels as
// three planes R, G, B (CHW); they are stored here as HWC like every other reader's output.
//   CIFAR-10:  data_batch_<k>.bin, test_batch.bin; record = label, 3072 pixels; names in
//              batches.meta.txt.
//   CIFAR-100: train.bin, test.bin; record = coarse label, fine label, 3072 pixels; the fine
//              labels (100 classes) are used; names in fine_label_names.txt.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "data_internal.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/limits.hpp"

namespace flynet::data_detail {
namespace {

namespace fs = std::filesystem;

constexpr int kSide = 32;
constexpr size_t kPixels = 3 * kSide * kSide;

void append_batch(const std::string& path, int label_bytes, int classes, DatasetArrays& a) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::io, "cannot open CIFAR batch", path);
  // The split holds the file's pixels: bound the whole split before reading the file.
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) throw Error(ErrorCode::io, "cannot read the size of CIFAR batch", path);
  limits::check("CIFAR split with this batch", a.images.size() + size, limits::kDatasetBytes, "bytes", path);
  std::vector<uint8_t> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t rec = size_t(label_bytes) + kPixels;
  if (raw.empty() || raw.size() % rec != 0)
    throw Error(ErrorCode::format,
                "truncated CIFAR batch: " + std::to_string(raw.size()) + " bytes is not a whole number of " +
                    std::to_string(rec) + "-byte records",
                path);
  const size_t n = raw.size() / rec, base = a.labels.size();
  a.labels.resize(base + n);
  a.images.resize((base + n) * kPixels);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* r = raw.data() + i * rec;
    const int label = r[label_bytes - 1];  // CIFAR-100: the fine label follows the coarse one
    if (label >= classes)
      throw Error(ErrorCode::format,
                  "label " + std::to_string(label) + " of record " + std::to_string(i) + " is out of range for " +
                      std::to_string(classes) + " classes",
                  path);
    a.labels[base + i] = label;
    const uint8_t* planes = r + label_bytes;
    uint8_t* out = a.images.data() + (base + i) * kPixels;
    for (size_t p = 0; p < size_t(kSide * kSide); ++p)
      for (size_t ch = 0; ch < 3; ++ch) out[p * 3 + ch] = planes[ch * kSide * kSide + p];
  }
}

DatasetArrays empty_arrays() {
  DatasetArrays a;
  a.h = a.w = kSide;
  a.c = 3;
  return a;
}

std::vector<std::string> names_checked(const std::string& path, int classes) {
  std::vector<std::string> names = read_names_file(path);
  if (!names.empty() && int(names.size()) != classes)
    throw Error(ErrorCode::format,
                std::to_string(names.size()) + " class names for " + std::to_string(classes) + " classes", path);
  return names;
}

}  // namespace

DatasetPair open_cifar_dir(const std::string& dir_in) {
  // The archives unpack into cifar-10-batches-bin/ and cifar-100-binary/: accept their parent too.
  std::string dir = dir_in;
  for (const char* sub : {"cifar-10-batches-bin", "cifar-100-binary"})
    if (fs::is_directory(fs::path(dir_in) / sub)) dir = (fs::path(dir_in) / sub).string();
  const fs::path d(dir);
  std::error_code ec;

  std::vector<std::pair<int, std::string>> batches;  // CIFAR-10 train batches by number
  for (const fs::directory_entry& e : fs::directory_iterator(d, ec)) {
    const std::string name = e.path().filename().string();
    const std::string pre = "data_batch_", suf = ".bin";
    if (name.size() > pre.size() + suf.size() && name.rfind(pre, 0) == 0 &&
        name.compare(name.size() - suf.size(), suf.size(), suf) == 0) {
      const std::string num = name.substr(pre.size(), name.size() - pre.size() - suf.size());
      if (!num.empty() && num.size() < 6 && std::all_of(num.begin(), num.end(), ::isdigit))
        batches.emplace_back(std::stoi(num), e.path().string());
    }
  }
  if (!batches.empty()) {
    std::sort(batches.begin(), batches.end());  // numeric: data_batch_2 before data_batch_10
    const std::string test = (d / "test_batch.bin").string();
    if (!fs::exists(test)) throw Error(ErrorCode::io, "missing CIFAR-10 test batch", test);
    DatasetArrays tr = empty_arrays(), te = empty_arrays();
    for (const auto& [k, p] : batches) append_batch(p, 1, 10, tr);
    append_batch(test, 1, 10, te);
    return make_pair(std::move(tr), std::move(te), dir, names_checked((d / "batches.meta.txt").string(), 10),
                     /*flip_ok=*/true, batches.front().second, test, 10);
  }

  const std::string train100 = (d / "train.bin").string(), test100 = (d / "test.bin").string();
  if (fs::exists(train100) || fs::exists(test100)) {
    if (!fs::exists(train100)) throw Error(ErrorCode::io, "missing CIFAR-100 train file", train100);
    if (!fs::exists(test100)) throw Error(ErrorCode::io, "missing CIFAR-100 test file", test100);
    DatasetArrays tr = empty_arrays(), te = empty_arrays();
    append_batch(train100, 2, 100, tr);
    append_batch(test100, 2, 100, te);
    return make_pair(std::move(tr), std::move(te), dir, names_checked((d / "fine_label_names.txt").string(), 100),
                     /*flip_ok=*/true, train100, test100, 100);
  }
  if (fs::exists(d / "test_batch.bin"))
    throw Error(ErrorCode::io, "missing CIFAR-10 train batches (data_batch_1.bin, ...)", dir);
  return {};
}

}  // namespace flynet::data_detail
