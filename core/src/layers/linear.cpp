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
    pr.forward(ctx.training, in.ptr(), p[0]->ptr(), p[1]->ptr(), y.ptr());
    cpu_stream().wait();
  }

  void backward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs& p, const Tensor&, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs& dp) override {
    const Tensor& in = *x[0];
    Prims& pr = prims(in);
    if (dx[0]) pr.backward_data(dy.ptr(), p[0]->ptr(), dx[0]->ptr());
    if (dp[0] || dp[1]) {
      Tensor scratch_w, scratch_b;
      if (!dp[0]) scratch_w = Tensor({node_.cout, node_.cin});
      if (!dp[1]) scratch_b = Tensor({node_.cout});
      pr.backward_weights(in.ptr(), dy.ptr(), dp[0] ? dp[0]->ptr() : scratch_w.ptr(),
                          dp[1] ? dp[1]->ptr() : scratch_b.ptr());
    }
    cpu_stream().wait();
  }

 private:
  using Prims = WeightedPrims<dnnl::inner_product_forward, dnnl::inner_product_backward_data,
                              dnnl::inner_product_backward_weights>;

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
    pr.create([&](dnnl::prop_kind pk) { return dnnl::inner_product_forward::desc(pk, pr.src_md, any_w, pr.bias_md, pr.dst_md); },
              dnnl::inner_product_backward_data::desc(pr.src_md, any_w, pr.dst_md),
              dnnl::inner_product_backward_weights::desc(pr.src_md, any_w, pr.bias_md, pr.dst_md));
    return cache_.emplace(N, std::move(pr)).first->second;
  }

  std::map<int64_t, Prims> cache_;
};

}  // namespace

std::unique_ptr<Layer> make_linear(const Node& n) { return std::make_unique<LinearLayer>(n); }

}  // namespace flynet::layers
