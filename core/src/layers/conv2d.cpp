// Dense and grouped convolution with oneDNN (stem, 1x1 expansion/projection, 3x3 shortcuts,
// last conv). Depthwise (groups == cin) goes to depthwise.cpp instead.
//
// Activations stay NHWC user memory (no per-step reorders of the big tensors); the weights
// use format_tag::any so oneDNN picks its blocked jit layout, and the small OIHW user weights
// are reordered into it once per pass (and the weight gradient back). Primitives are created
// once per batch size and cached: forward_training for training, forward_inference otherwise.
#include <algorithm>
#include <map>

#include "flynet/formats/error.hpp"
#include "layer_util.hpp"
#include "onednn.hpp"

namespace flynet::layers {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

class Conv2dLayer final : public Layer {
 public:
  using Layer::Layer;

  void forward(const RunCtx& ctx, const ConstTensorPtrs& x, const TensorPtrs& p, Tensor& y) override {
    const Tensor& in = *x[0];
    Prims& pr = prims(in, ctx.training);
    reshape(y, {in.shape[0], pr.dst_md.dims()[2], pr.dst_md.dims()[3], node_.cout});
    pr.forward(ctx.training, in.ptr(), p[0]->ptr(), node_.bias ? p[1]->ptr() : nullptr, y.ptr());
    cpu_stream().wait();
  }

  void backward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs& p, const Tensor&, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs& dp) override {
    const Tensor& in = *x[0];
    Prims& pr = prims(in, true);
    if (dx[0]) pr.backward_data(dy.ptr(), p[0]->ptr(), dx[0]->ptr());
    if (dp[0]) {
      Tensor scratch_bias;
      if (node_.bias && !dp[1]) scratch_bias = Tensor({node_.cout});
      pr.backward_weights(in.ptr(), dy.ptr(), dp[0]->ptr(),
                          node_.bias ? (dp[1] ? dp[1]->ptr() : scratch_bias.ptr()) : nullptr);
    }
    cpu_stream().wait();
  }

 private:
  using Prims = WeightedPrims<dnnl::convolution_forward, dnnl::convolution_backward_data,
                              dnnl::convolution_backward_weights>;

  Prims& prims(const Tensor& in, bool) {
    const int64_t N = in.shape[0];
    auto it = cache_.find(N);
    if (it != cache_.end()) return it->second;
    const Node& n = node_;
    if (in.shape[3] != n.cin) throw Error(ErrorCode::shape, "conv input channels do not match: " + n.name);
    Prims pr;
    const int64_t H = in.shape[1], W = in.shape[2];
    const ConvGeom c = conv_geom(n);
    const int64_t OH = c.out_h(int(H)), OW = c.out_w(int(W));
    pr.src_md = memory::desc({N, n.cin, H, W}, dt::f32, tag::nhwc);
    pr.dst_md = memory::desc({N, n.cout, OH, OW}, dt::f32, tag::nhwc);
    memory::dims wdims;
    if (n.groups == 1) {
      wdims = {n.cout, n.cin, c.kh, c.kw};
      pr.user_w_md = memory::desc(wdims, dt::f32, tag::oihw);
    } else {
      wdims = {n.groups, n.cout / n.groups, n.cin / n.groups, c.kh, c.kw};
      pr.user_w_md = memory::desc(wdims, dt::f32, tag::goihw);
    }
    memory::desc any_w(wdims, dt::f32, tag::any);
    pr.bias_md = n.bias ? memory::desc({n.cout}, dt::f32, tag::x) : memory::desc();
    const memory::dims strides{c.sh, c.sw}, pad{c.pt, c.pl}, dil{c.dil - 1, c.dil - 1};
    // The right padding the last window reaches, so (H + pl + pr - span) / s + 1 == OH (rows a
    // stride skips at the end need none).
    const memory::dims pad_r{std::max<int64_t>(0, (OH - 1) * c.sh + c.dil * (c.kh - 1) + 1 - H - c.pt),
                             std::max<int64_t>(0, (OW - 1) * c.sw + c.dil * (c.kw - 1) + 1 - W - c.pl)};
    auto fdesc = [&](dnnl::prop_kind pk) {
      return n.bias ? dnnl::convolution_forward::desc(pk, dnnl::algorithm::convolution_direct, pr.src_md, any_w,
                                                      pr.bias_md, pr.dst_md, strides, dil, pad, pad_r)
                    : dnnl::convolution_forward::desc(pk, dnnl::algorithm::convolution_direct, pr.src_md, any_w,
                                                      pr.dst_md, strides, dil, pad, pad_r);
    };
    auto bw_desc = n.bias ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, pr.src_md,
                                                                     any_w, pr.bias_md, pr.dst_md, strides, dil, pad, pad_r)
                          : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, pr.src_md,
                                                                     any_w, pr.dst_md, strides, dil, pad, pad_r);
    pr.create(fdesc,
              dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, pr.src_md, any_w, pr.dst_md,
                                                    strides, dil, pad, pad_r),
              bw_desc);
    return cache_.emplace(N, std::move(pr)).first->second;
  }

  std::map<int64_t, Prims> cache_;
};

}  // namespace

std::unique_ptr<Layer> make_conv2d(const Node& n) { return std::make_unique<Conv2dLayer>(n); }

}  // namespace flynet::layers
