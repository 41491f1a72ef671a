#include "flynet/core/graph.hpp"

#include <array>

#include "flynet/core/graph_text.hpp"

#include "flynet/formats/error.hpp"

namespace flynet {

std::string_view op_name(OpKind op) {
  switch (op) {
    case OpKind::input: return "input";
    case OpKind::conv2d: return "conv2d";
    case OpKind::dw_concat: return "dw_concat";
    case OpKind::batchnorm: return "batchnorm";
    case OpKind::activation: return "activation";
    case OpKind::va_eca: return "va_eca";
    case OpKind::head_reduce: return "head_reduce";
    case OpKind::add: return "add";
    case OpKind::global_avg_pool: return "global_avg_pool";
    case OpKind::linear: return "linear";
    case OpKind::scale_channels: return "scale_channels";
    case OpKind::dropout: return "dropout";
    case OpKind::max_pool: return "max_pool";
    case OpKind::avg_pool: return "avg_pool";
    case OpKind::concat: return "concat";
    case OpKind::mul: return "mul";
    case OpKind::softmax: return "softmax";
  }
  return "?";
}

std::string_view act_name(Act a) {
  switch (a) {
    case Act::relu: return "relu";
    case Act::hswish: return "hswish";
    case Act::hsigmoid: return "hsigmoid";
    case Act::sigmoid: return "sigmoid";
    case Act::relu6: return "relu6";
    case Act::leaky_relu: return "leaky_relu";
  }
  return "?";
}

std::string_view param_role_name(ParamRole r) {
  switch (r) {
    case ParamRole::conv_weight: return "conv_weight";
    case ParamRole::linear_weight: return "linear_weight";
    case ParamRole::bias: return "bias";
    case ParamRole::bn_gamma: return "bn_gamma";
    case ParamRole::bn_beta: return "bn_beta";
    case ParamRole::bn_mean: return "bn_mean";
    case ParamRole::bn_var: return "bn_var";
    case ParamRole::eca_weight: return "eca_weight";
  }
  return "?";
}

ConvGeom conv_geom(const Node& n) {
  ConvGeom g;
  g.kh = n.kernel;
  g.kw = n.kernel_w > 0 ? n.kernel_w : n.kernel;
  g.sh = n.stride;
  g.sw = n.stride_w > 0 ? n.stride_w : n.stride;
  g.pt = n.pad;
  g.pl = n.pad_w >= 0 ? n.pad_w : n.pad;
  g.pb = n.pad_b >= 0 ? n.pad_b : g.pt;
  g.pr = n.pad_r >= 0 ? n.pad_r : g.pl;
  g.dil = n.dilation;
  return g;
}

int64_t ParamDecl::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int Graph::find(std::string_view name) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == name) return int(i);
  return -1;
}

std::vector<int> Graph::users(int i) const {
  std::vector<int> u;
  for (size_t j = size_t(i) + 1; j < nodes.size(); ++j)
    for (int in : nodes[j].inputs)
      if (in == i) u.push_back(int(j));
  return u;
}

std::vector<ParamDecl> Graph::all_params() const {
  std::vector<ParamDecl> all;
  for (const Node& n : nodes) all.insert(all.end(), n.params.begin(), n.params.end());
  return all;
}

namespace {

// One row of the MobileNetV3-Small table (design 2.1) with TF-slim's expansion ratios (3.5).
struct BneckRow {
  int k;
  double ratio;  // expansion = make_div(C_in_scaled * ratio)
  int out;
  bool se;
  Act nl;
  int stride;
};
constexpr std::array<BneckRow, 11> kSmallRows = {{
    {3, 1.0, 16, true, Act::relu, 2},
    {3, 72.0 / 16, 24, false, Act::relu, 2},
    {3, 88.0 / 24, 24, false, Act::relu, 1},
    {5, 4.0, 40, true, Act::hswish, 2},
    {5, 6.0, 40, true, Act::hswish, 1},
    {5, 6.0, 40, true, Act::hswish, 1},
    {5, 3.0, 48, true, Act::hswish, 1},
    {5, 3.0, 48, true, Act::hswish, 1},
    {5, 6.0, 96, true, Act::hswish, 2},
    {5, 6.0, 96, true, Act::hswish, 1},
    {5, 6.0, 96, true, Act::hswish, 1},
}};

class Builder {
 public:
  explicit Builder(const ArchSpec& spec) { g_.spec = spec; }
  int block = -1;

  int input(int h, int w, int c) {
    Node n;
    n.name = "input";
    n.op = OpKind::input;
    n.out = {h, w, c};
    return push(std::move(n));
  }

  int conv(const std::string& name, int in, int cout, int k, int stride, int groups = 1, bool bias = false) {
    const Shape& s = shape(in);
    if (s.c % groups || cout % groups) throw Error(ErrorCode::internal, "bad groups in " + name);
    Node n = make(name, OpKind::conv2d, {in});
    n.cin = s.c;
    n.cout = cout;
    n.kernel = k;
    n.stride = stride;
    n.pad = (k - 1) / 2;
    n.groups = groups;
    n.bias = bias;
    n.out = {spatial(s.h, k, stride), spatial(s.w, k, stride), cout};
    n.params.push_back({name + ".weight", ParamRole::conv_weight, {cout, s.c / groups, k, k}});
    if (bias) n.params.push_back({name + ".bias", ParamRole::bias, {cout}});
    return push(std::move(n));
  }

  int dw_concat(const std::string& name, int in, int cout, int stride) {
    const Shape& s = shape(in);
    Node n = make(name, OpKind::dw_concat, {in});
    n.cin = s.c;
    n.cout = cout;
    n.kernel = 3;
    n.stride = stride;
    n.pad = 1;
    n.heads = (cout + s.c - 1) / s.c;
    n.out = {spatial(s.h, 3, stride), spatial(s.w, 3, stride), cout};
    n.params.push_back({name + ".weight", ParamRole::conv_weight, {cout, 1, 3, 3}});
    return push(std::move(n));
  }

  int bn(const std::string& name, int in) {
    Node n = make(name, OpKind::batchnorm, {in});
    n.out = shape(in);
    n.cin = n.cout = n.out.c;
    int64_t c = n.out.c;
    n.params.push_back({name + ".gamma", ParamRole::bn_gamma, {c}});
    n.params.push_back({name + ".beta", ParamRole::bn_beta, {c}});
    n.params.push_back({name + ".running_mean", ParamRole::bn_mean, {c}});
    n.params.push_back({name + ".running_var", ParamRole::bn_var, {c}});
    return push(std::move(n));
  }

  int act(const std::string& name, int in, Act a) {
    Node n = make(name, OpKind::activation, {in});
    n.out = shape(in);
    n.act = a;
    return push(std::move(n));
  }

  int va_eca(const std::string& name, int in, int heads, Gate gate) {
    Node n = make(name, OpKind::va_eca, {in});
    n.out = shape(in);
    n.heads = heads;
    n.cin = n.out.c / heads;  // E
    n.eca_k = eca_kernel_size(n.cin);
    n.gate = gate;
    n.params.push_back({name + ".weight", ParamRole::eca_weight, {2, n.eca_k}});
    return push(std::move(n));
  }

  int head_reduce(const std::string& name, int z, int u, int heads, Reduce r, int stride) {
    Node n = make(name, OpKind::head_reduce, r == Reduce::funnel_maxout ? std::vector<int>{z, u} : std::vector<int>{z});
    const Shape& s = shape(z);
    n.heads = heads;
    n.reduce = r;
    n.funnel_stride = stride;
    n.out = {s.h, s.w, s.c / heads};
    return push(std::move(n));
  }

  int add(const std::string& name, int a, int b) {
    if (!(shape(a) == shape(b))) throw Error(ErrorCode::internal, "add of mismatched shapes in " + name);
    Node n = make(name, OpKind::add, {a, b});
    n.out = shape(a);
    return push(std::move(n));
  }

  int gap(const std::string& name, int in) {
    Node n = make(name, OpKind::global_avg_pool, {in});
    n.out = {1, 1, shape(in).c};
    return push(std::move(n));
  }

  int linear(const std::string& name, int in, int out) {
    const Shape& s = shape(in);
    if (s.h != 1 || s.w != 1) throw Error(ErrorCode::internal, "linear needs a 1x1 input: " + name);
    Node n = make(name, OpKind::linear, {in});
    n.cin = s.c;
    n.cout = out;
    n.bias = true;
    n.out = {1, 1, out};
    n.params.push_back({name + ".weight", ParamRole::linear_weight, {out, s.c}});
    n.params.push_back({name + ".bias", ParamRole::bias, {out}});
    return push(std::move(n));
  }

  int scale_channels(const std::string& name, int x, int s) {
    Node n = make(name, OpKind::scale_channels, {x, s});
    n.out = shape(x);
    return push(std::move(n));
  }

  int dropout(const std::string& name, int in, double p) {
    Node n = make(name, OpKind::dropout, {in});
    n.out = shape(in);
    n.drop = p;
    return push(std::move(n));
  }

  const Shape& shape(int i) const { return g_.nodes[size_t(i)].out; }
  Graph take() { return std::move(g_); }

 private:
  static int spatial(int x, int k, int s) { return (x + 2 * ((k - 1) / 2) - k) / s + 1; }
  Node make(const std::string& name, OpKind op, std::vector<int> inputs) const {
    Node n;
    n.name = name;
    n.op = op;
    n.inputs = std::move(inputs);
    n.block = block;
    return n;
  }
  int push(Node n) {
    g_.nodes.push_back(std::move(n));
    return int(g_.nodes.size()) - 1;
  }
  Graph g_;
};

// The shortcut of a block whose output is not shape-compatible with its input (3.6).
int light_shortcut(Builder& b, const std::string& p, int x, int cout, int stride, Residual r) {
  switch (r) {
    case Residual::mdw_concat:
      return b.bn(p + ".short.bn", b.dw_concat(p + ".short", x, cout, stride));
    case Residual::conv3x3:
      return b.bn(p + ".short.bn", b.conv(p + ".short", x, cout, 3, stride));
    case Residual::dw_pw: {
      int cin = b.shape(x).c;
      int d = b.bn(p + ".short.dw.bn", b.conv(p + ".short.dw", x, cin, 3, stride, cin));
      return b.bn(p + ".short.pw.bn", b.conv(p + ".short.pw", d, cout, 1, 1));
    }
    case Residual::none:
    case Residual::mnv3:
      break;
  }
  return -1;
}

}  // namespace

Graph build_graph(const ArchSpec& spec) {
  spec.validate();
  if (spec.arch == ArchKind::imported) return graph_from_text(spec);
  const double w = spec.width;
  const bool small = spec.small_input();
  const bool fly = spec.arch == ArchKind::flynet;
  Builder b(spec);

  int x = b.input(spec.in_h, spec.in_w, spec.in_c);
  int c = make_divisible(16 * w);
  x = b.conv("stem", x, c, 3, small ? 1 : 2);
  x = b.act("stem.act", b.bn("stem.bn", x), Act::hswish);

  for (size_t i = 0; i < kSmallRows.size(); ++i) {
    const BneckRow& row = kSmallRows[i];
    const std::string p = "b" + std::to_string(i);
    b.block = int(i);
    const int stride = (small && i == 0) ? 1 : row.stride;
    const int cin = b.shape(x).c;
    const int cout = make_divisible(row.out * w);
    const int e = make_divisible(cin * row.ratio);

    int u = x;
    if (e != cin) u = b.act(p + ".exp.act", b.bn(p + ".exp.bn", b.conv(p + ".exp", x, e, 1, 1)), row.nl);

    int v;
    if (fly) {
      const int h = spec.heads;
      int z = b.bn(p + ".mdw.bn", b.conv(p + ".mdw", u, h * e, row.k, stride, e));
      if (spec.gate != Gate::none) z = b.va_eca(p + ".eca", z, h, spec.gate);
      v = b.head_reduce(p + ".reduce", z, u, h, spec.reduce, stride);
    } else {
      v = b.act(p + ".dw.act", b.bn(p + ".dw.bn", b.conv(p + ".dw", u, e, row.k, stride, e)), row.nl);
      if (row.se) {
        const int sq = make_divisible(e / 4.0);
        int s = b.gap(p + ".se.pool", v);
        s = b.act(p + ".se.fc1.act", b.linear(p + ".se.fc1", s, sq), Act::relu);
        s = b.act(p + ".se.fc2.act", b.linear(p + ".se.fc2", s, e), Act::hsigmoid);
        v = b.scale_channels(p + ".se.scale", v, s);
      }
    }
    int y = b.bn(p + ".proj.bn", b.conv(p + ".proj", v, cout, 1, 1));

    const bool identity = stride == 1 && cin == cout;
    if (spec.residual != Residual::none) {
      if (identity) {
        y = b.add(p + ".add", y, x);
      } else {
        int s = light_shortcut(b, p, x, cout, stride, spec.residual);
        if (s >= 0) y = b.add(p + ".add", y, s);
      }
    }
    x = y;
  }
  b.block = -1;

  const int last = make_divisible(576 * w);
  x = b.act("last.act", b.bn("last.bn", b.conv("last", x, last, 1, 1)), Act::hswish);
  x = b.gap("pool", x);
  const int fc1 = spec.fc1 == Fc1Width::scaled ? make_divisible(1024 * w) : 1024;
  x = b.act("fc1.act", b.linear("fc1", x, fc1), Act::hswish);
  x = b.dropout("dropout", x, spec.dropout);
  b.linear("fc2", x, spec.classes);
  return b.take();
}

}  // namespace flynet
