#include "flynet/core/count.hpp"

namespace flynet {

namespace {
LayerCount count_node(const Graph& g, const Node& n) {
  LayerCount c;
  const int64_t out_hw = int64_t(n.out.h) * n.out.w;
  const int64_t out_elems = n.out.numel();
  int64_t weights = 0;
  for (const ParamDecl& p : n.params)
    if (p.role == ParamRole::bn_gamma || p.role == ParamRole::bn_beta) c.params_bn += p.numel();
    else if (p.trainable()) weights += p.numel();
  c.params = weights;
  c.params_bn += weights;

  int64_t extra = 0;
  switch (n.op) {
    case OpKind::conv2d:
      c.madds_strict = int64_t(n.cout) * (n.cin / n.groups) * conv_geom(n).kh * conv_geom(n).kw * out_hw;
      break;
    case OpKind::dw_concat:
      c.madds_strict = int64_t(n.cout) * conv_geom(n).kh * conv_geom(n).kw * out_hw;
      break;
    case OpKind::linear:
      c.madds_strict = int64_t(n.cin) * n.cout;
      break;
    case OpKind::va_eca:
      c.madds_strict = 2LL * n.eca_k * n.cin;  // once per block: the conv is shared by the heads
      extra = out_elems;                       // gate multiply, every head element
      break;
    case OpKind::batchnorm:
      extra = 2 * out_elems;
      break;
    case OpKind::head_reduce:
      extra = 2 * out_elems;
      break;
    case OpKind::activation:
      // Activations on feature maps only: the vector ones after fc1 and inside SE are not
      // charged, as in the tables this convention reproduces.
      if (g.nodes[size_t(n.inputs[0])].op != OpKind::linear) extra = out_elems;
      break;
    case OpKind::add:
    case OpKind::scale_channels:
      extra = out_elems;
      break;
    case OpKind::global_avg_pool:
      extra = g.nodes[size_t(n.inputs[0])].out.numel();
      break;
    case OpKind::max_pool:  // one comparison (or addition) per window tap
    case OpKind::avg_pool:
      extra = out_elems * conv_geom(n).kh * conv_geom(n).kw;
      break;
    case OpKind::mul:
    case OpKind::softmax:
      extra = out_elems;
      break;
    case OpKind::concat:  // copies only
    case OpKind::input:
    case OpKind::dropout:
      break;
  }
  c.madds_profiler = c.madds_strict + extra;
  return c;
}
}  // namespace

GraphCount count_graph(const Graph& g) {
  GraphCount gc;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    LayerCount c = count_node(g, g.nodes[i]);
    c.node = int(i);
    gc.total.params += c.params;
    gc.total.params_bn += c.params_bn;
    gc.total.madds_strict += c.madds_strict;
    gc.total.madds_profiler += c.madds_profiler;
    gc.layers.push_back(c);
  }
  return gc;
}

}  // namespace flynet
