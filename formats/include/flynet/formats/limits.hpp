// Upper bounds on the sizes an input file may declare. Every reader checks a declared size
// against the file's real size and against these limits before it allocates anything, so a file
// of a few bytes cannot make flynet allocate gigabytes or loop for minutes. man/flynet.1 (LIMITS)
// and README.md list the same numbers; change them together.
#ifndef FLYNET_FORMATS_LIMITS_HPP_
#define FLYNET_FORMATS_LIMITS_HPP_

#include <cstdint>
#include <string>

namespace flynet::limits {

/// One tensor of an .h5 model (FlyNet-h3 1.0x's largest is under 1 MB).
constexpr uint64_t kModelTensorBytes = uint64_t(1) << 30;
/// Tensors of one .h5 model, and string attributes of one group.
constexpr uint64_t kModelTensors = 65536;
constexpr uint64_t kModelAttributes = 4096;
/// One string attribute (architecture or metadata value) of an .h5 model, and one name.
constexpr uint64_t kModelStringBytes = 65536;
constexpr uint64_t kNameBytes = 1024;
/// The activation arena the host allocates to run a .fly model (info never allocates it).
constexpr uint64_t kFlyArenaBytes = uint64_t(1) << 28;
constexpr const char* kFlyArenaField = "the .fly plan (PLAN.arena_size)";
/// The arena of the in-memory int8 runner (quantize, info and verify of a .q.h5): the deployed
/// plan, or every activation at once for layer-by-layer comparisons. Its offsets are 32-bit.
constexpr uint64_t kIntArenaBytes = uint64_t(1) << 30;
/// Width or height of one image (idx, HDF5, JPEG, PNG), and its h x w x c bytes.
constexpr uint64_t kImageSide = 16384;
constexpr uint64_t kImageBytes = uint64_t(1) << 28;
/// Decoded pixel bytes of one split (train or test) of a data set.
constexpr uint64_t kDatasetBytes = uint64_t(1) << 33;

/// "FIELD declares VALUE WHAT, above the limit of LIMIT" as Error{format} naming `file`.
[[noreturn]] void exceeded(const std::string& field, uint64_t value, uint64_t limit, const char* what,
                           const std::string& file);

/// Throws exceeded() when value > limit.
inline void check(const std::string& field, uint64_t value, uint64_t limit, const char* what,
                  const std::string& file) {
  if (value > limit) exceeded(field, value, limit, what, file);
}

/// a * b, or UINT64_MAX when the product does not fit (so it fails every limit).
inline uint64_t mul_sat(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

}  // namespace flynet::limits

#endif  // FLYNET_FORMATS_LIMITS_HPP_
