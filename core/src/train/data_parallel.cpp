// Bucketed gradient averaging and the model state kept equal over the ranks (data_parallel.hpp).
#include "data_parallel.hpp"

#include <algorithm>
#include <cstring>

#include "flynet/core/qat.hpp"

namespace flynet {

GradientReducer::GradientReducer(Net& net, Communicator& comm, int64_t bucket_bytes)
    : comm_(comm), overlap_(bucket_bytes > 0) {
  const Graph& g = net.model().graph;
  node_parts_.resize(g.nodes.size());
  const int64_t limit = overlap_ ? std::max<int64_t>(1, bucket_bytes / int64_t(sizeof(float))) : INT64_MAX;
  for (size_t i = g.nodes.size(); i-- > 0;)
    for (const ParamDecl& d : g.nodes[i].params) {
      if (!d.trainable()) continue;
      if (buckets_.empty() || int64_t(buckets_.back().buf.size()) >= limit) buckets_.emplace_back();
      Bucket& b = buckets_.back();
      Tensor* grad = &net.grads().at(d.name);
      const Part p{grad, int(buckets_.size()) - 1, int64_t(b.buf.size())};
      b.parts.push_back(p);
      b.buf.resize(b.buf.size() + size_t(grad->numel()));
      node_parts_[i].push_back(p);
    }
  net.set_grad_hook([this](int node) { node_done(node); });
}

void GradientReducer::begin_step() {
  for (Bucket& b : buckets_) b.pending = int(b.parts.size());
  next_ = 0;
}

void GradientReducer::node_done(int node) {
  for (const Part& p : node_parts_[size_t(node)]) {
    Bucket& b = buckets_[size_t(p.bucket)];
    std::copy(p.grad->data.begin(), p.grad->data.end(), b.buf.begin() + p.offset);
    --b.pending;
  }
  if (overlap_) start_ready();
}

void GradientReducer::start_ready() {
  while (next_ < buckets_.size() && buckets_[next_].pending == 0) start(buckets_[next_++]);
}

void GradientReducer::start(Bucket& b) {
  comm_.start_allreduce_sum(b.buf.data(), int64_t(b.buf.size()));
}

void GradientReducer::finish() {
  for (; next_ < buckets_.size(); ++next_) {
    Bucket& b = buckets_[next_];
    if (b.pending)  // its nodes' hooks did not all run: take the gradients as they are
      for (const Part& p : b.parts) std::copy(p.grad->data.begin(), p.grad->data.end(), b.buf.begin() + p.offset);
    start(b);
  }
  comm_.wait_all();
  const float inv = 1.f / float(comm_.size());
  for (const Bucket& b : buckets_)
    for (const Part& p : b.parts) {
      const float* s = b.buf.data() + p.offset;
      float* g = p.grad->ptr();
      for (int64_t e = 0; e < p.grad->numel(); ++e) g[e] = s[e] * inv;
    }
}

void average_bn_statistics(Model& model, Communicator& comm) {
  if (comm.size() == 1) return;
  std::vector<float> all;
  for (const Node& n : model.graph.nodes)
    for (const ParamDecl& d : n.params)
      if (!d.trainable()) {
        Tensor& t = model.param(d.name);
        all.insert(all.end(), t.data.begin(), t.data.end());
      }
  comm.allreduce_sum(all.data(), int64_t(all.size()));
  const float inv = 1.f / float(comm.size());
  size_t k = 0;
  for (const Node& n : model.graph.nodes)
    for (const ParamDecl& d : n.params)
      if (!d.trainable())
        for (float& v : model.param(d.name).data) v = all[k++] * inv;
}

void average_act_ranges(Model& model, Communicator& comm) {
  if (comm.size() == 1) return;
  std::vector<ActRange> r = load_act_ranges(model);
  std::vector<double> v;
  for (const ActRange& a : r) v.insert(v.end(), {a.min, a.max, a.initialised ? 1.0 : 0.0});
  comm.allreduce_sum(v.data(), int64_t(v.size()));
  for (size_t i = 0; i < r.size(); ++i)
    if (v[3 * i + 2] > 0) r[i] = {float(v[3 * i] / v[3 * i + 2]), float(v[3 * i + 1] / v[3 * i + 2]), true};
  store_act_ranges(model, r);
}

void check_same_parameters(const Model& model, Communicator& comm) {
  if (comm.size() == 1) return;
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the bits of every parameter
  for (const auto& [name, t] : model.params)
    for (float v : t.data) {
      uint32_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      h = (h ^ bits) * 0x100000001b3ULL;
    }
  try {
    check_same_on_all_ranks(comm, double(h >> 11), "the parameters");
  } catch (const Error& e) {
    throw Error(ErrorCode::internal, std::string(e.what()) + ": the ranks' models drifted apart");
  }
}

}  // namespace flynet
