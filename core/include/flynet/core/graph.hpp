// A FlyNet model as a graph of layers with shapes, built from an ArchSpec. The graph is
// topologically ordered (a node's inputs always come before it), so training, counting,
// quantization and export all walk `nodes` front to back.
//
// Tensor layout everywhere in flynet: activations NHWC; conv weights OIHW with
// O = output channel, I = input channels per group (PyTorch order); linear weights [out, in].
//
//   ArchSpec spec = arch_preset("flynet-h3");
//   Graph g = build_graph(spec);
//   for (const Node& n : g.nodes) { ... n.op, n.inputs, n.out, n.params ... }
#ifndef FLYNET_CORE_GRAPH_HPP_
#define FLYNET_CORE_GRAPH_HPP_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flynet/core/arch.hpp"

namespace flynet {

enum class OpKind {
  input,           ///< the image, in.out = H x W x C
  conv2d,          ///< kxk conv, pad (k-1)/2, groups; grouped output o belongs to group o / (cout/groups)
  dw_concat,       ///< MDW-Concat shortcut: ceil(cout/cin) 3x3 depthwise heads, output o reads input o % cin
  batchnorm,       ///< per-channel affine with running statistics
  activation,      ///< relu | hswish | hsigmoid | sigmoid | relu6, elementwise
  va_eca,          ///< VA-ECA: (mean, std) per head-channel -> 1-D conv over channels -> gate * Z
  head_reduce,     ///< max-out | funnel max-out | sum+relu over the h heads of each channel
  add,             ///< elementwise sum of two inputs of the same shape (residual)
  global_avg_pool, ///< H x W x C -> 1 x 1 x C
  linear,          ///< fully connected on a 1 x 1 x C input
  scale_channels,  ///< input0 (H x W x C) times input1 (1 x 1 x C), the SE excitation
  dropout,         ///< identity at inference
  max_pool,        ///< window max per channel (imported graphs): conv2d's geometry fields, no dilation;
                   ///< padded taps are ignored, as in ONNX
  avg_pool,        ///< window mean per channel (imported graphs): max_pool's geometry; count_pad says
                   ///< whether padded taps count in the divisor (ONNX count_include_pad)
  concat,          ///< its inputs (same H x W) side by side along C, in input order
  mul,             ///< elementwise product; each axis of an input equals the output's or is 1 (broadcast)
  softmax,         ///< over C of a 1 x 1 x C input (the class scores); a pass-through when the
                   ///< caller asks for logits (RunCtx::logits: the training loss has its own)
};
std::string_view op_name(OpKind op);

enum class Act { relu, hswish, hsigmoid, sigmoid, relu6, leaky_relu };

/// VA-ECA's descriptor: sigma = sqrt(var + eps) per head map (design 3.3). Training, calibration,
/// the int8 lowering and the fake-quant simulation all use this one value.
inline constexpr double kVaEcaStdEps = 1e-5;
std::string_view act_name(Act a);

/// What a parameter tensor is: drives initialisation, weight decay and quantization.
enum class ParamRole {
  conv_weight,    ///< quantizable, decayed
  linear_weight,  ///< quantizable, decayed
  bias,           ///< float, no decay
  bn_gamma,       ///< float, no decay
  bn_beta,        ///< float, no decay
  bn_mean,        ///< running statistic, not trained
  bn_var,         ///< running statistic, not trained
  eca_weight,     ///< the VA-ECA 1-D conv, float, decayed (design 3.7 keeps it float)
};
std::string_view param_role_name(ParamRole r);

struct ParamDecl {
  std::string name;            ///< "<node>.<suffix>", e.g. "b3.mdw.weight"
  ParamRole role;
  std::vector<int64_t> shape;
  int64_t numel() const;
  bool trainable() const { return role != ParamRole::bn_mean && role != ParamRole::bn_var; }
  bool decayed() const {
    return role == ParamRole::conv_weight || role == ParamRole::linear_weight || role == ParamRole::eca_weight;
  }
  bool quantizable() const { return role == ParamRole::conv_weight || role == ParamRole::linear_weight; }
};

struct Shape {
  int h = 1, w = 1, c = 1;
  int64_t numel() const { return int64_t(h) * w * c; }
  bool operator==(const Shape&) const = default;
};

struct Node {
  std::string name;          ///< unique, e.g. "b3.mdw", "stem.bn", "fc2"
  OpKind op = OpKind::input;
  std::vector<int> inputs;   ///< indices of earlier nodes
  Shape out;
  std::vector<ParamDecl> params;
  int block = -1;            ///< FlyBlock / bneck index, -1 outside blocks

  // Attributes; each op reads only its own.
  int cin = 0, cout = 0;     ///< conv2d, dw_concat, linear, batchnorm (cout = channels)
  int kernel = 1, stride = 1, pad = 0, groups = 1;  ///< conv2d, dw_concat (k 3); height (and width when square)
  // conv2d geometry of imported graphs (flynet import): the width-wise kernel, stride and left
  // pad, the bottom and right pads, and the dilation. The defaults say "as the height" /
  // "symmetric" / "none", which every built FlyNet conv is; conv_geom() resolves them.
  int kernel_w = 0, stride_w = 0;  ///< 0: kernel / stride
  int pad_w = -1, pad_b = -1, pad_r = -1;  ///< -1: pad
  int dilation = 1;          ///< both axes
  bool bias = false;         ///< conv2d, linear
  Act act = Act::relu;       ///< activation
  int heads = 1;             ///< va_eca, head_reduce: h; channels of the input = h * E, index c*h + j
  int eca_k = 3;             ///< va_eca: 1-D kernel size
  Gate gate = Gate::sigmoid; ///< va_eca
  Reduce reduce = Reduce::maxout;  ///< head_reduce; funnel_maxout has inputs {gated Z, U}
  int funnel_stride = 1;     ///< head_reduce funnel: U is sampled at [::s, ::s]
  double bn_eps = 1e-3;      ///< batchnorm (torchvision's MobileNetV3 value)
  double bn_momentum = 0.01; ///< batchnorm: running = (1 - m) * running + m * batch
  double drop = 0.0;         ///< dropout probability
  float alpha = 0.01f;       ///< activation leaky_relu: the slope below zero
  bool count_pad = false;    ///< avg_pool: padded taps count in the divisor
};

/// A ReLU or ReLU6: int8 kernels apply it as the output clamp of the layer that feeds it.
inline bool is_clamp_activation(const Node& n) {
  return n.op == OpKind::activation && (n.act == Act::relu || n.act == Act::relu6);
}

/// A conv2d's resolved geometry: kernel, stride, pads (begin and end) and dilation per axis.
struct ConvGeom {
  int kh = 1, kw = 1, sh = 1, sw = 1, pt = 0, pl = 0, pb = 0, pr = 0, dil = 1;
  /// Square, one stride, symmetric pads, no dilation: what the hand-written depthwise kernel runs.
  bool square() const { return kh == kw && sh == sw && pt == pl && pt == pb && pt == pr && dil == 1; }
  int out_h(int h) const { return (h + pt + pb - dil * (kh - 1) - 1) / sh + 1; }
  int out_w(int w) const { return (w + pl + pr - dil * (kw - 1) - 1) / sw + 1; }
};
ConvGeom conv_geom(const Node& n);

struct Graph {
  ArchSpec spec;
  std::vector<Node> nodes;   ///< nodes[0] is the input; the last node gives the logits
  int find(std::string_view name) const;  ///< index or -1
  /// The nodes that read node i's output, in order (nodes are topologically sorted: all after i).
  std::vector<int> users(int i) const;
  const Node& output() const { return nodes.back(); }
  std::vector<ParamDecl> all_params() const;
};

/// Builds the graph of `spec` (validated first; throws Error{usage}).
Graph build_graph(const ArchSpec& spec);

}  // namespace flynet

#endif  // FLYNET_CORE_GRAPH_HPP_
