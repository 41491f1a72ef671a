// BatchLoader: shuffled, augmented, normalised NHWC batches, one prepared ahead in the
// background while the caller trains on the current one.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <numeric>

#include "data_internal.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {

using namespace data_detail;

Augment Augment::for_dataset(const DatasetInfo& info) {
  Augment a;
  if (info.h <= 32 && info.w <= 32) a.pad_crop = (info.h == 32 && info.w == 32 && info.c == 3) ? 4 : 2;
  a.hflip = info.flip_ok;
  return a;
}

struct BatchLoader::Impl {
  std::shared_ptr<const Dataset> data;
  LoaderOptions opt;
  int h = 0, w = 0, c = 0;
  int64_t n = 0;
  std::vector<float> lut;  // [c][256]: (v/255 - mean) / std, so normalising is one load
  tbb::task_arena arena;

  int epoch = -1;
  std::vector<int64_t> order;
  int64_t next_index = 0;       // batch index the caller receives next
  std::future<Batch> pending;   // builds batch next_index
  std::atomic<bool> cancel{false};

  Impl(std::shared_ptr<const Dataset> d, LoaderOptions o)
      : data(std::move(d)), opt(std::move(o)), arena(std::max(1, opt.threads)) {}

  int64_t batches() const {
    const int64_t b = opt.batch, s = opt.shards;
    if (opt.drop_last) return n / (b * s);
    const int64_t global = (n + b - 1) / b;
    return global > opt.shard ? (global - opt.shard + s - 1) / s : 0;
  }

  void stop() {
    if (pending.valid()) {
      cancel = true;
      pending.wait();
      try {
        pending.get();
      } catch (...) {  // a cancelled batch's failure is of no interest any more
      }
      cancel = false;
    }
  }

  void launch(int64_t k, Batch recycled) {
    pending = std::async(std::launch::async, [this, k, b = std::move(recycled)]() mutable {
      build(k, b);
      return std::move(b);
    });
  }

  void build(int64_t k, Batch& b) {
    const int64_t first = (k * opt.shards + opt.shard) * opt.batch;
    const int bn = int(std::min<int64_t>(opt.batch, n - first));
    const size_t px = size_t(h) * w * c;
    if (b.images.shape != std::vector<int64_t>{bn, h, w, c}) {
      b.images.shape = {bn, h, w, c};
      b.images.data.resize(size_t(bn) * px);
    }
    b.labels.resize(size_t(bn));
    b.first = first;
    const int p = std::max(0, opt.augment.pad_crop);
    const bool flip = opt.augment.hflip;
    const uint64_t epoch_key = mix64(opt.seed, uint64_t(epoch));
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<int>(0, bn), [&](const tbb::blocked_range<int>& r) {
        std::vector<uint8_t> src(px);
        for (int i = r.begin(); i < r.end(); ++i) {
          if (cancel.load(std::memory_order_relaxed)) return;
          const int64_t pos = first + i;
          b.labels[size_t(i)] = data->get(order[size_t(pos)], src.data());
          // One hash per (seed, epoch, position): the draws do not depend on which thread
          // handles the sample, nor on the order samples are processed in.
          const uint64_t rnd = mix64(epoch_key, uint64_t(pos));
          const int dy = p ? int(bounded(rnd, uint64_t(2 * p + 1))) : 0;
          const int dx = p ? int(bounded(mix64(rnd), uint64_t(2 * p + 1))) : 0;
          const bool mirror = flip && (mix64(rnd ^ 0x666c6970ull) >> 63);
          float* out = b.images.ptr() + size_t(i) * px;
          for (int y = 0; y < h; ++y) {
            const int sy = y + dy - p;
            for (int x = 0; x < w; ++x) {
              const int cx = mirror ? w - 1 - x : x;  // flip after the crop
              const int sx = cx + dx - p;
              float* o = out + (size_t(y) * w + x) * c;
              if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
                for (int ch = 0; ch < c; ++ch) o[ch] = lut[size_t(ch) * 256];
              } else {
                const uint8_t* s = src.data() + (size_t(sy) * w + sx) * c;
                for (int ch = 0; ch < c; ++ch) o[ch] = lut[size_t(ch) * 256 + s[ch]];
              }
            }
          }
        }
      });
    });
  }
};

BatchLoader::BatchLoader(std::shared_ptr<const Dataset> data, LoaderOptions opt)
    : impl_(std::make_unique<Impl>(std::move(data), std::move(opt))) {
  Impl& m = *impl_;
  const DatasetInfo& info = m.data->info();
  m.h = info.h;
  m.w = info.w;
  m.c = info.c;
  m.n = info.size;
  if (m.opt.batch <= 0)
    throw Error(ErrorCode::usage, "batch size must be positive, got " + std::to_string(m.opt.batch));
  if (m.opt.shards < 1 || m.opt.shard < 0 || m.opt.shard >= m.opt.shards)
    throw Error(ErrorCode::usage, "loader shard " + std::to_string(m.opt.shard) + " of " + std::to_string(m.opt.shards));
  if (m.opt.threads <= 0)
    throw Error(ErrorCode::usage, "data loader threads must be positive, got " + std::to_string(m.opt.threads));
  if (m.opt.augment.pad_crop < 0)
    throw Error(ErrorCode::usage, "crop padding must not be negative, got " + std::to_string(m.opt.augment.pad_crop));
  const size_t nc = size_t(m.c);
  if ((!m.opt.mean.empty() && m.opt.mean.size() != nc) || (!m.opt.std.empty() && m.opt.std.size() != nc))
    throw Error(ErrorCode::shape,
                "normalisation has " + std::to_string(m.opt.mean.size()) + " means and " +
                    std::to_string(m.opt.std.size()) + " stds for " + std::to_string(m.c) + " channels",
                info.source);
  m.lut.resize(nc * 256);
  for (size_t ch = 0; ch < nc; ++ch) {
    const float mean = m.opt.mean.empty() ? 0.f : m.opt.mean[ch];
    const float sd = m.opt.std.empty() ? 1.f : m.opt.std[ch];
    if (!(sd > 0.f)) throw Error(ErrorCode::usage, "normalisation std must be positive", info.source);
    for (int v = 0; v < 256; ++v) m.lut[ch * 256 + size_t(v)] = (float(v) / 255.f - mean) / sd;
  }
}

BatchLoader::~BatchLoader() { impl_->stop(); }

void BatchLoader::start_epoch(int epoch) {
  Impl& m = *impl_;
  m.stop();
  m.epoch = epoch;
  if (m.opt.shuffle) {
    m.order = permutation(m.n, mix64(m.opt.seed, uint64_t(epoch) ^ 0x73687566ull));
  } else {
    m.order.resize(size_t(m.n));
    std::iota(m.order.begin(), m.order.end(), int64_t(0));
  }
  m.next_index = 0;
  if (m.batches() > 0) m.launch(0, Batch{});
}

bool BatchLoader::next(Batch& out) {
  Impl& m = *impl_;
  if (m.epoch < 0) start_epoch(0);
  if (!m.pending.valid()) return false;
  Batch ready = m.pending.get();  // rethrows a failure of the background build
  std::swap(out, ready);
  ++m.next_index;
  // The caller's previous batch becomes the buffer for the one after: no allocation per batch.
  if (m.next_index < m.batches()) m.launch(m.next_index, std::move(ready));
  return true;
}

int64_t BatchLoader::batches_per_epoch() const { return impl_->batches(); }

const LoaderOptions& BatchLoader::options() const { return impl_->opt; }

}  // namespace flynet
