// Fully connected layer (fc1, fc2, SE fcs) with oneDNN inner product: input [N, 1, 1, C] is
// viewed as [N, C], weights [out, in] (PyTorch order) with format_tag::any inside oneDNN,
// bias always present. Primitives are cached per batch size.
#include <map>

#include "flynet/formats/error.hpp"
#include "layer_util.hpp"
#include "onednn.hpp"

namespace flynet::layers {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

class LinearLayer final : public Layer {
 public:
  using Layer::Layer;

  void forward(const RunCtx& ctx, const ConstTensorPtrs& x, const TensorPtrs& p, Tensor& y) override {
    const Tensor& in = *x[0];
    Prims& pr = prims(in);
    reshape(y, {in.shape[0], 1, 1, node_.cout});
    auto& fpd = ctx.training ? pr.fwd_train_pd : pr.fwd_inf_pd;
    memory src(pr.src_md, cpu_engine(), const_cast<float*>(in.ptr()));
    memory dst(pr.dst_md, cpu_engine(), y.ptr());
    memory uw(pr.user_w_md, cpu_engine(), p[0]->ptr());
    memory w = reorder_if_needed(uw, fpd.weights_desc(), pr.w_fwd);
    memory b(pr.bias_md, cpu_engine(), p[1]->ptr());
    (ctx.training ? pr.fwd_train : pr.fwd_inf)
        .execute(cpu_stream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, dst}});
    cpu_stream().wait();
  }

  void backward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs& p, const Tensor&, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs& dp) override {
    const Tensor& in = *x[0];
    Prims& pr = prims(in);
    memory ddst(pr.dst_md, cpu_engine(), const_cast<float*>(dy.ptr()));
    if (dx[0]) {
      memory uw(pr.user_w_md, cpu_engine(), p[0]->ptr());
      memory w = reorder_if_needed(uw, pr.bwd_data_pd.weights_desc(), pr.w_bwd);
      memory dsrc(pr.src_md, cpu_engine(), dx[0]->ptr());
      pr.bwd_data.execute(cpu_stream(), {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dsrc}});
    }
    if (dp[0] || dp[1]) {
      memory src(pr.src_md, cpu_engine(), const_cast<float*>(in.ptr()));
      Tensor scratch_w, scratch_b;
      if (!dp[0]) scratch_w = Tensor({node_.cout, node_.cin});
      if (!dp[1]) scratch_b = Tensor({node_.cout});
      memory udw(pr.user_w_md, cpu_engine(), dp[0] ? dp[0]->ptr() : scratch_w.ptr());
      memory db(pr.bias_md, cpu_engine(), dp[1] ? dp[1]->ptr() : scratch_b.ptr());
      const bool direct = pr.bwd_w_pd.diff_weights_desc() == pr.user_w_md;
      if (!direct && !pr.dw) pr.dw = memory(pr.bwd_w_pd.diff_weights_desc(), cpu_engine());
      memory dw = direct ? udw : pr.dw;
      pr.bwd_w.execute(cpu_stream(),
                       {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, dw}, {DNNL_ARG_DIFF_BIAS, db}});
      if (!direct) dnnl::reorder(dw, udw).execute(cpu_stream(), dw, udw);
    }
    cpu_stream().wait();
  }

 private:
  struct Prims {
    memory::desc src_md, dst_md, user_w_md, bias_md;
    dnnl::inner_product_forward::primitive_desc fwd_train_pd, fwd_inf_pd;
    dnnl::inner_product_forward fwd_train, fwd_inf;
    dnnl::inner_product_backward_data::primitive_desc bwd_data_pd;
    dnnl::inner_product_backward_data bwd_data;
    dnnl::inner_product_backward_weights::primitive_desc bwd_w_pd;
    dnnl::inner_product_backward_weights bwd_w;
    memory w_fwd, w_bwd, dw;
  };

  Prims& prims(const Tensor& in) {
    const int64_t N = in.shape[0];
    auto it = cache_.find(N);
    if (it != cache_.end()) return it->second;
    const Node& n = node_;
    if (in.numel() != N * n.cin) throw Error(ErrorCode::shape, "linear input size does not match: " + n.name);
    Prims pr;
    pr.src_md = memory::desc({N, n.cin}, dt::f32, tag::nc);
    pr.dst_md = memory::desc({N, n.cout}, dt::f32, tag::nc);
    pr.user_w_md = memory::desc({n.cout, n.cin}, dt::f32, tag::oi);
    memory::desc any_w({n.cout, n.cin}, dt::f32, tag::any);
    pr.bias_md = memory::desc({n.cout}, dt::f32, tag::x);
    auto& eng = cpu_engine();
    auto fdesc = [&](dnnl::prop_kind pk) { return dnnl::inner_product_forward::desc(pk, pr.src_md, any_w, pr.bias_md, pr.dst_md); };
    pr.fwd_train_pd = dnnl::inner_product_forward::primitive_desc(fdesc(dnnl::prop_kind::forward_training), eng);
    pr.fwd_inf_pd = dnnl::inner_product_forward::primitive_desc(fdesc(dnnl::prop_kind::forward_inference), eng);
    pr.fwd_train = dnnl::inner_product_forward(pr.fwd_train_pd);
    pr.fwd_inf = dnnl::inner_product_forward(pr.fwd_inf_pd);
    pr.bwd_data_pd = dnnl::inner_product_backward_data::primitive_desc(
        dnnl::inner_product_backward_data::desc(pr.src_md, any_w, pr.dst_md), eng, pr.fwd_train_pd);
    pr.bwd_data = dnnl::inner_product_backward_data(pr.bwd_data_pd);
    pr.bwd_w_pd = dnnl::inner_product_backward_weights::primitive_desc(
        dnnl::inner_product_backward_weights::desc(pr.src_md, any_w, pr.bias_md, pr.dst_md), eng, pr.fwd_train_pd);
    pr.bwd_w = dnnl::inner_product_backward_weights(pr.bwd_w_pd);
    return cache_.emplace(N, std::move(pr)).first->second;
  }

  std::map<int64_t, Prims> cache_;
};

}  // namespace

std::unique_ptr<Layer> make_linear(const Node& n) { return std::make_unique<LinearLayer>(n); }

}  // namespace flynet::layers
