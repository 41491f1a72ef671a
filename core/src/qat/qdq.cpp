#include "flynet/core/qdq.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "flynet/core/net.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {

namespace {

const std::string kPrefix = "qdq.";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TensorRecord i32_record(const std::string& name, const std::vector<int32_t>& v) {
  TensorRecord t;
  t.name = name;
  t.dtype = DType::i32;
  t.shape = {int64_t(v.size())};
  t.data.resize(v.size() * sizeof(int32_t));
  if (!v.empty()) std::memcpy(t.data.data(), v.data(), t.data.size());
  return t;
}

std::vector<int32_t> i32_values(const TensorRecord& t, const std::string& file) {
  if (t.dtype != DType::i32 || t.data.size() != size_t(t.numel()) * sizeof(int32_t))
    throw Error(ErrorCode::format, "QDQ record '" + t.name + "' is not an int32 vector", file);
  std::vector<int32_t> v(size_t(t.numel()));
  if (!v.empty()) std::memcpy(v.data(), t.data.data(), t.data.size());
  return v;
}

void check_scales(const std::string& name, const std::vector<float>& s, const std::string& file) {
  if (s.empty() || std::any_of(s.begin(), s.end(), [](float x) { return !(x > 0.f) || !std::isfinite(x); }))
    throw Error(ErrorCode::format, "QDQ record '" + name + "' holds a scale that is not a positive number", file);
}

// One extra tensor into the record: which node and which field its name says.
void read_entry(const TensorRecord& t, QdqRecord& r, const std::string& file) {
  static const char* const kFields[] = {".act", ".wscale", ".bias_scale", ".bias"};
  for (const char* f : kFields) {
    if (!ends_with(t.name, f)) continue;
    const std::string node = t.name.substr(kPrefix.size(), t.name.size() - kPrefix.size() - std::strlen(f));
    const std::string field = f;
    if (field == ".bias") {
      r.weights[node].bias = i32_values(t, file);
      return;
    }
    std::vector<float> v = t.to_f32(file);
    if (field == ".act") {
      auto is_code = [](float x) { return x == std::round(x) && x >= -128.f && x <= 127.f; };
      if ((v.size() != 2 && v.size() != 4) || !std::all_of(v.begin() + 1, v.end(), is_code) ||
          (v.size() == 4 && v[2] > v[3]))
        throw Error(ErrorCode::format, "QDQ record '" + t.name + "' is not {scale, zero point[, lo, hi]} of int8", file);
      check_scales(t.name, {v[0]}, file);
      r.acts[node] = ActQuant{v[0], int32_t(v[1])};
      if (v.size() == 4) r.code_ranges[node] = CodeRange{int32_t(v[2]), int32_t(v[3])};
    } else {
      check_scales(t.name, v, file);
      (field == ".wscale" ? r.weights[node].scales : r.weights[node].bias_scale) = std::move(v);
    }
    return;
  }
  throw Error(ErrorCode::format, "unknown QDQ record '" + t.name + "'", file);
}

}  // namespace

std::optional<QdqRecord> read_qdq(const Model& m, const std::string& file) {
  QdqRecord r;
  bool any = false;
  for (const TensorRecord& t : m.extra)
    if (t.name.rfind(kPrefix, 0) == 0) {
      read_entry(t, r, file);
      any = true;
    }
  if (!any) return std::nullopt;
  for (const auto& [node, w] : r.weights) {
    if (w.scales.empty() || w.bias.empty() != w.bias_scale.empty())
      throw Error(ErrorCode::format, "QDQ record of '" + node + "' lacks its weight scales or its bias scale", file);
    if (!w.bias.empty() && (w.bias.size() != w.scales.size() ||
                            (w.bias_scale.size() != 1 && w.bias_scale.size() != w.scales.size())))
      throw Error(ErrorCode::format, "QDQ bias of '" + node + "' is not one per output channel", file);
  }
  return r;
}

void write_qdq(Model& m, const QdqRecord& r) {
  std::erase_if(m.extra, [](const TensorRecord& t) { return t.name.rfind(kPrefix, 0) == 0; });
  for (const auto& [node, q] : r.acts) {
    auto c = r.code_ranges.find(node);
    const CodeRange range = c == r.code_ranges.end() ? CodeRange{} : c->second;
    const float v[4] = {q.scale, float(q.zero_point), float(range.lo), float(range.hi)};
    m.extra.push_back(TensorRecord::from_f32(kPrefix + node + ".act", {range.narrowed() ? 4 : 2}, v));
  }
  for (const auto& [node, w] : r.weights) {
    m.extra.push_back(TensorRecord::from_f32(kPrefix + node + ".wscale", {int64_t(w.scales.size())}, w.scales.data()));
    if (w.bias.empty()) continue;
    m.extra.push_back(i32_record(kPrefix + node + ".bias", w.bias));
    m.extra.push_back(
        TensorRecord::from_f32(kPrefix + node + ".bias_scale", {int64_t(w.bias_scale.size())}, w.bias_scale.data()));
  }
}

std::vector<int32_t> qdq_weight_codes(const Model& m, const std::string& node, const QdqWeights& w,
                                      const std::string& file) {
  const Tensor& t = m.param(node + ".weight");
  const int64_t oc = t.shape[0], per = t.numel() / oc;
  if (int64_t(w.scales.size()) != oc)
    throw Error(ErrorCode::format, "QDQ weight scales of '" + node + "' are not one per output channel", file);
  std::vector<int32_t> codes(size_t(t.numel()));
  for (int64_t c = 0; c < oc; ++c)
    for (int64_t i = c * per; i < (c + 1) * per; ++i) {
      const float s = w.scales[size_t(c)], v = t.data[size_t(i)];
      const double code = std::round(double(v) / double(s));
      if (code < -128 || code > 127 || float(code * double(s)) != v)
        throw Error(ErrorCode::format,
                    "the weights of '" + node + "' are no longer the QDQ model's int8 codes times their scales "
                    "(changed since import)", file);
      codes[size_t(i)] = int32_t(code);
    }
  return codes;
}

float qdq_round_trip(float x, const ActQuant& q, const CodeRange& r) {
  const float code = std::clamp(std::nearbyint(x / q.scale) + float(q.zero_point), float(r.lo), float(r.hi));
  return (code - float(q.zero_point)) * q.scale;
}

Tensor qdq_simulate(Model& m, const QdqRecord& r, const Tensor& images) {
  std::vector<const ActQuant*> at(m.graph.nodes.size(), nullptr);
  std::vector<CodeRange> codes(m.graph.nodes.size());
  for (size_t i = 0; i < m.graph.nodes.size(); ++i) {
    auto it = r.acts.find(m.graph.nodes[i].name);
    if (it != r.acts.end()) at[i] = &it->second;
    auto c = r.code_ranges.find(m.graph.nodes[i].name);
    if (c != r.code_ranges.end()) codes[i] = c->second;
  }
  auto round_trip = [&](Tensor& t, size_t i) {
    if (at[i])
      for (float& v : t.data) v = qdq_round_trip(v, *at[i], codes[i]);
  };
  Tensor x = images;
  round_trip(x, 0);
  Net net(m);
  net.set_output_hook([&](const Node&, int i, Tensor& out) { round_trip(out, size_t(i)); });
  return net.forward(x, RunCtx{});
}

}  // namespace flynet
