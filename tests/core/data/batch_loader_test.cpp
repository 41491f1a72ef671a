// BatchLoader: coverage per epoch, batch counts, normalisation, augmentation geometry against a
// naive crop/flip, determinism across thread counts, cancellation.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "data_test_util.hpp"

namespace flynet::test {
namespace {

// n samples of h x w x c; sample i has label i and pixel (i + y*w*c + x*c + ch) % 256.
std::shared_ptr<const Dataset> numbered(int n, int h, int w, int c) {
  DatasetArrays a;
  a.h = h;
  a.w = w;
  a.c = c;
  for (int i = 0; i < n; ++i) {
    a.labels.push_back(i);
    for (int k = 0; k < h * w * c; ++k) a.images.push_back(uint8_t((i + k) % 256));
  }
  return memory_dataset(std::move(a), "numbered", n);
}

std::vector<Batch> epoch_batches(BatchLoader& l, int epoch) {
  std::vector<Batch> out;
  l.start_epoch(epoch);
  Batch b;
  while (l.next(b)) out.push_back(b);
  return out;
}

TEST(BatchLoader, EverySampleOncePerEpoch) {
  auto d = numbered(103, 2, 2, 1);
  LoaderOptions o;
  o.batch = 10;
  BatchLoader l(d, o);
  EXPECT_EQ(l.batches_per_epoch(), 11);
  for (int e = 0; e < 3; ++e) {
    std::vector<Batch> bs = epoch_batches(l, e);
    ASSERT_EQ(bs.size(), 11u);
    std::vector<int32_t> seen;
    for (size_t k = 0; k < bs.size(); ++k) {
      EXPECT_EQ(bs[k].first, int64_t(k) * 10);
      EXPECT_EQ(bs[k].n(), k + 1 < bs.size() ? 10 : 3);
      EXPECT_EQ(bs[k].images.shape, (std::vector<int64_t>{bs[k].n(), 2, 2, 1}));
      seen.insert(seen.end(), bs[k].labels.begin(), bs[k].labels.end());
    }
    std::vector<int32_t> sorted = seen;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < 103; ++i) EXPECT_EQ(sorted[size_t(i)], i);
    EXPECT_FALSE(std::is_sorted(seen.begin(), seen.end()));  // shuffled
  }
}

TEST(BatchLoader, DropLast) {
  auto d = numbered(103, 1, 1, 1);
  LoaderOptions o;
  o.batch = 10;
  o.drop_last = true;
  BatchLoader l(d, o);
  EXPECT_EQ(l.batches_per_epoch(), 10);
  std::vector<Batch> bs = epoch_batches(l, 0);
  ASSERT_EQ(bs.size(), 10u);
  std::set<int32_t> seen;
  for (const Batch& b : bs) {
    EXPECT_EQ(b.n(), 10);
    seen.insert(b.labels.begin(), b.labels.end());
  }
  EXPECT_EQ(seen.size(), 100u);

  o.batch = 200;  // more than the dataset: no full batch at all
  BatchLoader big(d, o);
  EXPECT_EQ(big.batches_per_epoch(), 0);
  EXPECT_TRUE(epoch_batches(big, 0).empty());
}

TEST(BatchLoader, InOrderAndNormalised) {
  auto d = numbered(7, 2, 3, 2);
  LoaderOptions o;
  o.batch = 4;
  o.shuffle = false;
  o.mean = {0.25f, 0.5f};
  o.std = {0.5f, 2.0f};
  BatchLoader l(d, o);
  Batch b;
  ASSERT_TRUE(l.next(b));  // next() before start_epoch starts epoch 0
  int64_t pos = 0;
  do {
    for (int i = 0; i < b.n(); ++i, ++pos) {
      EXPECT_EQ(b.labels[size_t(i)], pos);
      for (int k = 0; k < 12; ++k) {
        const int ch = k % 2;
        const float want = (float((pos + k) % 256) / 255.f - o.mean[size_t(ch)]) / o.std[size_t(ch)];
        EXPECT_FLOAT_EQ(b.images.data[size_t(i) * 12 + size_t(k)], want);
      }
    }
  } while (l.next(b));
  EXPECT_EQ(pos, 7);
  EXPECT_FALSE(l.next(b));
}

// Naive crop-with-zero-padding then optional mirror of one h x w x c image.
std::vector<float> naive_aug(const std::vector<uint8_t>& img, int h, int w, int c, int p, int dy, int dx, bool mirror) {
  std::vector<float> padded(size_t((h + 2 * p) * (w + 2 * p) * c), 0.f);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k)
        padded[size_t(((y + p) * (w + 2 * p) + x + p) * c + k)] = img[size_t((y * w + x) * c + k)] / 255.f;
  std::vector<float> crop(size_t(h * w * c));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k)
        crop[size_t((y * w + x) * c + k)] = padded[size_t(((y + dy) * (w + 2 * p) + x + dx) * c + k)];
  if (!mirror) return crop;
  std::vector<float> out(crop.size());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) out[size_t((y * w + x) * c + k)] = crop[size_t((y * w + (w - 1 - x)) * c + k)];
  return out;
}

TEST(BatchLoader, AugmentationMatchesNaiveCropAndFlip) {
  const int h = 6, w = 5, c = 2, p = 2, n = 400;
  // The same image n times, with distinct non-zero pixels so every crop/flip is distinguishable.
  std::vector<uint8_t> img;
  for (int k = 0; k < h * w * c; ++k) img.push_back(uint8_t(1 + k * 4));
  DatasetArrays a;
  a.h = h;
  a.w = w;
  a.c = c;
  for (int i = 0; i < n; ++i) {
    a.images.insert(a.images.end(), img.begin(), img.end());
    a.labels.push_back(i % 2);
  }
  auto d = memory_dataset(std::move(a), "same");
  LoaderOptions o;
  o.batch = 64;
  o.augment.pad_crop = p;
  o.augment.hflip = true;
  BatchLoader l(d, o);
  std::set<std::tuple<int, int, bool>> used;
  for (const Batch& b : epoch_batches(l, 3)) {
    for (int i = 0; i < b.n(); ++i) {
      std::vector<float> got(b.images.data.begin() + i * h * w * c, b.images.data.begin() + (i + 1) * h * w * c);
      int matches = 0;
      for (int dy = 0; dy <= 2 * p; ++dy)
        for (int dx = 0; dx <= 2 * p; ++dx)
          for (bool m : {false, true})
            if (naive_aug(img, h, w, c, p, dy, dx, m) == got) {
              ++matches;
              used.insert({dy, dx, m});
            }
      EXPECT_EQ(matches, 1) << "sample " << b.first + i << " is no crop/flip of the image";
    }
  }
  // 400 draws over 50 outcomes: all of them show up (the chance one is missed is ~5e-2 * 50 *
  // (49/50)^400 < 1e-3, and the draws are fixed by the seed anyway).
  EXPECT_EQ(used.size(), size_t((2 * p + 1) * (2 * p + 1) * 2));
}

TEST(BatchLoader, NoAugmentationIsIdentity) {
  auto d = numbered(9, 3, 3, 3);
  LoaderOptions o;
  o.batch = 9;
  BatchLoader l(d, o);
  Batch b = epoch_batches(l, 0).at(0);
  for (int i = 0; i < 9; ++i) {
    const int32_t s = b.labels[size_t(i)];
    for (int k = 0; k < 27; ++k) EXPECT_EQ(b.images.data[size_t(i * 27 + k)], float((s + k) % 256) / 255.f);
  }
}

TEST(BatchLoader, DeterministicAcrossThreadsAndEpochsDiffer) {
  auto d = numbered(300, 8, 8, 3);
  LoaderOptions o;
  o.batch = 32;
  o.augment.pad_crop = 2;
  o.augment.hflip = true;
  o.seed = 42;
  o.threads = 1;
  BatchLoader one(d, o);
  o.threads = 2;
  BatchLoader two(d, o);
  std::vector<Batch> a1 = epoch_batches(one, 5), a2 = epoch_batches(two, 5);
  ASSERT_EQ(a1.size(), a2.size());
  for (size_t k = 0; k < a1.size(); ++k) {
    EXPECT_EQ(a1[k].labels, a2[k].labels);
    EXPECT_TRUE(a1[k].images.data == a2[k].images.data) << "batch " << k;
  }
  // Re-running an epoch reproduces it; another epoch shuffles and augments differently.
  std::vector<Batch> again = epoch_batches(one, 5), other = epoch_batches(one, 6);
  EXPECT_EQ(again[0].labels, a1[0].labels);
  EXPECT_TRUE(again[0].images.data == a1[0].images.data);
  EXPECT_NE(other[0].labels, a1[0].labels);
  // Same order (no shuffle) but different epochs: the augmentation alone differs.
  o.shuffle = false;
  BatchLoader fixed(d, o);
  std::vector<Batch> e0 = epoch_batches(fixed, 0), e1 = epoch_batches(fixed, 1);
  EXPECT_EQ(e0[0].labels, e1[0].labels);
  EXPECT_FALSE(e0[0].images.data == e1[0].images.data);
  // A different seed gives a different order.
  o.shuffle = true;
  o.seed = 43;
  BatchLoader seeded(d, o);
  EXPECT_NE(epoch_batches(seeded, 5)[0].labels, a1[0].labels);
}

TEST(BatchLoader, RestartMidEpochAndDestroyWhilePrefetching) {
  auto d = numbered(1000, 16, 16, 3);
  LoaderOptions o;
  o.batch = 16;
  o.augment.pad_crop = 4;
  {
    BatchLoader l(d, o);
    l.start_epoch(0);
    Batch b;
    ASSERT_TRUE(l.next(b));
    ASSERT_TRUE(l.next(b));
    l.start_epoch(1);  // cancels the batch being prepared
    int count = 0;
    std::set<int32_t> seen;
    while (l.next(b)) {
      ++count;
      seen.insert(b.labels.begin(), b.labels.end());
    }
    EXPECT_EQ(count, 63);
    EXPECT_EQ(seen.size(), 1000u);
    l.start_epoch(2);
    ASSERT_TRUE(l.next(b));
  }  // destroyed with a batch in flight: must join, not hang or crash
  SUCCEED();
}

// Counts get() calls and can fail on one index; 1x1x1 samples labelled by index.
class ProbeDataset : public Dataset {
 public:
  ProbeDataset(int64_t n, int64_t fail_at) : fail_at_(fail_at) {
    info_.h = info_.w = info_.c = 1;
    info_.size = n;
    info_.classes = int(n);
    info_.source = "probe";
  }
  const DatasetInfo& info() const override { return info_; }
  int32_t get(int64_t i, uint8_t* px) const override {
    if (i == fail_at_) throw Error(ErrorCode::format, "sample " + std::to_string(i) + " is broken", "probe.bin");
    ++calls;
    *px = uint8_t(i);
    return int32_t(i);
  }
  mutable std::atomic<int64_t> calls{0};

 private:
  DatasetInfo info_;
  int64_t fail_at_;
};

TEST(BatchLoader, PrefetchesExactlyOneBatchAhead) {
  auto d = std::make_shared<ProbeDataset>(100, -1);
  LoaderOptions o;
  o.batch = 10;
  BatchLoader l(d, o);
  l.start_epoch(0);
  Batch b;
  ASSERT_TRUE(l.next(b));
  // Batch 1 is built in the background without being asked for...
  for (int t = 0; t < 500 && d->calls < 20; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(d->calls, 20);
  // ... and nothing beyond it.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(d->calls, 20);
  ASSERT_TRUE(l.next(b));
  EXPECT_EQ(b.first, 10);
}

TEST(BatchLoader, DatasetErrorReachesTheCaller) {
  auto d = std::make_shared<ProbeDataset>(30, 17);
  LoaderOptions o;
  o.batch = 10;
  o.shuffle = false;
  BatchLoader l(d, o);
  Batch b;
  ASSERT_TRUE(l.next(b));
  expect_error([&] { l.next(b); }, ErrorCode::format, "sample 17 is broken", "probe.bin");
}

TEST(BatchLoader, OptionErrors) {
  auto d = numbered(10, 2, 2, 3);
  LoaderOptions o;
  o.batch = 0;
  expect_error([&] { BatchLoader l(d, o); }, ErrorCode::usage, "batch size must be positive, got 0", "");
  o.batch = 4;
  o.threads = 0;
  expect_error([&] { BatchLoader l(d, o); }, ErrorCode::usage, "data loader threads must be positive, got 0", "");
  o.threads = 1;
  o.mean = {0.5f};
  o.std = {0.5f};
  expect_error([&] { BatchLoader l(d, o); }, ErrorCode::shape,
               "normalisation has 1 means and 1 stds for 3 channels", "numbered");
}

TEST(Augment, ForDataset) {
  DatasetInfo i;
  i.h = i.w = 28;
  i.c = 1;
  i.flip_ok = false;
  Augment a = Augment::for_dataset(i);
  EXPECT_EQ(a.pad_crop, 2);
  EXPECT_FALSE(a.hflip);
  i.h = i.w = 32;
  i.c = 3;
  i.flip_ok = true;
  a = Augment::for_dataset(i);
  EXPECT_EQ(a.pad_crop, 4);
  EXPECT_TRUE(a.hflip);
}

}  // namespace
}  // namespace flynet::test
