// A dense float tensor: shape plus 64-byte aligned storage (oneDNN and the vectorizer like
// cache-line aligned buffers). Row-major; activations are NHWC.
#ifndef FLYNET_CORE_TENSOR_HPP_
#define FLYNET_CORE_TENSOR_HPP_

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <vector>

namespace flynet {

template <class T, size_t Align = 64>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U, Align>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(Align))); }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(Align)); }
  template <class U>
  struct rebind { using other = AlignedAllocator<U, Align>; };
  bool operator==(const AlignedAllocator&) const { return true; }
};

using FloatBuffer = std::vector<float, AlignedAllocator<float>>;

struct Tensor {
  std::vector<int64_t> shape;
  FloatBuffer data;

  Tensor() = default;
  explicit Tensor(std::vector<int64_t> s, float fill = 0.f) : shape(std::move(s)) {
    data.assign(size_t(numel()), fill);
  }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  float* ptr() { return data.data(); }
  const float* ptr() const { return data.data(); }
  std::string shape_str() const;
};

}  // namespace flynet

#endif  // FLYNET_CORE_TENSOR_HPP_
