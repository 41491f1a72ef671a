#include "flynet/core/model.hpp"

#include <cmath>
#include <random>
#include <sstream>

#include "flynet/core/model_state.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/h5_store.hpp"
#include "flynet/formats/int_graph.hpp"

namespace flynet {

std::string Tensor::shape_str() const {
  std::ostringstream o;
  o << '[';
  for (size_t i = 0; i < shape.size(); ++i) o << (i ? "," : "") << shape[i];
  o << ']';
  return o.str();
}

Tensor& Model::param(const std::string& name) {
  auto it = params.find(name);
  if (it == params.end()) throw Error(ErrorCode::internal, "no parameter '" + name + "'");
  return it->second;
}

const Tensor& Model::param(const std::string& name) const {
  auto it = params.find(name);
  if (it == params.end()) throw Error(ErrorCode::internal, "no parameter '" + name + "'");
  return it->second;
}

Model Model::create(const ArchSpec& spec, uint64_t seed) {
  Model m;
  m.graph = build_graph(spec);
  std::mt19937_64 rng(seed);
  for (const ParamDecl& p : m.graph.all_params()) {
    Tensor t(p.shape);
    switch (p.role) {
      case ParamRole::conv_weight: {
        // kaiming_normal_(mode="fan_out"), as torchvision's MobileNetV3.
        const double fan_out = double(p.shape[0]) * p.shape[2] * p.shape[3];
        std::normal_distribution<float> d(0.f, float(std::sqrt(2.0 / fan_out)));
        for (float& v : t.data) v = d(rng);
        break;
      }
      case ParamRole::linear_weight: {
        std::normal_distribution<float> d(0.f, 0.01f);
        for (float& v : t.data) v = d(rng);
        break;
      }
      case ParamRole::eca_weight: {
        const float b = float(1.0 / std::sqrt(double(p.numel())));
        std::uniform_real_distribution<float> d(-b, b);
        for (float& v : t.data) v = d(rng);
        break;
      }
      case ParamRole::bn_gamma:
      case ParamRole::bn_var:
        t.data.assign(t.data.size(), 1.f);
        break;
      case ParamRole::bias:
      case ParamRole::bn_beta:
      case ParamRole::bn_mean:
        break;
    }
    m.params.emplace(p.name, std::move(t));
  }
  return m;
}

ModelRecord Model::to_record() const {
  ModelRecord r;
  r.arch = graph.spec.to_map();
  r.meta = meta;
  for (const ParamDecl& p : graph.all_params()) {
    const Tensor& t = param(p.name);
    r.tensors.push_back(TensorRecord::from_f32(p.name, t.shape, t.ptr()));
  }
  r.tensors.insert(r.tensors.end(), extra.begin(), extra.end());
  return r;
}

Model Model::from_record(const ModelRecord& rec, const std::string& file) {
  if (is_int_graph(rec))
    throw Error(ErrorCode::format, "an int8 model (from flynet quantize) where a float model is needed", file);
  Model m;
  try {
    m.graph = build_graph(ArchSpec::from_map(rec.arch));
  } catch (const Error& e) {
    throw Error(ErrorCode::format, std::string("bad architecture: ") + e.what(), file);
  }
  m.meta = rec.meta;
  check_model_state(m, file);  // the state records validate once, where the file is known
  std::map<std::string, const TensorRecord*> by_name;
  for (const TensorRecord& t : rec.tensors) by_name[t.name] = &t;
  for (const ParamDecl& p : m.graph.all_params()) {
    auto it = by_name.find(p.name);
    if (it == by_name.end()) throw Error(ErrorCode::format, "missing tensor '" + p.name + "'", file);
    const TensorRecord& t = *it->second;
    if (t.shape != p.shape) {
      Tensor want(p.shape);
      Tensor got;
      got.shape = t.shape;
      throw Error(ErrorCode::format,
                  "tensor '" + p.name + "' has shape " + got.shape_str() + ", the architecture needs " + want.shape_str(),
                  file);
    }
    Tensor v(p.shape);
    const std::vector<float> f = t.to_f32(file);
    std::copy(f.begin(), f.end(), v.data.begin());
    m.params.emplace(p.name, std::move(v));
    by_name.erase(it);
  }
  for (const TensorRecord& t : rec.tensors)
    if (by_name.count(t.name)) m.extra.push_back(t);
  return m;
}

void save_model(const Model& m, const std::string& path) { save_model_h5(m.to_record(), path); }

Model load_model(const std::string& path) { return Model::from_record(load_model_h5(path), path); }

}  // namespace flynet
