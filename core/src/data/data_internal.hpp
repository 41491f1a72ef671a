// Pieces shared by the dataset readers in core/src/data (not installed, not public).
#ifndef FLYNET_CORE_SRC_DATA_DATA_INTERNAL_HPP_
#define FLYNET_CORE_SRC_DATA_DATA_INTERNAL_HPP_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flynet/core/data.hpp"

namespace flynet::data_detail {

/// Images and labels fully in memory; every reader decodes into one of these.
class MemoryDataset final : public Dataset {
 public:
  MemoryDataset(DatasetArrays a, DatasetInfo info) : a_(std::move(a)), info_(std::move(info)) {}
  const DatasetInfo& info() const override { return info_; }
  int32_t get(int64_t i, uint8_t* pixels) const override;
  const DatasetArrays& arrays() const { return a_; }

 private:
  DatasetArrays a_;
  DatasetInfo info_;
};

/// Statistics straight from a HWC uint8 buffer (exact integer sums, then double).
ChannelStats stats_of(const std::vector<uint8_t>& images, int c);

/// Builds the (train, test) pair from decoded arrays: checks shapes and labels, sets classes
/// (max train label + 1, at least 2, or `classes` if > 0), train statistics on both splits.
/// `train_file` / `test_file` name the files blamed for label errors.
DatasetPair make_pair(DatasetArrays train, DatasetArrays test, const std::string& source,
                      std::vector<std::string> class_names, bool flip_ok, const std::string& train_file,
                      const std::string& test_file, int classes = 0);

/// Class names from a text file, one per line (blank lines ignored); empty if absent.
std::vector<std::string> read_names_file(const std::string& path);

DatasetPair open_idx_dir(const std::string& dir);      ///< nullptr pair if no idx files
DatasetPair open_cifar_dir(const std::string& dir);    ///< nullptr pair if no CIFAR batches
DatasetPair open_image_folder(const std::string& dir); ///< nullptr pair if no train/ test/
DatasetPair open_h5_file(const std::string& path);

/// splitmix64: the one mixing function behind shuffles and augmentation draws.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
inline uint64_t mix64(uint64_t a, uint64_t b) { return mix64(mix64(a) ^ b); }
/// Uniform in [0, n) without modulo bias worth caring about (Lemire's multiply-shift).
inline uint64_t bounded(uint64_t r, uint64_t n) { return uint64_t((unsigned __int128)r * n >> 64); }

/// Deterministic Fisher-Yates permutation of [0, n) from a seed.
std::vector<int64_t> permutation(int64_t n, uint64_t seed);

}  // namespace flynet::data_detail

#endif  // FLYNET_CORE_SRC_DATA_DATA_INTERNAL_HPP_
