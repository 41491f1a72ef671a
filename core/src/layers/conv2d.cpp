// Dense and grouped convolution with oneDNN (stem, 1x1 expansion/projection, 3x3 shortcuts,
// last conv). Depthwise (groups == cin) goes to depthwise.cpp instead.
//
// Activations stay NHWC user memory (no per-step reorders of the big tensors); the weights
// use format_tag::any so oneDNN picks its blocked jit layout, and the small OIHW user weights
// are reordered into it once per pass (and the weight gradient back). Primitives are created
// once per batch size and cached: forward_training for training, forward_inference otherwise.
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
    const int64_t OH = (H + 2 * n.pad - n.kernel) / n.stride + 1, OW = (W + 2 * n.pad - n.kernel) / n.stride + 1;
    pr.src_md = memory::desc({N, n.cin, H, W}, dt::f32, tag::nhwc);
    pr.dst_md = memory::desc({N, n.cout, OH, OW}, dt::f32, tag::nhwc);
    memory::dims wdims, kdims{n.kernel, n.kernel};
    if (n.groups == 1) {
      wdims = {n.cout, n.cin, n.kernel, n.kernel};
      pr.user_w_md = memory::desc(wdims, dt::f32, tag::oihw);
    } else {
      wdims = {n.groups, n.cout / n.groups, n.cin / n.groups, n.kernel, n.kernel};
      pr.user_w_md = memory::desc(wdims, dt::f32, tag::goihw);
    }
    memory::desc any_w(wdims, dt::f32, tag::any);
    pr.bias_md = n.bias ? memory::desc({n.cout}, dt::f32, tag::x) : memory::desc();
    const memory::dims strides{n.stride, n.stride}, pad{n.pad, n.pad};
    // The right padding makes (H + pl + pr - k) / s + 1 == OH exactly.
    const memory::dims pad_r{(OH - 1) * n.stride + n.kernel - H - n.pad, (OW - 1) * n.stride + n.kernel - W - n.pad};
    auto fdesc = [&](dnnl::prop_kind pk) {
      return n.bias ? dnnl::convolution_forward::desc(pk, dnnl::algorithm::convolution_direct, pr.src_md, any_w,
                                                      pr.bias_md, pr.dst_md, strides, pad, pad_r)
                    : dnnl::convolution_forward::desc(pk, dnnl::algorithm::convolution_direct, pr.src_md, any_w,
                                                      pr.dst_md, strides, pad, pad_r);
    };
    auto bw_desc = n.bias ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, pr.src_md,
                                                                     any_w, pr.bias_md, pr.dst_md, strides, pad, pad_r)
                          : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, pr.src_md,
                                                                     any_w, pr.dst_md, strides, pad, pad_r);
    pr.create(fdesc,
              dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, pr.src_md, any_w, pr.dst_md,
                                                    strides, pad, pad_r),
              bw_desc);
    return cache_.emplace(N, std::move(pr)).first->second;
  }

  std::map<int64_t, Prims> cache_;
};

}  // namespace

std::unique_ptr<Layer> make_conv2d(const Node& n) { return std::make_unique<Conv2dLayer>(n); }

}  // namespace flynet::layers
