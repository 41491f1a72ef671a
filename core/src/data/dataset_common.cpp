// MemoryDataset, statistics, subsets and validation splits.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>

#include "data_internal.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {
namespace data_detail {

int32_t MemoryDataset::get(int64_t i, uint8_t* pixels) const {
  const size_t n = size_t(info_.h) * info_.w * info_.c;
  std::memcpy(pixels, a_.images.data() + size_t(i) * n, n);
  return a_.labels[size_t(i)];
}

ChannelStats stats_of(const std::vector<uint8_t>& images, int c) {
  // Integer sums are exact (255^2 * 2^40 still fits in 64 bits), so the result does not depend on
  // summation order and matches a naive double loop to float precision.
  std::vector<uint64_t> s(size_t(c), 0), ss(size_t(c), 0);
  const size_t n = images.size() / size_t(c);
  for (size_t i = 0; i < n; ++i)
    for (int k = 0; k < c; ++k) {
      const uint64_t v = images[i * size_t(c) + size_t(k)];
      s[size_t(k)] += v;
      ss[size_t(k)] += v * v;
    }
  ChannelStats st;
  for (int k = 0; k < c; ++k) {
    const double m = n ? double(s[size_t(k)]) / (255.0 * double(n)) : 0.0;
    const double m2 = n ? double(ss[size_t(k)]) / (255.0 * 255.0 * double(n)) : 0.0;
    st.mean.push_back(float(m));
    st.std.push_back(float(std::sqrt(std::max(0.0, m2 - m * m))));
  }
  return st;
}

std::vector<std::string> read_names_file(const std::string& path) {
  std::vector<std::string> names;
  std::ifstream f(path);
  if (!f) return names;
  std::string line;
  while (std::getline(f, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  return names;
}

DatasetPair make_pair(DatasetArrays train, DatasetArrays test, const std::string& source,
                      std::vector<std::string> class_names, bool flip_ok, const std::string& train_file,
                      const std::string& test_file, int classes) {
  if (train.size() == 0) throw Error(ErrorCode::format, "no samples in the train split", train_file);
  if (test.size() == 0) throw Error(ErrorCode::format, "no samples in the test split", test_file);
  if (classes <= 0 && !class_names.empty()) classes = int(class_names.size());
  const bool derived = classes <= 0;
  if (derived) {
    int32_t mx = 0;
    for (int32_t l : train.labels) mx = std::max(mx, l);
    classes = std::max(2, mx + 1);
  }
  auto check = [&](const DatasetArrays& a, const std::string& file, bool is_test) {
    for (size_t i = 0; i < a.labels.size(); ++i) {
      const int32_t l = a.labels[i];
      if (l < 0) throw Error(ErrorCode::format, "negative label " + std::to_string(l) + " at index " + std::to_string(i), file);
      if (l >= classes) {
        if (is_test && derived)
          throw Error(ErrorCode::format,
                      "test label " + std::to_string(l) + " at index " + std::to_string(i) + " is not one of the " +
                          std::to_string(classes) + " train classes",
                      file);
        throw Error(ErrorCode::format,
                    "label " + std::to_string(l) + " at index " + std::to_string(i) + " is out of range for " +
                        std::to_string(classes) + " classes",
                    file);
      }
    }
  };
  check(train, train_file, false);
  check(test, test_file, true);
  if (!class_names.empty() && int(class_names.size()) != classes)
    throw Error(ErrorCode::format,
                std::to_string(class_names.size()) + " class names for " + std::to_string(classes) + " classes", source);
  if (test.h != train.h || test.w != train.w || test.c != train.c)
    throw Error(ErrorCode::format,
                "test images are " + std::to_string(test.h) + "x" + std::to_string(test.w) + "x" + std::to_string(test.c) +
                    ", train images are " + std::to_string(train.h) + "x" + std::to_string(train.w) + "x" +
                    std::to_string(train.c),
                test_file);

  DatasetInfo info;
  info.source = source;
  info.h = train.h;
  info.w = train.w;
  info.c = train.c;
  info.classes = classes;
  info.class_names = std::move(class_names);
  info.flip_ok = flip_ok;
  const ChannelStats st = stats_of(train.images, train.c);
  info.mean = st.mean;
  info.std = st.std;

  DatasetInfo ti = info;
  info.size = train.size();
  ti.size = test.size();
  DatasetPair p;
  p.train = std::make_shared<MemoryDataset>(std::move(train), std::move(info));
  p.test = std::make_shared<MemoryDataset>(std::move(test), std::move(ti));
  return p;
}

std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), int64_t(0));
  uint64_t state = mix64(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    state = mix64(state);
    const int64_t j = int64_t(bounded(state, uint64_t(i) + 1));
    std::swap(p[size_t(i)], p[size_t(j)]);
  }
  return p;
}

namespace {

class SubsetDataset final : public Dataset {
 public:
  SubsetDataset(std::shared_ptr<const Dataset> base, std::vector<int64_t> idx)
      : base_(std::move(base)), idx_(std::move(idx)), info_(base_->info()) {
    info_.size = int64_t(idx_.size());
  }
  const DatasetInfo& info() const override { return info_; }
  int32_t get(int64_t i, uint8_t* pixels) const override { return base_->get(idx_[size_t(i)], pixels); }

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<int64_t> idx_;
  DatasetInfo info_;
};

}  // namespace
}  // namespace data_detail

using namespace data_detail;

ChannelStats channel_stats(const Dataset& d) {
  const DatasetInfo& info = d.info();
  const size_t n = size_t(info.h) * info.w * info.c;
  std::vector<uint8_t> all(n * size_t(info.size));
  for (int64_t i = 0; i < info.size; ++i) d.get(i, all.data() + size_t(i) * n);
  return stats_of(all, info.c);
}

std::shared_ptr<const Dataset> memory_dataset(DatasetArrays a, std::string source, int classes,
                                              const Dataset* stats_from) {
  if (a.h <= 0 || a.w <= 0 || a.c <= 0 ||
      a.images.size() != size_t(a.h) * size_t(a.w) * size_t(a.c) * a.labels.size())
    throw Error(ErrorCode::shape,
                "images hold " + std::to_string(a.images.size()) + " bytes, expected " + std::to_string(a.labels.size()) +
                    " x " + std::to_string(a.h) + "x" + std::to_string(a.w) + "x" + std::to_string(a.c),
                source);
  DatasetInfo info;
  info.source = std::move(source);
  info.h = a.h;
  info.w = a.w;
  info.c = a.c;
  info.size = a.size();
  int32_t mx = 0;
  for (int32_t l : a.labels) {
    if (l < 0) throw Error(ErrorCode::format, "negative label " + std::to_string(l), info.source);
    mx = std::max(mx, l);
  }
  info.classes = classes > 0 ? classes : std::max(2, mx + 1);
  if (mx >= info.classes)
    throw Error(ErrorCode::format,
                "label " + std::to_string(mx) + " is out of range for " + std::to_string(info.classes) + " classes",
                info.source);
  if (stats_from) {
    info.mean = stats_from->info().mean;
    info.std = stats_from->info().std;
  } else {
    const ChannelStats st = stats_of(a.images, a.c);
    info.mean = st.mean;
    info.std = st.std;
  }
  return std::make_shared<MemoryDataset>(std::move(a), std::move(info));
}

std::shared_ptr<const Dataset> subset(std::shared_ptr<const Dataset> base, const std::vector<int64_t>& indices) {
  const int64_t n = base->info().size;
  for (int64_t i : indices)
    if (i < 0 || i >= n)
      throw Error(ErrorCode::usage,
                  "subset index " + std::to_string(i) + " is out of range for " + std::to_string(n) + " samples",
                  base->info().source);
  return std::make_shared<SubsetDataset>(std::move(base), indices);
}

DatasetPair split_validation(std::shared_ptr<const Dataset> base, double fraction, uint64_t seed) {
  const int64_t n = base->info().size;
  if (!(fraction > 0.0 && fraction < 1.0))
    throw Error(ErrorCode::usage, "validation fraction must be in (0, 1), got " + std::to_string(fraction));
  const int64_t nv = std::llround(fraction * double(n));
  if (nv < 1 || nv >= n)
    throw Error(ErrorCode::usage,
                "validation fraction " + std::to_string(fraction) + " of " + std::to_string(n) +
                    " samples leaves an empty split",
                base->info().source);
  std::vector<int64_t> p = permutation(n, mix64(seed, 0x76616c6964ull));  // "valid": apart from shuffles
  // Sorted, so each part reads its base in order (locality); the loader shuffles anyway.
  std::vector<int64_t> val(p.begin(), p.begin() + nv), tr(p.begin() + nv, p.end());
  std::sort(val.begin(), val.end());
  std::sort(tr.begin(), tr.end());
  DatasetPair out;
  out.train = subset(base, tr);
  out.test = subset(std::move(base), val);
  return out;
}

}  // namespace flynet
