// Datasets and the batch pipeline. A Dataset is random access to uint8 HWC images and int
// labels; a BatchLoader turns one into shuffled, augmented, normalised float batches (NHWC),
// decoding and augmenting in parallel with TBB and preparing the next batch while the current
// one trains.
//
//   DatasetPair d = open_dataset("/usr/share/datasets/fashion-mnist");
//   LoaderOptions lo; lo.batch = 128; lo.augment = Augment::for_dataset(d.train->info());
//   lo.mean = d.train->info().mean; lo.std = d.train->info().std;
//   BatchLoader train(*d.train, lo);
//   for (int epoch = 0; ...) { train.start_epoch(epoch); Batch b; while (train.next(b)) {...} }
#ifndef FLYNET_CORE_DATA_HPP_
#define FLYNET_CORE_DATA_HPP_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flynet/core/tensor.hpp"

namespace flynet {

struct DatasetInfo {
  std::string source;               ///< path it was read from (for messages)
  int h = 0, w = 0, c = 0;          ///< image shape
  int classes = 0;
  int64_t size = 0;                 ///< number of samples
  std::vector<std::string> class_names;  ///< may be empty
  /// Per channel, of pixel/255, population statistics over the *train* split. The test split
  /// (and validation/subset views) carry the train statistics too, so evaluation normalises
  /// exactly as training did.
  std::vector<float> mean, std;
  /// Horizontal flip is a valid augmentation. Defaults per kind: false for idx files (MNIST
  /// digits and EMNIST letters change meaning when mirrored; conservative for Fashion-MNIST too),
  /// true for CIFAR batches, image folders and HDF5 files (natural images).
  bool flip_ok = true;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual const DatasetInfo& info() const = 0;
  /// Writes sample i as h*w*c uint8 HWC into `pixels` and returns its label. Thread-safe.
  virtual int32_t get(int64_t i, uint8_t* pixels) const = 0;
};

struct DatasetPair {
  std::shared_ptr<const Dataset> train;
  std::shared_ptr<const Dataset> test;
};

/// Opens a dataset by path, detecting the kind:
///  - a directory with MNIST-style idx files (train-images-idx3-ubyte[.gz], ...);
///  - a directory with CIFAR-10/100 binary batches (data_batch_*.bin/test_batch.bin, train.bin/test.bin);
///  - an image-folder tree root/{train,test}/<class>/*.{jpg,jpeg,png};
///  - an HDF5 file with groups train/ and test/, each holding `images` (N x H x W x C uint8)
///    and `labels` (N integer).
/// Throws Error{io|format} naming the offending file on anything missing, corrupt or mismatched.
/// Everything is read (and decoded) into memory at open time; get() is then a copy.
/// Class names: class_names.txt (one per line) beside idx files, or Fashion-MNIST's built-in
/// names when the path contains "fashion"; batches.meta.txt / fine_label_names.txt for CIFAR;
/// the folder names for image folders; the root attribute `class_names` of an HDF5 file.
/// classes = number of names if any, else max train label + 1 (at least 2); CIFAR-10/100 fix
/// it at 10/100.
DatasetPair open_dataset(const std::string& path);

/// In-memory images and labels: the payload of write_h5_dataset and memory_dataset.
struct DatasetArrays {
  int h = 0, w = 0, c = 0;
  std::vector<uint8_t> images;  ///< n x h x w x c, uint8 HWC per image
  std::vector<int32_t> labels;  ///< n labels, each in [0, classes)
  int64_t size() const { return int64_t(labels.size()); }
};

/// Writes an HDF5 dataset file readable by open_dataset: groups train/ and test/, each with
/// `images` (uint8, N x H x W x C) and `labels` (int32, N); `class_names` (if not empty) as a
/// string-array attribute of the root. Small generated datasets for tests. Throws Error{io}.
void write_h5_dataset(const std::string& path, const DatasetArrays& train, const DatasetArrays& test,
                      const std::vector<std::string>& class_names = {});

/// A dataset over arrays in memory (e.g. generated data in tests). `classes` 0 means max label
/// + 1 (at least 2). mean/std are computed from the arrays unless `stats_from` is given, whose
/// statistics are copied (pass the train split when making a test split).
std::shared_ptr<const Dataset> memory_dataset(DatasetArrays arrays, std::string source, int classes = 0,
                                              const Dataset* stats_from = nullptr);

/// Per-channel population mean and standard deviation of pixel/255 over all of `d`.
struct ChannelStats {
  std::vector<float> mean, std;
};
ChannelStats channel_stats(const Dataset& d);

/// A view of part of a dataset (for validation splits): samples [begin, end) of a fixed
/// permutation drawn from `seed`. Sample i of the view is base sample indices[i]; info() is
/// base's with size = indices.size(). Throws Error{usage} on an index out of range.
std::shared_ptr<const Dataset> subset(std::shared_ptr<const Dataset> base, const std::vector<int64_t>& indices);
/// Splits `base` into (train, validation) with `fraction` of it held out, deterministically.
/// The result's `test` is the validation part; each part keeps `base`'s order (a sorted subset
/// of a permutation drawn from `seed`) and `base`'s mean/std. Throws Error{usage} unless
/// 0 < fraction < 1 and both parts are non-empty.
DatasetPair split_validation(std::shared_ptr<const Dataset> base, double fraction, uint64_t seed);

struct Augment {
  int pad_crop = 0;      ///< random crop of the original size after zero padding by this many pixels
  bool hflip = false;    ///< random horizontal flip
  /// The usual choice: crop with 2 px padding for <= 32 px images (4 px for 32x32 colour),
  /// flip only where info.flip_ok.
  static Augment for_dataset(const DatasetInfo& info);
};
// Augmentation of one sample (position p of epoch e): zero-pad by pad_crop on every side (in
// pixel space, before normalisation, as torchvision's RandomCrop(padding)), take the h x w
// window at offset (dy, dx) in [0, 2 * pad_crop], then mirror left-right if the flip bit is set.
// dy, dx and the flip come from a hash of (seed, e, p), so they do not depend on threads.

struct LoaderOptions {
  int batch = 128;
  bool shuffle = true;
  bool drop_last = false;   ///< drop the final short batch
  Augment augment;          ///< none by default (evaluation)
  std::vector<float> mean;  ///< normalisation, per channel: (pixel/255 - mean) / std
  std::vector<float> std;
  uint64_t seed = 1;        ///< shuffling and augmentation; epoch e uses a stream derived from (seed, e)
  int threads = 1;          ///< TBB threads for decode/augment (a task_arena of this size)
  /// Data-parallel ranks: the epoch's order is cut into batches, and this loader yields the
  /// global batches shard, shard + shards, shard + 2 shards, ... so the shards are disjoint
  /// and together are what one loader would give. With drop_last every shard gets the same
  /// count, floor(size / (batch * shards)); positions (and so augmentations) are the global ones.
  int shards = 1, shard = 0;
};

struct Batch {
  Tensor images;                 ///< [n, h, w, c] float, normalised
  std::vector<int32_t> labels;   ///< n labels
  int64_t first = 0;             ///< position of the first sample in this epoch's order
  int n() const { return int(labels.size()); }
};

/// Iterates a dataset in batches. next() returns the batch prepared in the background while
/// the previous one was being used, and starts preparing the following one. Deterministic:
/// the same seed and epoch give the same batches whatever the thread count.
class BatchLoader {
 public:
  BatchLoader(std::shared_ptr<const Dataset> data, LoaderOptions opt);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  /// Shuffles for `epoch` and starts preparing its first batch; cancels any batch being
  /// prepared for the previous epoch. next() before any start_epoch() starts epoch 0.
  void start_epoch(int epoch);
  /// Fills `out` with the next batch; false at the end of the epoch.
  bool next(Batch& out);
  int64_t batches_per_epoch() const;
  const LoaderOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flynet

#endif  // FLYNET_CORE_DATA_HPP_
