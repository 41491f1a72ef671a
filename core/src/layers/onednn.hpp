// The one oneDNN CPU engine and stream of the process, and the passes of the layers with weights
// that oneDNN runs (internal to core/src/layers).
#ifndef FLYNET_CORE_SRC_LAYERS_ONEDNN_HPP_
#define FLYNET_CORE_SRC_LAYERS_ONEDNN_HPP_

#include <unordered_map>

#include <dnnl.hpp>

namespace flynet::layers {

dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

/// Runs a reorder from `from` to `to` when their layouts differ; returns the memory to use.
dnnl::memory reorder_if_needed(const dnnl::memory& from, const dnnl::memory::desc& want, dnnl::memory& cache);

/// The primitives of a layer with weights for one batch size, and its three passes (conv2d.cpp,
/// linear.cpp): Fwd, BwdData and BwdWeights are oneDNN's forward, backward-data and
/// backward-weights primitives of the op. Activations are user memory as described by src_md and
/// dst_md; the user weights (user_w_md) are reordered into the layout the primitives chose
/// (format_tag::any) once per pass, and the weight gradient back. Passes are queued on
/// cpu_stream(); the caller waits.
template <class Fwd, class BwdData, class BwdWeights>
struct WeightedPrims {
  dnnl::memory::desc src_md, dst_md, user_w_md, bias_md;
  typename Fwd::primitive_desc fwd_train_pd, fwd_inf_pd;
  Fwd fwd_train, fwd_inf;
  typename BwdData::primitive_desc bwd_data_pd;
  BwdData bwd_data;
  typename BwdWeights::primitive_desc bwd_w_pd;
  BwdWeights bwd_w;
  dnnl::memory w_fwd, w_bwd, dw;

  /// Creates the primitives: fwd_desc(prop_kind) is the forward description for training and
  /// inference; the backward passes are hinted by the training one.
  template <class FwdDesc>
  void create(FwdDesc&& fwd_desc, const typename BwdData::desc& bwd_data_desc,
              const typename BwdWeights::desc& bwd_w_desc) {
    auto& eng = cpu_engine();
    fwd_train_pd = typename Fwd::primitive_desc(fwd_desc(dnnl::prop_kind::forward_training), eng);
    fwd_inf_pd = typename Fwd::primitive_desc(fwd_desc(dnnl::prop_kind::forward_inference), eng);
    fwd_train = Fwd(fwd_train_pd);
    fwd_inf = Fwd(fwd_inf_pd);
    bwd_data_pd = typename BwdData::primitive_desc(bwd_data_desc, eng, fwd_train_pd);
    bwd_data = BwdData(bwd_data_pd);
    bwd_w_pd = typename BwdWeights::primitive_desc(bwd_w_desc, eng, fwd_train_pd);
    bwd_w = BwdWeights(bwd_w_pd);
  }

  /// y = op(x, w) (+ bias when `bias` is not null).
  void forward(bool training, const float* x, const float* w, const float* bias, float* y) {
    auto& fpd = training ? fwd_train_pd : fwd_inf_pd;
    dnnl::memory src(src_md, cpu_engine(), const_cast<float*>(x));
    dnnl::memory dst(dst_md, cpu_engine(), y);
    dnnl::memory uw(user_w_md, cpu_engine(), const_cast<float*>(w));
    dnnl::memory wk = reorder_if_needed(uw, fpd.weights_desc(), w_fwd);
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wk}, {DNNL_ARG_DST, dst}};
    if (bias) args.insert({DNNL_ARG_BIAS, dnnl::memory(bias_md, cpu_engine(), const_cast<float*>(bias))});
    (training ? fwd_train : fwd_inf).execute(cpu_stream(), args);
  }

  /// dx = the input gradient of dy through the weights w.
  void backward_data(const float* dy, const float* w, float* dx) {
    dnnl::memory ddst(dst_md, cpu_engine(), const_cast<float*>(dy));
    dnnl::memory uw(user_w_md, cpu_engine(), const_cast<float*>(w));
    dnnl::memory wk = reorder_if_needed(uw, bwd_data_pd.weights_desc(), w_bwd);
    dnnl::memory dsrc(src_md, cpu_engine(), dx);
    bwd_data.execute(cpu_stream(), {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, wk}, {DNNL_ARG_DIFF_SRC, dsrc}});
  }

  /// dw_user (user layout) and, when `db` is not null, db = the weight and bias gradients of dy
  /// at input x.
  void backward_weights(const float* x, const float* dy, float* dw_user, float* db) {
    dnnl::memory src(src_md, cpu_engine(), const_cast<float*>(x));
    dnnl::memory ddst(dst_md, cpu_engine(), const_cast<float*>(dy));
    dnnl::memory udw(user_w_md, cpu_engine(), dw_user);
    const bool direct = bwd_w_pd.diff_weights_desc() == user_w_md;
    if (!direct && !dw) dw = dnnl::memory(bwd_w_pd.diff_weights_desc(), cpu_engine());
    dnnl::memory dwk = direct ? udw : dw;
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, dwk}};
    if (db) args.insert({DNNL_ARG_DIFF_BIAS, dnnl::memory(bias_md, cpu_engine(), db)});
    bwd_w.execute(cpu_stream(), args);
    if (!direct) dnnl::reorder(dwk, udw).execute(cpu_stream(), dwk, udw);
  }
};

}  // namespace flynet::layers

#endif  // FLYNET_CORE_SRC_LAYERS_ONEDNN_HPP_
