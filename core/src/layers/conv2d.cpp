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
    auto& fpd = ctx.training ? pr.fwd_train_pd : pr.fwd_inf_pd;
    memory src(pr.src_md, cpu_engine(), const_cast<float*>(in.ptr()));
    memory dst(pr.dst_md, cpu_engine(), y.ptr());
    memory uw(pr.user_w_md, cpu_engine(), p[0]->ptr());
    memory w = reorder_if_needed(uw, fpd.weights_desc(), pr.w_fwd);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}};
    if (node_.bias) args.insert({DNNL_ARG_BIAS, memory(pr.bias_md, cpu_engine(), p[1]->ptr())});
    (ctx.training ? pr.fwd_train : pr.fwd_inf).execute(cpu_stream(), args);
    cpu_stream().wait();
  }

  void backward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs& p, const Tensor&, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs& dp) override {
    const Tensor& in = *x[0];
    Prims& pr = prims(in, true);
    memory ddst(pr.dst_md, cpu_engine(), const_cast<float*>(dy.ptr()));
    if (dx[0]) {
      memory uw(pr.user_w_md, cpu_engine(), p[0]->ptr());
      memory w = reorder_if_needed(uw, pr.bwd_data_pd.weights_desc(), pr.w_bwd);
      memory dsrc(pr.src_md, cpu_engine(), dx[0]->ptr());
      pr.bwd_data.execute(cpu_stream(), {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dsrc}});
    }
    if (dp[0]) {
      memory src(pr.src_md, cpu_engine(), const_cast<float*>(in.ptr()));
      memory udw(pr.user_w_md, cpu_engine(), dp[0]->ptr());
      const bool direct = pr.bwd_w_pd.diff_weights_desc() == pr.user_w_md;
      if (!direct && !pr.dw) pr.dw = memory(pr.bwd_w_pd.diff_weights_desc(), cpu_engine());
      memory dw = direct ? udw : pr.dw;
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, dw}};
      Tensor scratch_bias;
      if (node_.bias) {
        if (!dp[1]) {
          scratch_bias = Tensor({node_.cout});
          args.insert({DNNL_ARG_DIFF_BIAS, memory(pr.bias_md, cpu_engine(), scratch_bias.ptr())});
        } else {
          args.insert({DNNL_ARG_DIFF_BIAS, memory(pr.bias_md, cpu_engine(), dp[1]->ptr())});
        }
      }
      pr.bwd_w.execute(cpu_stream(), args);
      if (!direct) dnnl::reorder(dw, udw).execute(cpu_stream(), dw, udw);
    }
    cpu_stream().wait();
  }

 private:
  struct Prims {
    memory::desc src_md, dst_md, user_w_md, bias_md;
    dnnl::convolution_forward::primitive_desc fwd_train_pd, fwd_inf_pd;
    dnnl::convolution_forward fwd_train, fwd_inf;
    dnnl::convolution_backward_data::primitive_desc bwd_data_pd;
    dnnl::convolution_backward_data bwd_data;
    dnnl::convolution_backward_weights::primitive_desc bwd_w_pd;
    dnnl::convolution_backward_weights bwd_w;
    memory w_fwd, w_bwd, dw;
  };

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
    auto& eng = cpu_engine();
    pr.fwd_train_pd = dnnl::convolution_forward::primitive_desc(fdesc(dnnl::prop_kind::forward_training), eng);
    pr.fwd_inf_pd = dnnl::convolution_forward::primitive_desc(fdesc(dnnl::prop_kind::forward_inference), eng);
    pr.fwd_train = dnnl::convolution_forward(pr.fwd_train_pd);
    pr.fwd_inf = dnnl::convolution_forward(pr.fwd_inf_pd);
    pr.bwd_data_pd = dnnl::convolution_backward_data::primitive_desc(
        dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, pr.src_md, any_w, pr.dst_md,
                                              strides, pad, pad_r),
        eng, pr.fwd_train_pd);
    pr.bwd_data = dnnl::convolution_backward_data(pr.bwd_data_pd);
    auto bw_desc = n.bias ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, pr.src_md,
                                                                     any_w, pr.bias_md, pr.dst_md, strides, pad, pad_r)
                          : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, pr.src_md,
                                                                     any_w, pr.dst_md, strides, pad, pad_r);
    pr.bwd_w_pd = dnnl::convolution_backward_weights::primitive_desc(bw_desc, eng, pr.fwd_train_pd);
    pr.bwd_w = dnnl::convolution_backward_weights(pr.bwd_w_pd);
    return cache_.emplace(N, std::move(pr)).first->second;
  }

  std::map<int64_t, Prims> cache_;
};

}  // namespace

std::unique_ptr<Layer> make_conv2d(const Node& n) { return std::make_unique<Conv2dLayer>(n); }

}  // namespace flynet::layers
