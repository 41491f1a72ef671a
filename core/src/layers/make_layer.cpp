// The op -> implementation table, and small helpers shared by all layers.
#include "flynet/formats/error.hpp"
#include "layer_util.hpp"

namespace flynet {

std::unique_ptr<Layer> make_layer(const Node& n) {
  using namespace layers;
  switch (n.op) {
    case OpKind::conv2d:
      // groups == cin: depthwise, with depth multiplier cout / cin for the MDW heads.
      // Imported ones with a bias (BN folded by the exporter) or a non-square, dilated or
      // asymmetric geometry run on oneDNN's grouped conv: the hand-written kernel has neither.
      if (n.groups > 1 && n.groups == n.cin && !n.bias && conv_geom(n).square()) return make_depthwise(n);
      return make_conv2d(n);
    case OpKind::dw_concat: return make_dw_concat(n);
    case OpKind::batchnorm: return make_batchnorm(n);
    case OpKind::activation: return make_activation(n);
    case OpKind::va_eca: return make_va_eca(n);
    case OpKind::head_reduce: return make_head_reduce(n);
    case OpKind::add: return make_add(n);
    case OpKind::global_avg_pool: return make_global_avg_pool(n);
    case OpKind::linear: return make_linear(n);
    case OpKind::scale_channels: return make_scale_channels(n);
    case OpKind::dropout: return make_dropout(n);
    case OpKind::max_pool: return make_max_pool(n);
    case OpKind::avg_pool: return make_avg_pool(n);
    case OpKind::concat: return make_concat(n);
    case OpKind::mul: return make_mul(n);
    case OpKind::softmax: return make_softmax(n);
    case OpKind::input: break;
  }
  throw Error(ErrorCode::unsupported, "no layer implementation for op " + std::string(op_name(n.op)) + " (" + n.name + ")");
}

void reshape(Tensor& t, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  t.shape = shape;
  if (int64_t(t.data.size()) != n) t.data.resize(size_t(n));
}

void set_num_threads(int n) {
  if (n > 0) omp_set_num_threads(n);
}
int num_threads() { return omp_get_max_threads(); }

}  // namespace flynet
