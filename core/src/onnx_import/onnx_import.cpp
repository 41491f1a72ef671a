// ONNX -> flynet Graph. Each ONNX value (a tensor name) maps to the flynet node that computes it;
// ops that compute nothing on a 1x1xC or NHWC tensor (Identity, Flatten and Reshape of a pooled
// vector, a Transpose pair that only converts the layout) map their output to their input's
// node. Weights come from initializers and Constant nodes. After the walk, only the nodes the
// output depends on are kept, and the graph is stored as text and rebuilt through build_graph,
// so an imported model loads exactly as a saved one does.
#include "flynet/core/onnx_import.hpp"

#include <onnx/checker.h>
#include <onnx/defs/tensor_proto_util.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "flynet/formats/isolated.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "flynet/core/fold_bn.hpp"
#include "flynet/core/graph_text.hpp"
#include "flynet/core/model_state.hpp"
#include "flynet/core/qdq.hpp"
#include "flynet/formats/error.hpp"
#include "qdq.hpp"

namespace flynet {

namespace {

constexpr int kMinOpset = 11, kMaxOpset = 17;

using onnx_qdq::Const;
using onnx_qdq::QParams;

// What an ONNX tensor name is in the flynet graph.
struct Value {
  int node = -1;
  bool nhwc_view = false;  // the NHWC-ordered view of the node's output (a layout Transpose)
  // A map flattened to [N, H*W*C] for a Gemm / MatMul: in ONNX's NCHW order, or in NHWC order
  // (flattened after a layout Transpose), which is flynet's.
  enum class Flat { no, nchw, nhwc } flat = Flat::no;
  std::array<int, 4> pads{0, 0, 0, 0};  // a pending zero Pad (top, left, bottom, right) for the next window op
  bool padded() const { return pads != std::array<int, 4>{0, 0, 0, 0}; }
};

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

class Importer {
 public:
  Importer(onnx::ModelProto& m, std::string path, const ImportOptions& o) : m_(m), path_(std::move(path)), opt_(o) {}

  Model run() {
    check_opset();
    collect_initializers();
    add_input();
    for (const onnx::NodeProto& n : m_.graph().node()) map_node(n);
    return finish();
  }

 private:
  // ---- errors ---------------------------------------------------------------------------
  [[noreturn]] void refuse(const onnx::NodeProto& n, const std::string& why) const {
    throw Error(ErrorCode::unsupported,
                why + " (node '" + n.name() + "', opset " + std::to_string(opset_) + ")", path_);
  }
  [[noreturn]] void bad_file(const std::string& why) const { throw Error(ErrorCode::format, why, path_); }

  void check_opset() {
    for (const auto& o : m_.opset_import())
      if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = int(o.version());
    if (opset_ < kMinOpset || opset_ > kMaxOpset)
      throw Error(ErrorCode::unsupported,
                  "ONNX opset " + std::to_string(opset_) + " (flynet imports opsets " + std::to_string(kMinOpset) +
                      " to " + std::to_string(kMaxOpset) + ")",
                  path_);
  }

  // ---- constants ------------------------------------------------------------------------
  Const to_const(const onnx::TensorProto& t) const {
    if (t.data_location() == onnx::TensorProto::EXTERNAL)
      throw Error(ErrorCode::unsupported, "tensor '" + t.name() + "' keeps its data in an external file", path_);
    Const c;
    c.dims.assign(t.dims().begin(), t.dims().end());
    c.type = t.data_type();
    switch (t.data_type()) {
      case onnx::TensorProto::FLOAT: c.f = onnx::ParseData<float>(&t); break;
      case onnx::TensorProto::DOUBLE: {
        const auto d = onnx::ParseData<double>(&t);
        c.f.assign(d.begin(), d.end());
        break;
      }
      case onnx::TensorProto::INT64: c.i = onnx::ParseData<int64_t>(&t); break;
      case onnx::TensorProto::INT32: {
        const auto d = onnx::ParseData<int32_t>(&t);
        c.i.assign(d.begin(), d.end());
        break;
      }
      case onnx::TensorProto::INT8:
      case onnx::TensorProto::UINT8: c.i = onnx_qdq::small_ints(t); break;
      default:
        throw Error(ErrorCode::unsupported,
                    "tensor '" + t.name() + "' of ONNX element type " + std::to_string(t.data_type()) +
                        " (flynet imports float and integer tensors)",
                    path_);
    }
    if (int64_t(c.f.size() + c.i.size()) != c.numel()) bad_file("tensor '" + t.name() + "' holds the wrong number of values");
    return c;
  }

  void collect_initializers() {
    for (const onnx::TensorProto& t : m_.graph().initializer()) consts_[t.name()] = to_const(t);
  }

  const Const* constant(const std::string& name) const {
    auto it = consts_.find(name);
    return it == consts_.end() ? nullptr : &it->second;
  }
  const Const& weight(const onnx::NodeProto& n, int k, const char* what) const {
    if (n.input_size() <= k || n.input(k).empty()) refuse(n, std::string(n.op_type()) + " without its " + what);
    const Const* c = constant(n.input(k));
    if (!c || c->f.empty()) refuse(n, std::string(n.op_type()) + " whose " + what + " is computed, not a constant");
    return *c;
  }

  // ---- attributes -----------------------------------------------------------------------
  static const onnx::AttributeProto* attr(const onnx::NodeProto& n, const char* name) {
    for (const auto& a : n.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  static int64_t attr_int(const onnx::NodeProto& n, const char* name, int64_t dflt) {
    const auto* a = attr(n, name);
    return a ? a->i() : dflt;
  }
  static float attr_float(const onnx::NodeProto& n, const char* name, float dflt) {
    const auto* a = attr(n, name);
    return a ? a->f() : dflt;
  }
  static std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const char* name) {
    const auto* a = attr(n, name);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
  }

  // ---- values and nodes -----------------------------------------------------------------
  Value value(const onnx::NodeProto& n, int k) const {
    if (n.input_size() <= k) refuse(n, n.op_type() + " with too few inputs");
    auto it = values_.find(n.input(k));
    if (it == values_.end()) {
      if (quantized_.count(n.input(k)))
        refuse(n, n.op_type() + " of the int8 tensor '" + n.input(k) + "' (only a DequantizeLinear may read it)");
      if (constant(n.input(k))) refuse(n, n.op_type() + " of a constant tensor '" + n.input(k) + "'");
      bad_file("node '" + n.name() + "' reads '" + n.input(k) + "', which no earlier node computes");
    }
    return it->second;
  }
  // The node computing input k, in flynet's layout (not a pending layout Transpose).
  int node_in(const onnx::NodeProto& n, int k) const {
    const Value v = value(n, k);
    if (v.nhwc_view) refuse(n, n.op_type() + " of a transposed tensor (only a Transpose pair that undoes the layout is removed)");
    if (v.flat != Value::Flat::no) refuse(n, n.op_type() + " of a flattened map (flynet flattens only before a Gemm or MatMul)");
    if (v.padded()) refuse(n, n.op_type() + " after a Pad (flynet folds a zero Pad only into a Conv or AveragePool)");
    return v.node;
  }
  const Shape& shape(int node) const { return g_.nodes[size_t(node)].out; }

  // PyTorch's scoped names "/blocks/blocks.0/a/a.0/Conv" as "blocks.0.a.0.Conv": a scope that the
  // next one repeats is dropped, characters outside [A-Za-z0-9_.-] become '_'.
  std::string unique_name(const onnx::NodeProto& n) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream scopes(n.name());
    while (std::getline(scopes, part, '/'))
      if (!part.empty()) {
        if (!parts.empty() && part.rfind(parts.back() + ".", 0) == 0) parts.pop_back();
        parts.push_back(part);
      }
    std::string s;
    for (const std::string& p : parts) s += (s.empty() ? "" : ".") + p;
    for (char& ch : s)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-' && ch != '.') ch = '_';
    if (s.empty()) s = n.op_type() + "_" + std::to_string(g_.nodes.size());
    std::string u = s;
    for (int k = 2; taken_.count(u); ++k) u = s + "_" + std::to_string(k);
    taken_.insert(u);
    return u;
  }

  int push(const onnx::NodeProto& src, Node n) {
    n.name = unique_name(src);
    try {
      n.out = infer_shape(g_, n);
    } catch (const Error& e) {
      refuse(src, src.op_type() + ": " + e.what());
    }
    declare_params(n);
    g_.nodes.push_back(std::move(n));
    return int(g_.nodes.size()) - 1;
  }
  void set_out(const onnx::NodeProto& n, int node, bool view = false) { set_value(n, Value{node, view}); }
  void set_value(const onnx::NodeProto& n, const Value& v) {
    if (n.output_size() < 1) bad_file("node '" + n.name() + "' has no output");
    values_[n.output(0)] = v;
  }
  void param(int node, const std::string& suffix, std::vector<int64_t> shape, std::vector<float> v) {
    Tensor t(std::move(shape));
    if (int64_t(v.size()) != t.numel())
      throw Error(ErrorCode::internal, "parameter " + g_.nodes[size_t(node)].name + suffix + " has the wrong size");
    t.data.assign(v.begin(), v.end());
    params_[g_.nodes[size_t(node)].name + suffix] = std::move(t);
  }

  void add_input() {
    const onnx::ValueInfoProto* in = nullptr;
    for (const auto& v : m_.graph().input())
      if (!constant(v.name())) {
        if (in) throw Error(ErrorCode::unsupported, "a model with more than one input (flynet models take one image)", path_);
        in = &v;
      }
    if (!in) bad_file("the graph has no input");
    const auto& dims = in->type().tensor_type().shape().dim();
    std::vector<int64_t> d;
    for (const auto& x : dims) d.push_back(x.has_dim_value() ? x.dim_value() : 1);  // a symbolic batch
    if (d.size() != 4 || d[0] != 1 || std::any_of(d.begin(), d.end(), [](int64_t x) { return x < 1; }))
      throw Error(ErrorCode::unsupported, "input '" + in->name() + "' is not one image of known size [N, C, H, W]", path_);
    Node n;
    n.name = "input";
    n.op = OpKind::input;
    const bool nhwc = opt_.layout == InputLayout::nhwc;
    n.out = nhwc ? Shape{int(d[1]), int(d[2]), int(d[3])} : Shape{int(d[2]), int(d[3]), int(d[1])};
    taken_.insert(n.name);
    g_.nodes.push_back(n);
    values_[in->name()] = Value{0, nhwc};
  }

  // ---- ops ------------------------------------------------------------------------------
  void map_node(const onnx::NodeProto& n) {
    if (!n.domain().empty() && n.domain() != "ai.onnx") refuse(n, "op '" + n.domain() + "." + n.op_type() + "'");
    const std::string& op = n.op_type();
    if (op == "Constant") return map_constant(n);
    if (op == "Conv") return map_conv(n);
    if (op == "BatchNormalization") return map_bn(n);
    if (op == "Clip" && quantized_.count(n.input(0))) return map_code_clip(n);
    if (op == "Relu" || op == "Sigmoid" || op == "HardSwish" || op == "HardSigmoid" || op == "Clip" ||
        op == "LeakyRelu")
      return map_activation(n);
    if (op == "Add") return map_add(n);
    if (op == "Mul") return map_mul(n);
    if (op == "GlobalAveragePool" || op == "ReduceMean") return map_pool(n);
    if (op == "AveragePool") return map_avg_pool(n);
    if (op == "Concat") return map_concat(n);
    if (op == "Softmax") return map_softmax(n);
    if (op == "Flatten" || op == "Reshape" || op == "Squeeze") return map_flatten(n);
    if (op == "Gemm" || op == "MatMul") return map_linear(n);
    if (op == "Identity" && constant(n.input(0))) return map_constant_alias(n);
    if (op == "Identity") return set_out(n, node_in(n, 0));
    if (op == "Dropout") return map_dropout(n);
    if (op == "Pad") return map_pad(n);
    if (op == "MaxPool") return map_max_pool(n);
    if (op == "Transpose") return map_transpose(n);
    if (op == "QuantizeLinear") return map_quantize(n);
    if (op == "DequantizeLinear") return map_dequantize(n);
    refuse(n, "unsupported ONNX op " + op);
  }

  // PyTorch's export passes shared scales and zero points through an Identity.
  void map_constant_alias(const onnx::NodeProto& n) {
    const Const c = *constant(n.input(0));
    consts_[n.output(0)] = c;
  }
  void map_constant(const onnx::NodeProto& n) {
    const auto* a = attr(n, "value");
    if (!a || !a->has_t()) refuse(n, "Constant other than a tensor value");
    consts_[n.output(0)] = to_const(a->t());
  }

  void map_conv(const onnx::NodeProto& n) {
    const Value pad_in = take_pads(n);
    const int x = pad_in.node;
    const Const& w = weight(n, 1, "weight");
    if (w.dims.size() != 4) refuse(n, "Conv that is not 2-D");
    const auto dil = attr_ints(n, "dilations");
    if (!dil.empty() && (dil.size() != 2 || dil[0] != dil[1])) refuse(n, "Conv with different dilations per axis");
    Node c;
    c.op = OpKind::conv2d;
    c.inputs = {x};
    c.cin = shape(x).c;
    c.cout = int(w.dims[0]);
    c.groups = int(attr_int(n, "group", 1));
    c.kernel = int(w.dims[2]);
    c.kernel_w = int(w.dims[3]);
    c.dilation = dil.empty() ? 1 : int(dil[0]);
    set_window(n, shape(x), c);
    add_pads(c, pad_in);
    c.bias = n.input_size() > 2 && !n.input(2).empty();
    if (c.groups < 1 || w.dims[1] * c.groups != c.cin) refuse(n, "Conv whose weight does not fit its input channels");
    const int i = push(n, c);
    param(i, ".weight", w.dims, w.f);
    if (c.bias) param(i, ".bias", {c.cout}, weight(n, 2, "bias").f);
    bind_weight(n, i, 0);
    if (c.bias) bind_bias(n, 2, i);
    set_out(n, i);
  }
  // Strides and pads (explicit or auto_pad) of a Conv or MaxPool whose kernel and dilation are set.
  void set_window(const onnx::NodeProto& n, const Shape& in, Node& c) const {
    const auto st = attr_ints(n, "strides");
    c.stride = st.empty() ? 1 : int(st[0]);
    c.stride_w = st.size() < 2 ? c.stride : int(st[1]);
    const auto* ap = attr(n, "auto_pad");
    const std::string auto_pad = ap ? ap->s() : "NOTSET";
    std::vector<int64_t> pads = attr_ints(n, "pads");
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") pads = same_pads(in, c, auto_pad == "SAME_LOWER");
    else if (auto_pad != "NOTSET" && auto_pad != "VALID") refuse(n, n.op_type() + " auto_pad " + auto_pad);
    if (pads.empty() || auto_pad == "VALID") pads = {0, 0, 0, 0};
    if (pads.size() != 4) refuse(n, n.op_type() + " pads that are not 2-D");
    c.pad = int(pads[0]);
    c.pad_w = int(pads[1]);
    c.pad_b = int(pads[2]);
    c.pad_r = int(pads[3]);
  }
  static std::vector<int64_t> same_pads(const Shape& s, const Node& c, bool lower) {
    std::vector<int64_t> p(4);
    auto axis = [&](int in, int k, int stride, int64_t& begin, int64_t& end) {
      const int out = (in + stride - 1) / stride;
      const int total = std::max(0, (out - 1) * stride + c.dilation * (k - 1) + 1 - in);
      begin = lower ? (total + 1) / 2 : total / 2;
      end = total - begin;
    };
    axis(s.h, c.kernel, c.stride, p[0], p[2]);
    axis(s.w, c.kernel_w, c.stride_w, p[1], p[3]);
    return p;
  }

  void map_bn(const onnx::NodeProto& n) {
    if (n.output_size() > 1) refuse(n, "BatchNormalization in training mode");
    const int x = node_in(n, 0);
    Node b;
    b.op = OpKind::batchnorm;
    b.inputs = {x};
    b.cin = b.cout = shape(x).c;
    b.bn_eps = attr_float(n, "epsilon", 1e-5f);
    b.bn_momentum = 1.0 - attr_float(n, "momentum", 0.9f);  // ONNX weighs the running value by momentum
    const int i = push(n, b);
    const char* names[] = {".gamma", ".beta", ".running_mean", ".running_var"};
    const char* what[] = {"scale", "bias", "mean", "variance"};
    for (int k = 0; k < 4; ++k) {
      const Const& c = weight(n, k + 1, what[k]);
      if (c.numel() != b.cout) refuse(n, std::string("BatchNormalization ") + what[k] + " of the wrong size");
      param(i, names[k], {b.cout}, c.f);
    }
    set_out(n, i);
  }

  void map_activation(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    Node a;
    a.op = OpKind::activation;
    a.inputs = {node_in(n, 0)};
    if (op == "Relu") a.act = Act::relu;
    else if (op == "Sigmoid") a.act = Act::sigmoid;
    else if (op == "HardSwish") a.act = Act::hswish;
    else if (op == "LeakyRelu") {
      a.act = Act::leaky_relu;
      a.alpha = attr_float(n, "alpha", 0.01f);
    }
    else if (op == "HardSigmoid") {
      // flynet's h-sigmoid is relu6(x + 3) / 6: ONNX alpha 1/6, beta 1/2 (PyTorch's Hardsigmoid).
      const float alpha = attr_float(n, "alpha", 0.2f), beta = attr_float(n, "beta", 0.5f);
      if (std::fabs(alpha - 1.f / 6.f) > 1e-6f || beta != 0.5f)
        refuse(n, "HardSigmoid with alpha " + std::to_string(alpha) + ", beta " + std::to_string(beta) +
                      " (flynet's is alpha 1/6, beta 0.5)");
      a.act = Act::hsigmoid;
    } else {
      a.act = clip_kind(n);
    }
    set_out(n, push(n, a));
  }
  Act clip_kind(const onnx::NodeProto& n) const {
    auto bound = [&](int k, float dflt) {
      if (n.input_size() <= k || n.input(k).empty()) return dflt;
      const Const* c = constant(n.input(k));
      if (!c || c->f.size() != 1) refuse(n, "Clip with a computed bound");
      return c->f[0];
    };
    const float lo = bound(1, -INFINITY), hi = bound(2, INFINITY);
    if (lo == 0.f && hi == 6.f) return Act::relu6;
    if (lo == 0.f && std::isinf(hi)) return Act::relu;
    refuse(n, "Clip to [" + std::to_string(lo) + ", " + std::to_string(hi) + "] (flynet has ReLU and ReLU6)");
  }

  void map_add(const onnx::NodeProto& n) {
    // MatMul + Add of a bias vector (exporters that do not write Gemm): the linear's bias.
    for (int k = 0; k < 2; ++k)
      if (const Const* c = constant(n.input(k))) {
        const int l = node_in(n, 1 - k);
        Node& lin = g_.nodes[size_t(l)];
        if (lin.op != OpKind::linear || c->numel() != lin.cout || linear_bias_set_.count(l))
          refuse(n, "Add of a constant other than a MatMul's bias");
        params_[lin.name + ".bias"].data.assign(c->f.begin(), c->f.end());
        linear_bias_set_.insert(l);
        bind_bias(n, k, l);
        return set_out(n, l);
      }
    Node a;
    a.op = OpKind::add;
    a.inputs = {node_in(n, 0), node_in(n, 1)};
    if (!(shape(a.inputs[0]) == shape(a.inputs[1]))) refuse(n, "Add of tensors of different shapes (no broadcasting)");
    set_out(n, push(n, a));
  }

  void map_mul(const onnx::NodeProto& n) {
    int x = node_in(n, 0), s = node_in(n, 1);
    // x * HardSigmoid(x): h-swish as exporters before opset 14 write it.
    for (int k = 0; k < 2; ++k) {
      const Node& h = g_.nodes[size_t(k ? x : s)];
      const int other = k ? s : x;
      if (h.op == OpKind::activation && h.act == Act::hsigmoid && h.inputs[0] == other) {
        Node a;
        a.op = OpKind::activation;
        a.act = Act::hswish;
        a.inputs = {other};
        return set_out(n, push(n, a));
      }
    }
    // Squeeze-and-excitation: a map times a per-channel 1x1 gate, in either order.
    if (shape(x).h == 1 && shape(x).w == 1 && !(shape(s).h == 1 && shape(s).w == 1)) std::swap(x, s);
    Node m;
    m.op = shape(s).h == 1 && shape(s).w == 1 && shape(s).c == shape(x).c ? OpKind::scale_channels : OpKind::mul;
    m.inputs = {x, s};
    if (m.op == OpKind::mul) m.inputs = {node_in(n, 0), node_in(n, 1)};  // broadcast either way, in file order
    set_out(n, push(n, m));
  }

  void map_pool(const onnx::NodeProto& n) {
    const int x = node_in(n, 0);
    const std::string& op = n.op_type();
    if (op == "ReduceMean") {
      auto axes = attr_ints(n, "axes");
      if (n.input_size() > 1 && !n.input(1).empty()) {  // opset 18 form; harmless to accept
        const Const* c = constant(n.input(1));
        if (!c) refuse(n, "ReduceMean with computed axes");
        axes = c->i;
      }
      for (int64_t& a : axes) a = a < 0 ? a + 4 : a;
      std::sort(axes.begin(), axes.end());
      if (axes != std::vector<int64_t>{2, 3}) refuse(n, "ReduceMean over axes other than H and W");
    }
    Node g;
    g.op = OpKind::global_avg_pool;
    g.inputs = {x};
    set_out(n, push(n, g));
  }

  void map_flatten(const onnx::NodeProto& n) {
    const Value in = value(n, 0);
    if (in.padded() || in.flat != Value::Flat::no) node_in(n, 0);  // refused there, with its reason
    const Shape& s = shape(in.node);
    if (n.op_type() == "Flatten" && attr_int(n, "axis", 1) != 1) refuse(n, "Flatten other than from axis 1");
    if (n.op_type() == "Reshape") {
      const Const* c = n.input_size() > 1 ? constant(n.input(1)) : nullptr;
      if (!c || c->i.size() != 2 || (c->i[1] != -1 && c->i[1] != s.numel()))
        refuse(n, "Reshape other than to [N, features]");
    }
    const bool vector = s.h == 1 && s.w == 1;
    if (n.op_type() == "Squeeze" && !vector) refuse(n, "Squeeze of a map (flynet flattens with Flatten or Reshape)");
    if (vector && !in.nhwc_view) return set_out(n, in.node);  // one order for a vector
    Value v{in.node};
    v.flat = in.nhwc_view ? Value::Flat::nhwc : Value::Flat::nchw;  // NHWC: flattened in flynet's own order
    set_value(n, v);
  }

  void map_linear(const onnx::NodeProto& n) {
    const Value flat = value(n, 0);
    const int x = flat.flat != Value::Flat::no ? flat.node : node_in(n, 0);
    const Const& w = weight(n, 1, "weight");
    if (w.dims.size() != 2) refuse(n, n.op_type() + " with a weight that is not a matrix");
    const bool gemm = n.op_type() == "Gemm";
    if (gemm && (attr_int(n, "transA", 0) != 0 || attr_float(n, "alpha", 1.f) != 1.f || attr_float(n, "beta", 1.f) != 1.f))
      refuse(n, "Gemm with transA, alpha or beta");
    const bool trans = gemm && attr_int(n, "transB", 0) != 0;  // [out, in] as flynet stores it
    const int64_t out = trans ? w.dims[0] : w.dims[1], in = trans ? w.dims[1] : w.dims[0];
    Node l;
    l.op = OpKind::linear;
    l.inputs = {x};
    l.cin = int(in);
    l.cout = int(out);
    l.bias = true;  // the int8 fully-connected kernel always has one; zero when the file has none
    const int i = push(n, l);
    std::vector<float> wt(size_t(in * out));
    for (int64_t o = 0; o < out; ++o)
      for (int64_t k = 0; k < in; ++k) wt[size_t(o * in + k)] = trans ? w.f[size_t(o * in + k)] : w.f[size_t(k * out + o)];
    if (flat.flat == Value::Flat::nchw) wt = nhwc_columns(wt, shape(x), out);
    param(i, ".weight", {out, in}, std::move(wt));
    std::vector<float> b(size_t(out), 0.f);
    if (gemm && n.input_size() > 2 && !n.input(2).empty()) {
      const Const& c = weight(n, 2, "bias");
      if (c.numel() != out) refuse(n, "Gemm bias that is not one per output");
      b = c.f;
      linear_bias_set_.insert(i);
      bind_bias(n, 2, i);
    }
    param(i, ".bias", {out}, std::move(b));
    bind_weight(n, i, trans ? 0 : 1);
    set_out(n, i);
  }

  void map_dropout(const onnx::NodeProto& n) {
    const int x = node_in(n, 0);
    float ratio = attr_float(n, "ratio", 0.5f);
    if (n.input_size() > 1 && !n.input(1).empty()) {
      const Const* c = constant(n.input(1));
      if (!c || c->f.size() != 1) refuse(n, "Dropout with a computed ratio");
      ratio = c->f[0];
    }
    Node d;
    d.op = OpKind::dropout;
    d.inputs = {x};
    d.drop = ratio;
    set_out(n, push(n, d));  // identity at inference; it drops again when the model is fine-tuned
  }

  void map_max_pool(const onnx::NodeProto& n) {
    if (n.output_size() > 1 && !n.output(1).empty()) refuse(n, "MaxPool with its Indices output");
    const int x = node_in(n, 0);
    const auto k = attr_ints(n, "kernel_shape"), dil = attr_ints(n, "dilations");
    if (k.size() != 2) refuse(n, "MaxPool that is not 2-D");
    if (attr_int(n, "ceil_mode", 0) != 0) refuse(n, "MaxPool with ceil_mode");
    if (std::any_of(dil.begin(), dil.end(), [](int64_t d) { return d != 1; })) refuse(n, "a dilated MaxPool");
    Node m;
    m.op = OpKind::max_pool;
    m.inputs = {x};
    m.cin = m.cout = shape(x).c;
    m.kernel = int(k[0]);
    m.kernel_w = int(k[1]);
    set_window(n, shape(x), m);
    set_out(n, push(n, m));
  }

  // A zero Pad of H and W (PyTorch writes one before an AveragePool, and for a 'same' Conv of
  // an even kernel): kept pending, added to the pads of the Conv or AveragePool that reads it.
  void map_pad(const onnx::NodeProto& n) {
    const int x = node_in(n, 0);
    const Const* p = n.input_size() > 1 ? constant(n.input(1)) : nullptr;
    const auto* mode = attr(n, "mode");
    const Const* fill = n.input_size() > 2 && !n.input(2).empty() ? constant(n.input(2)) : nullptr;
    const bool zero_fill = n.input_size() <= 2 || n.input(2).empty() ||
                           (fill && fill->numel() == 1 && (fill->f.empty() ? fill->i[0] == 0 : fill->f[0] == 0.f));
    if (!p || p->i.size() != 8 || (mode && mode->s() != "constant") || !zero_fill || p->i[0] || p->i[1] || p->i[4] ||
        p->i[5] || std::any_of(p->i.begin(), p->i.end(), [](int64_t v) { return v < 0; }))
      refuse(n, "Pad other than with zeros around H and W");
    Value v{x};
    v.pads = {int(p->i[2]), int(p->i[3]), int(p->i[6]), int(p->i[7])};
    set_value(n, v);
  }

  void map_transpose(const onnx::NodeProto& n) {
    const Value v = value(n, 0);
    const auto perm = attr_ints(n, "perm");
    const std::vector<int64_t> to_nhwc{0, 2, 3, 1}, to_nchw{0, 3, 1, 2};
    if (!v.nhwc_view && perm == to_nhwc) return set_out(n, v.node, true);
    if (v.nhwc_view && perm == to_nchw) return set_out(n, v.node, false);
    refuse(n, "Transpose other than a layout change that a second Transpose undoes");
  }

  // ---- QDQ (qdq.hpp) --------------------------------------------------------------------
  template <class F>
  auto qdq(const onnx::NodeProto& n, F f) -> decltype(f()) {
    if (opset_ < 13) refuse(n, n.op_type() + " before opset 13 (flynet imports QDQ models of opset 13 and later)");
    try {
      return f();
    } catch (const Error& e) {
      refuse(n, n.op_type() + ": " + e.what());
    }
  }
  QParams qparams(const onnx::NodeProto& n, int data_type) {
    if (n.input_size() < 2 || !constant(n.input(1))) refuse(n, n.op_type() + " without a constant scale");
    const bool has_zero = n.input_size() > 2 && !n.input(2).empty();
    const Const* zero = has_zero ? constant(n.input(2)) : nullptr;
    if (has_zero && !zero) refuse(n, n.op_type() + " with a computed zero point");
    return qdq(n, [&] { return onnx_qdq::read_params(*constant(n.input(1)), zero, attr_int(n, "axis", 1), data_type); });
  }

  // Of a constant (a weight): its codes, a constant. Of an activation: pending until its
  // DequantizeLinear, which gives the node that grid.
  void map_quantize(const onnx::NodeProto& n) {
    const QParams q = qparams(n, 0);
    if (const Const* c = constant(n.input(0))) {
      consts_[n.output(0)] = qdq(n, [&] { return onnx_qdq::quantize(*c, q); });
      return;
    }
    const Value v = value(n, 0);
    qdq(n, [&] { return onnx_qdq::activation_grid(q); });
    quantized_[n.output(0)] = {v, q};
  }
  // QuantizeLinear -> Clip -> DequantizeLinear: the codes of a reduced range (PyTorch's
  // quant_min / quant_max narrower than the type's).
  void map_code_clip(const onnx::NodeProto& n) {
    auto bound = [&](int k) -> const Const* {
      if (n.input_size() <= k || n.input(k).empty()) return nullptr;
      if (!constant(n.input(k))) refuse(n, "Clip of quantized codes by a computed bound");
      return constant(n.input(k));
    };
    const auto& entry = quantized_.at(n.input(0));  // a pair, not a binding: clang 14 cannot capture those
    const QParams clipped = qdq(n, [&] { return onnx_qdq::clip_codes(entry.second, bound(1), bound(2)); });
    quantized_[n.output(0)] = {entry.first, clipped};
  }
  void map_dequantize(const onnx::NodeProto& n) {
    if (n.input_size() < 1) refuse(n, "DequantizeLinear with too few inputs");
    if (const Const* c = constant(n.input(0))) {
      const QParams q = qparams(n, c->type);
      Const f = qdq(n, [&] { return onnx_qdq::dequantize(*c, q); });
      dequantized_[n.output(0)] = {*c, q};
      consts_[n.output(0)] = std::move(f);
      return;
    }
    auto it = quantized_.find(n.input(0));
    if (it == quantized_.end()) refuse(n, "DequantizeLinear of '" + n.input(0) + "', which no QuantizeLinear computes");
    const QParams q = qparams(n, it->second.second.type);
    if (!onnx_qdq::same_params(q, it->second.second))
      refuse(n, "DequantizeLinear whose scale or zero point differs from its QuantizeLinear's");
    const int node = it->second.first.node;
    const ActQuant grid = onnx_qdq::activation_grid(q);
    const auto codes = onnx_qdq::activation_codes(it->second.second);
    auto [at, fresh] = act_grids_.emplace(node, grid);
    auto [c, fresh_codes] = act_codes_.emplace(node, codes);
    if (!fresh && (at->second.scale != grid.scale || at->second.zero_point != grid.zero_point || c->second != codes))
      refuse(n, "a second quantization of '" + g_.nodes[size_t(node)].name + "' onto another grid");
    values_[n.output(0)] = it->second.first;
  }

  // The weight (input 1) of a conv or linear node that came from a DequantizeLinear: its
  // scales per output channel, which lie along `out_axis` of the ONNX tensor.
  void bind_weight(const onnx::NodeProto& n, int node, int out_axis) {
    auto it = dequantized_.find(n.input(1));
    if (it == dequantized_.end()) return;
    qdq_.weights[g_.nodes[size_t(node)].name].scales =
        qdq(n, [&] { return onnx_qdq::weight_scales(it->second.second, it->second.first.dims, out_axis); });
  }
  void bind_bias(const onnx::NodeProto& n, int k, int node) {
    auto it = dequantized_.find(n.input(k));
    if (it == dequantized_.end()) return;
    QdqWeights& w = qdq_.weights[g_.nodes[size_t(node)].name];
    w.bias = qdq(n, [&] {
      return onnx_qdq::bias_codes(it->second.first, it->second.second, g_.nodes[size_t(node)].cout, w.bias_scale);
    });
  }

  // The grids and weight scales of the nodes kept, into the model. A QDQ conv's weights are
  // its int8 codes only when no batch norm is folded into them.
  void write_qdq_record(Model& m) {
    QdqRecord r;
    for (const auto& [node, grid] : act_grids_) r.acts[g_.nodes[size_t(node)].name] = grid;
    for (const auto& [node, codes] : act_codes_)
      if (codes != std::pair<int32_t, int32_t>{-128, 127}) r.code_ranges[g_.nodes[size_t(node)].name] = {codes.first, codes.second};
    for (auto& [name, w] : qdq_.weights) {
      if (!m.params.count(name + ".weight")) continue;
      if (w.scales.empty())
        throw Error(ErrorCode::unsupported, "node '" + name + "' has an int32 bias but float weights", path_);
      r.weights[name] = w;
    }
    for (size_t i = 0; i < m.graph.nodes.size(); ++i)
      if (r.weights.count(m.graph.nodes[i].name) && bn_after(m.graph, int(i)) >= 0)
        throw Error(ErrorCode::unsupported,
                    "a BatchNormalization after the QDQ conv '" + m.graph.nodes[i].name +
                        "' (fold batch norm into the weights before quantizing)",
                    path_);
    auto dropped = [&](const auto& a) {
      return std::none_of(m.graph.nodes.begin(), m.graph.nodes.end(), [&](const Node& x) { return x.name == a.first; });
    };
    std::erase_if(r.acts, dropped);
    std::erase_if(r.code_ranges, dropped);
    if (!r.acts.empty() || !r.weights.empty()) write_qdq(m, r);
  }

  // ---- windows, concatenation, the class softmax ------------------------------------------
  // Input 0 of a window op with the zero Pad that may precede it (pads returned, not applied).
  Value take_pads(const onnx::NodeProto& n) const {
    Value v = value(n, 0);
    if (!v.padded()) v.node = node_in(n, 0);
    else if (v.nhwc_view || v.flat != Value::Flat::no) refuse(n, n.op_type() + " of a transposed tensor");
    return v;
  }
  static void add_pads(Node& c, const Value& v) {
    const ConvGeom g = conv_geom(c);
    c.pad = g.pt + v.pads[0];
    c.pad_w = g.pl + v.pads[1];
    c.pad_b = g.pb + v.pads[2];
    c.pad_r = g.pr + v.pads[3];
  }

  // ONNX flattens an N x C x H x W map as c * H * W + h * W + w, flynet (NHWC) as
  // (h * W + w) * C + c: the weight [out, in] gets its columns in flynet's order.
  static std::vector<float> nhwc_columns(const std::vector<float>& w, const Shape& s, int64_t out) {
    const int64_t in = s.numel(), hw = int64_t(s.h) * s.w;
    std::vector<float> r(w.size());
    for (int64_t o = 0; o < out; ++o)
      for (int64_t c = 0; c < s.c; ++c)
        for (int64_t p = 0; p < hw; ++p) r[size_t(o * in + p * s.c + c)] = w[size_t(o * in + c * hw + p)];
    return r;
  }

  void map_avg_pool(const onnx::NodeProto& n) {
    const Value in = take_pads(n);
    const Shape& s = shape(in.node);
    const auto k = attr_ints(n, "kernel_shape");
    if (k.size() != 2) refuse(n, "AveragePool that is not 2-D");
    if (attr_int(n, "ceil_mode", 0) != 0) refuse(n, "AveragePool with ceil_mode");
    Node a;
    a.op = OpKind::avg_pool;
    a.inputs = {in.node};
    a.cin = a.cout = s.c;
    a.kernel = int(k[0]);
    a.kernel_w = int(k[1]);
    set_window(n, s, a);
    const bool own_pads = conv_geom(a).pt || conv_geom(a).pl || conv_geom(a).pb || conv_geom(a).pr;
    a.count_pad = attr_int(n, "count_include_pad", 0) != 0;
    if (in.padded()) {  // the Pad's zeros are taps of the window: counted, as the node's own pads must be
      if (own_pads && !a.count_pad) refuse(n, "AveragePool that counts a Pad's zeros but not its own pads");
      a.count_pad = true;
      add_pads(a, in);
    }
    const ConvGeom g = conv_geom(a);
    if (g.kh == s.h && g.kw == s.w && !g.pt && !g.pl && !g.pb && !g.pr) {  // one window: a global pool
      Node gp;
      gp.op = OpKind::global_avg_pool;
      gp.inputs = {in.node};
      return set_out(n, push(n, gp));
    }
    set_out(n, push(n, a));
  }

  void map_concat(const onnx::NodeProto& n) {
    const int64_t axis = attr_int(n, "axis", 1);
    if (axis != 1 && axis != -3) refuse(n, "Concat along an axis other than the channels");
    Node c;
    c.op = OpKind::concat;
    for (int k = 0; k < n.input_size(); ++k) c.inputs.push_back(node_in(n, k));
    set_out(n, push(n, c));
  }

  // Softmax over the class scores: a [N, C] tensor (after a Gemm or MatMul) or [N, C, 1, 1].
  void map_softmax(const onnx::NodeProto& n) {
    const int x = node_in(n, 0);
    const int r = rank(n.input(0));
    const int64_t axis = attr_int(n, "axis", opset_ < 13 ? 1 : -1);
    const bool classes = r == 2 ? (axis == 1 || axis == -1) : axis == 1 || axis == -3;
    if (!classes || shape(x).h != 1 || shape(x).w != 1) refuse(n, "Softmax other than over the class scores");
    Node sm;
    sm.op = OpKind::softmax;
    sm.inputs = {x};
    set_out(n, push(n, sm));
  }
  // The rank shape inference gives a tensor (4 when it does not know).
  int rank(const std::string& name) const {
    for (const auto* list : {&m_.graph().value_info(), &m_.graph().output()})
      for (const auto& v : *list)
        if (v.name() == name && v.type().tensor_type().has_shape()) return v.type().tensor_type().shape().dim_size();
    return 4;
  }

  // ---- the result -----------------------------------------------------------------------
  Model finish() {
    if (m_.graph().output_size() != 1) throw Error(ErrorCode::unsupported, "a model with more than one output", path_);
    auto it = values_.find(m_.graph().output(0).name());
    if (it == values_.end() || it->second.nhwc_view) bad_file("the graph output is not computed from the input");
    const int out = it->second.node;
    if (shape(out).h != 1 || shape(out).w != 1)
      throw Error(ErrorCode::unsupported, "the output is a map, not class scores (flynet models classify)", path_);
    Graph g = reachable(out);
    for (size_t i = 0; i + 1 < g.nodes.size(); ++i)
      if (g.nodes[i].op == OpKind::softmax)
        throw Error(ErrorCode::unsupported,
                    "Softmax before the output (node '" + g.nodes[i].name + "', opset " + std::to_string(opset_) +
                        "; flynet's softmax ends the model)",
                    path_);
    ArchSpec spec;
    spec.arch = ArchKind::imported;
    spec.in_h = g.nodes[0].out.h;
    spec.in_w = g.nodes[0].out.w;
    spec.in_c = g.nodes[0].out.c;
    spec.classes = g.output().out.c;
    spec.graph = graph_to_text(g);
    Model m;
    try {
      m.graph = build_graph(spec);  // the stored text must rebuild this very graph
    } catch (const Error& e) {
      throw Error(ErrorCode::unsupported, e.what(), path_);
    }
    for (const ParamDecl& p : m.graph.all_params()) m.params.emplace(p.name, params_.at(p.name));
    m.meta["import.source"] = path_.substr(path_.find_last_of('/') + 1);
    m.meta["import.opset"] = std::to_string(opset_);
    if (!m_.producer_name().empty()) m.meta["import.producer"] = m_.producer_name() + " " + m_.producer_version();
    write_input_normalisation(m.meta, normalisation(), spec.in_c);
    write_qdq_record(m);
    return m;
  }

  // The nodes `out` depends on, in their order, inputs renumbered.
  Graph reachable(int out) const {
    std::vector<bool> keep(g_.nodes.size(), false);
    keep[size_t(out)] = keep[0] = true;
    for (int i = out; i > 0; --i)
      if (keep[size_t(i)])
        for (int k : g_.nodes[size_t(i)].inputs) keep[size_t(k)] = true;
    Graph g;
    std::vector<int> index(g_.nodes.size(), -1);
    for (size_t i = 0; i <= size_t(out); ++i) {
      if (!keep[i]) continue;
      Node n = g_.nodes[i];
      for (int& k : n.inputs) k = index[size_t(k)];
      index[i] = int(g.nodes.size());
      g.nodes.push_back(std::move(n));
    }
    return g;
  }

  InputNormalisation normalisation() const {
    InputNormalisation n{opt_.mean, opt_.std};
    if (!n.mean.empty() || !n.std.empty()) return n;
    Meta props;
    for (const auto& p : m_.metadata_props()) props[p.key()] = p.value();
    Meta meta;
    if (props.count("flynet.mean")) meta["data.mean"] = props["flynet.mean"];
    if (props.count("flynet.std")) meta["data.std"] = props["flynet.std"];
    return read_input_normalisation(meta, g_.nodes[0].out.c, path_);
  }

  onnx::ModelProto& m_;
  std::string path_;
  ImportOptions opt_;
  int opset_ = 0;
  std::map<std::string, Const> consts_;
  std::map<std::string, Value> values_;
  std::map<std::string, Tensor> params_;
  std::set<std::string> taken_;
  std::set<int> linear_bias_set_;
  Graph g_;
  std::map<std::string, std::pair<Value, QParams>> quantized_;   // QuantizeLinear outputs of activations
  std::map<std::string, std::pair<Const, QParams>> dequantized_;  // DequantizeLinear outputs of constants: codes
  std::map<int, ActQuant> act_grids_;                             // node -> its recorded int8 grid
  std::map<int, std::pair<int32_t, int32_t>> act_codes_;          // node -> the int8 codes the grid keeps
  QdqRecord qdq_;                                                  // weight scales by node name
};

// libonnx's shape inference divides by strides and dilations without checking them (a stride
// of 0 is a SIGFPE inside it, found by tests/fuzz/onnx_fuzz.cpp), so the window attributes are
// checked before it runs.
void check_window_attributes(const onnx::ModelProto& m, const std::string& path) {
  for (const onnx::NodeProto& n : m.graph().node())
    for (const onnx::AttributeProto& a : n.attribute()) {
      const bool positive = a.name() == "strides" || a.name() == "dilations" || a.name() == "kernel_shape";
      const bool non_negative = a.name() == "pads";
      if ((positive || non_negative) && a.type() != onnx::AttributeProto::INTS)
        throw Error(ErrorCode::format, "attribute " + a.name() + " of node '" + n.name() + "' is not a list of integers", path);
      for (const int64_t v : a.ints())
        if ((positive && v < 1) || (non_negative && v < 0))
          throw Error(ErrorCode::format,
                      "attribute " + a.name() + " of node '" + n.name() + "' (" + n.op_type() + ") holds " +
                          std::to_string(v) + (positive ? "; ONNX needs values >= 1" : "; ONNX needs values >= 0"),
                      path);
      if (a.name() == "group" && a.i() < 1)
        throw Error(ErrorCode::format, "attribute group of node '" + n.name() + "' (" + n.op_type() + ") holds " +
                                           std::to_string(a.i()) + "; ONNX needs values >= 1", path);
    }
}

onnx::ModelProto read_model(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::io, "cannot open the ONNX file", path);
  std::ostringstream bytes;
  bytes << f.rdbuf();
  onnx::ModelProto m;
  if (!m.ParseFromString(bytes.str()) || !m.has_graph())
    throw Error(ErrorCode::format, "not an ONNX model (the protobuf does not parse)", path);
  // libonnx's shape inference trusts the ranks and attributes it meets (a kernel_shape longer
  // than its input's spatial rank reads out of bounds: found by tests/fuzz/onnx_fuzz.cpp), so
  // checker and inference run in a child process, whose crash becomes one error line.
  const std::string checked = run_isolated(
      [&] {
        try {
          onnx::checker::check_model(m);
          check_window_attributes(m, path);
          onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), onnx::ShapeInferenceOptions(true, 1));
        } catch (const std::exception& e) {
          throw Error(ErrorCode::format, "the ONNX checker rejects the model: " + first_line(e.what()), path);
        }
        return m.SerializeAsString();
      },
      path, "ONNX", "libonnx's checker");
  if (!m.ParseFromString(checked)) throw Error(ErrorCode::format, "the checked ONNX model does not parse again", path);
  return m;
}

}  // namespace

Model import_onnx(const std::string& path, const ImportOptions& opt) {
  onnx::ModelProto m = read_model(path);
  return Importer(m, path, opt).run();
}

}  // namespace flynet
