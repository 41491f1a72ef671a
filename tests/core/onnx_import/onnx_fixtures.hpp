// Reading the generated ONNX fixtures (gen_onnx_models.py, gen_qdq_models.py): manifests,
// float32 and int8 files, PyTorch's NCHW images as flynet's NHWC batch.
#ifndef FLYNET_TESTS_ONNX_FIXTURES_HPP_
#define FLYNET_TESTS_ONNX_FIXTURES_HPP_

#include <fstream>
#include <string>
#include <vector>

#include "flynet/core/tensor.hpp"

namespace flynet::test {

struct Fixture {
  std::string name;
  int c = 0, h = 0, w = 0, classes = 0;
};

inline std::vector<Fixture> read_manifest(const std::string& path) {
  std::ifstream f(path);
  std::vector<Fixture> v;
  Fixture x;
  while (f >> x.name >> x.c >> x.h >> x.w >> x.classes) v.push_back(x);
  return v;
}

template <class T = float>
std::vector<T> read_values(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<T> v;
  T x;
  while (f.read(reinterpret_cast<char*>(&x), sizeof x)) v.push_back(x);
  return v;
}

// PyTorch's NCHW images as flynet's NHWC batch.
inline Tensor nhwc_images(const Fixture& fx, const std::vector<float>& nchw) {
  const int64_t n = int64_t(nchw.size()) / (fx.c * fx.h * fx.w);
  Tensor t({n, fx.h, fx.w, fx.c});
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < fx.c; ++c)
      for (int y = 0; y < fx.h; ++y)
        for (int x = 0; x < fx.w; ++x)
          t.data[size_t(((i * fx.h + y) * fx.w + x) * fx.c + c)] = nchw[size_t(((i * fx.c + c) * fx.h + y) * fx.w + x)];
  return t;
}

}  // namespace flynet::test

#endif  // FLYNET_TESTS_ONNX_FIXTURES_HPP_
