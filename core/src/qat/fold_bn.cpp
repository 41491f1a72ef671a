#include "flynet/core/fold_bn.hpp"

#include <cmath>

#include "flynet/formats/error.hpp"

namespace flynet {

FoldedConv fold_bn(const Tensor& weight, const float* conv_bias, const float* gamma, const float* beta,
                   const float* mean, const float* var, double eps) {
  FoldedConv f;
  f.weight = weight;
  const int64_t oc = weight.shape.at(0);
  const int64_t per = weight.numel() / oc;
  f.bias.resize(size_t(oc));
  f.scale.resize(size_t(oc));
  for (int64_t o = 0; o < oc; ++o) {
    // In double: the folded weights feed the int8 conversion, where a float rounding here
    // would move codes across a rounding boundary for no reason.
    const double s = double(gamma[o]) / std::sqrt(double(var[o]) + eps);
    f.scale[size_t(o)] = float(s);
    for (int64_t i = 0; i < per; ++i) f.weight.data[size_t(o * per + i)] = float(double(weight.data[size_t(o * per + i)]) * s);
    const double b = conv_bias ? conv_bias[o] : 0.0;
    f.bias[size_t(o)] = float(double(beta[o]) + (b - double(mean[o])) * s);
  }
  return f;
}

int bn_after(const Graph& g, int conv) {
  int found = -1, users = 0;
  for (size_t i = size_t(conv) + 1; i < g.nodes.size(); ++i)
    for (int in : g.nodes[i].inputs)
      if (in == conv) {
        ++users;
        if (g.nodes[i].op == OpKind::batchnorm) found = int(i);
      }
  return users == 1 ? found : -1;
}

FoldedConv fold_node(const Model& m, int conv) {
  const Graph& g = m.graph;
  const Node& c = g.nodes.at(size_t(conv));
  const int b = bn_after(g, conv);
  if (b < 0) throw Error(ErrorCode::internal, "no batch norm to fold after '" + c.name + "'");
  const Node& bn = g.nodes[size_t(b)];
  const Tensor* bias = c.bias ? &m.param(c.name + ".bias") : nullptr;
  return fold_bn(m.param(c.name + ".weight"), bias ? bias->ptr() : nullptr, m.param(bn.name + ".gamma").ptr(),
                 m.param(bn.name + ".beta").ptr(), m.param(bn.name + ".running_mean").ptr(),
                 m.param(bn.name + ".running_var").ptr(), bn.bn_eps);
}

}  // namespace flynet
