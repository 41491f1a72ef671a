#include "flynet/core/graph_text.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <sstream>

#include "flynet/formats/error.hpp"

namespace flynet {

namespace {

[[noreturn]] void bad(const Node& n, const std::string& why) {
  throw Error(ErrorCode::format, "imported graph, node '" + n.name + "': " + why);
}

const std::map<std::string, OpKind>& op_names() {
  static const std::map<std::string, OpKind> m = {
      {"input", OpKind::input},     {"conv2d", OpKind::conv2d},
      {"batchnorm", OpKind::batchnorm}, {"activation", OpKind::activation},
      {"add", OpKind::add},         {"global_avg_pool", OpKind::global_avg_pool},
      {"linear", OpKind::linear},   {"scale_channels", OpKind::scale_channels},
      {"dropout", OpKind::dropout}, {"max_pool", OpKind::max_pool},
      {"avg_pool", OpKind::avg_pool}, {"concat", OpKind::concat},
      {"mul", OpKind::mul},         {"softmax", OpKind::softmax}};
  return m;
}

const std::map<std::string, Act>& act_names() {
  static const std::map<std::string, Act> m = {{"relu", Act::relu},         {"relu6", Act::relu6},
                                               {"hswish", Act::hswish},     {"hsigmoid", Act::hsigmoid},
                                               {"sigmoid", Act::sigmoid},   {"leaky_relu", Act::leaky_relu}};
  return m;
}

std::string shape_text(const Shape& s) {
  return std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.c);
}

const Shape& in_shape(const Graph& g, const Node& n, size_t k) { return g.nodes[size_t(n.inputs[k])].out; }

Shape conv_shape(const Graph& g, const Node& n) {
  const Shape& s = in_shape(g, n, 0);
  const ConvGeom c = conv_geom(n);
  if (n.cin != s.c) bad(n, "cin " + std::to_string(n.cin) + " but the input has " + std::to_string(s.c) + " channels");
  if (n.groups < 1 || n.cin % n.groups || n.cout % n.groups || n.cout < 1) bad(n, "channels do not divide into groups");
  if (c.kh < 1 || c.kw < 1 || c.sh < 1 || c.sw < 1 || c.dil < 1 || c.pt < 0 || c.pl < 0 || c.pb < 0 || c.pr < 0)
    bad(n, "bad kernel, stride, pad or dilation");
  if (c.pt >= c.dil * (c.kh - 1) + 1 || c.pl >= c.dil * (c.kw - 1) + 1 || c.pb >= c.dil * (c.kh - 1) + 1 ||
      c.pr >= c.dil * (c.kw - 1) + 1)
    bad(n, "a pad as wide as the kernel reads only padding");
  const Shape o{c.out_h(s.h), c.out_w(s.w), n.cout};
  if (o.h < 1 || o.w < 1) bad(n, "the kernel is larger than the padded input");
  return o;
}

Shape concat_shape(const Graph& g, const Node& n) {
  Shape o = in_shape(g, n, 0);
  for (size_t k = 1; k < n.inputs.size(); ++k) {
    const Shape& s = in_shape(g, n, k);
    if (s.h != o.h || s.w != o.w) bad(n, "concatenates maps of different sizes");
    o.c += s.c;
  }
  return o;
}

}  // namespace

Shape broadcast_shape(const Node& n, const Shape& a, const Shape& b) {
  auto axis = [&](int x, int y) {
    if (x != y && x != 1 && y != 1) bad(n, "inputs " + shape_text(a) + " and " + shape_text(b) + " do not broadcast");
    return std::max(x, y);
  };
  return {axis(a.h, b.h), axis(a.w, b.w), axis(a.c, b.c)};
}

bool importable_op(OpKind op) { return op_names().count(std::string(op_name(op))) > 0; }

void declare_params(Node& n) {
  n.params.clear();
  const int64_t c = n.cout;
  switch (n.op) {
    case OpKind::conv2d: {
      const ConvGeom g = conv_geom(n);
      n.params.push_back({n.name + ".weight", ParamRole::conv_weight, {c, n.cin / std::max(n.groups, 1), g.kh, g.kw}});
      if (n.bias) n.params.push_back({n.name + ".bias", ParamRole::bias, {c}});
      break;
    }
    case OpKind::linear:
      n.params.push_back({n.name + ".weight", ParamRole::linear_weight, {c, n.cin}});
      if (n.bias) n.params.push_back({n.name + ".bias", ParamRole::bias, {c}});
      break;
    case OpKind::batchnorm:
      n.params.push_back({n.name + ".gamma", ParamRole::bn_gamma, {c}});
      n.params.push_back({n.name + ".beta", ParamRole::bn_beta, {c}});
      n.params.push_back({n.name + ".running_mean", ParamRole::bn_mean, {c}});
      n.params.push_back({n.name + ".running_var", ParamRole::bn_var, {c}});
      break;
    default:
      break;
  }
}

Shape infer_shape(const Graph& g, const Node& n) {
  static const std::map<OpKind, size_t> arity = {
      {OpKind::input, 0},  {OpKind::conv2d, 1},          {OpKind::batchnorm, 1}, {OpKind::activation, 1},
      {OpKind::add, 2},    {OpKind::global_avg_pool, 1}, {OpKind::linear, 1},    {OpKind::scale_channels, 2},
      {OpKind::dropout, 1}, {OpKind::max_pool, 1}, {OpKind::avg_pool, 1},  {OpKind::mul, 2},
      {OpKind::softmax, 1}, {OpKind::concat, 0}};  // concat: any number from 1
  const auto a = arity.find(n.op);
  if (a == arity.end()) bad(n, "op " + std::string(op_name(n.op)) + " is not one an imported graph holds");
  if (n.op == OpKind::concat ? n.inputs.empty() : n.inputs.size() != a->second) bad(n, "wrong number of inputs");
  for (int i : n.inputs)
    if (i < 0 || size_t(i) >= g.nodes.size()) bad(n, "an input that is not an earlier node");
  switch (n.op) {
    case OpKind::input: return n.out;
    case OpKind::conv2d: return conv_shape(g, n);
    case OpKind::batchnorm:
      if (n.cout != in_shape(g, n, 0).c) bad(n, "channel count differs from its input");
      return in_shape(g, n, 0);
    case OpKind::add:
      if (!(in_shape(g, n, 0) == in_shape(g, n, 1))) bad(n, "adds inputs of different shapes");
      return in_shape(g, n, 0);
    case OpKind::global_avg_pool: return {1, 1, in_shape(g, n, 0).c};
    case OpKind::max_pool:
    case OpKind::avg_pool: {
      Node as_conv = n;  // a depthwise window: the conv's checks and output size
      as_conv.cin = as_conv.cout = as_conv.groups = in_shape(g, n, 0).c;
      if (n.dilation != 1) bad(n, "a dilated pool");
      return conv_shape(g, as_conv);
    }
    case OpKind::linear: {
      // A map is flattened in NHWC order (the importer permutes ONNX's NCHW weight columns).
      if (in_shape(g, n, 0).numel() != n.cin) bad(n, "needs an input of " + std::to_string(n.cin) + " values");
      return {1, 1, n.cout};
    }
    case OpKind::concat: return concat_shape(g, n);
    case OpKind::mul: return broadcast_shape(n, in_shape(g, n, 0), in_shape(g, n, 1));
    case OpKind::softmax: {
      const Shape& s = in_shape(g, n, 0);
      if (s.h != 1 || s.w != 1) bad(n, "a softmax over a map (flynet's is over the class scores)");
      return s;
    }
    case OpKind::scale_channels: {
      const Shape& s = in_shape(g, n, 1);
      if (s.h != 1 || s.w != 1 || s.c != in_shape(g, n, 0).c) bad(n, "the scale is not 1x1 per channel");
      return in_shape(g, n, 0);
    }
    default: return in_shape(g, n, 0);
  }
}

std::string graph_to_text(const Graph& g) {
  std::ostringstream o;
  o.precision(17);
  for (const Node& n : g.nodes) {
    o << n.name << ' ' << op_name(n.op) << " in=";
    for (size_t k = 0; k < n.inputs.size(); ++k) o << (k ? "," : "") << n.inputs[k];
    o << " out=" << shape_text(n.out);
    const ConvGeom c = conv_geom(n);
    switch (n.op) {
      case OpKind::conv2d:
        o << " cin=" << n.cin << " cout=" << n.cout << " k=" << c.kh << 'x' << c.kw << " s=" << c.sh << 'x' << c.sw
          << " p=" << c.pt << ',' << c.pl << ',' << c.pb << ',' << c.pr << " d=" << c.dil << " g=" << n.groups
          << " bias=" << int(n.bias);
        break;
      case OpKind::max_pool:
      case OpKind::avg_pool:
        o << " k=" << c.kh << 'x' << c.kw << " s=" << c.sh << 'x' << c.sw << " p=" << c.pt << ',' << c.pl << ','
          << c.pb << ',' << c.pr;
        if (n.op == OpKind::avg_pool) o << " count_pad=" << int(n.count_pad);
        break;
      case OpKind::linear: o << " cin=" << n.cin << " cout=" << n.cout << " bias=" << int(n.bias); break;
      case OpKind::batchnorm: o << " cout=" << n.cout << " eps=" << n.bn_eps << " mom=" << n.bn_momentum; break;
      case OpKind::activation:
        o << " act=" << act_name(n.act);
        if (n.act == Act::leaky_relu) o << " alpha=" << n.alpha;
        break;
      case OpKind::dropout: o << " drop=" << n.drop; break;
      default: break;
    }
    o << '\n';
  }
  return o.str();
}

namespace {

int to_int(const Node& n, const std::string& key, const std::string& v) {
  int x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size()) bad(n, key + " '" + v + "' is not an integer");
  return x;
}

std::vector<int> ints(const Node& n, const std::string& key, const std::string& v, char sep) {
  std::vector<int> r;
  if (v.empty()) return r;
  size_t from = 0;
  for (;;) {
    const size_t at = v.find(sep, from);
    r.push_back(to_int(n, key, v.substr(from, at == std::string::npos ? std::string::npos : at - from)));
    if (at == std::string::npos) return r;
    from = at + 1;
  }
}

double to_double(const Node& n, const std::string& key, const std::string& v) {
  std::istringstream i(v);
  double x = 0;
  if (!(i >> x) || !i.eof()) bad(n, key + " '" + v + "' is not a number");
  return x;
}

void set_attr(Node& n, const std::string& key, const std::string& v) {
  auto need = [&](const std::vector<int>& x, size_t count) {
    if (x.size() != count) bad(n, key + " '" + v + "' needs " + std::to_string(count) + " values");
    return x;
  };
  if (key == "in") n.inputs = ints(n, key, v, ',');
  else if (key == "out") {
    const auto s = need(ints(n, key, v, 'x'), 3);
    n.out = {s[0], s[1], s[2]};
  } else if (key == "cin") n.cin = to_int(n, key, v);
  else if (key == "cout") n.cout = to_int(n, key, v);
  else if (key == "k") {
    const auto k = need(ints(n, key, v, 'x'), 2);
    n.kernel = k[0];
    n.kernel_w = k[1];
  } else if (key == "s") {
    const auto s = need(ints(n, key, v, 'x'), 2);
    n.stride = s[0];
    n.stride_w = s[1];
  } else if (key == "p") {
    const auto p = need(ints(n, key, v, ','), 4);
    n.pad = p[0];
    n.pad_w = p[1];
    n.pad_b = p[2];
    n.pad_r = p[3];
  } else if (key == "d") n.dilation = to_int(n, key, v);
  else if (key == "g") n.groups = to_int(n, key, v);
  else if (key == "bias") n.bias = to_int(n, key, v) != 0;
  else if (key == "eps") n.bn_eps = to_double(n, key, v);
  else if (key == "mom") n.bn_momentum = to_double(n, key, v);
  else if (key == "drop") n.drop = to_double(n, key, v);
  else if (key == "alpha") n.alpha = float(to_double(n, key, v));
  else if (key == "count_pad") n.count_pad = to_int(n, key, v) != 0;
  else if (key == "act") {
    const auto a = act_names().find(v);
    if (a == act_names().end()) bad(n, "unknown activation '" + v + "'");
    n.act = a->second;
  } else bad(n, "unknown attribute '" + key + "'");
}

Node parse_line(const std::string& line) {
  std::istringstream words(line);
  Node n;
  std::string op, kv;
  if (!(words >> n.name >> op)) bad(n, "a line without a name and an op");
  const auto o = op_names().find(op);
  if (o == op_names().end()) bad(n, "unknown op '" + op + "'");
  n.op = o->second;
  while (words >> kv) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) bad(n, "'" + kv + "' is not key=value");
    set_attr(n, kv.substr(0, eq), kv.substr(eq + 1));
  }
  return n;
}

}  // namespace

Graph graph_from_text(const ArchSpec& spec) {
  Graph g;
  g.spec = spec;
  std::istringstream lines(spec.graph);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    Node n = parse_line(line);
    for (int i : n.inputs)
      if (i < 0 || size_t(i) >= g.nodes.size()) bad(n, "an input that is not an earlier node");
    if (g.find(n.name) >= 0) bad(n, "a second node of that name");
    if ((n.op == OpKind::input) != g.nodes.empty()) bad(n, "the input must be the first node, and only it");
    const Shape s = infer_shape(g, n);
    if (!(s == n.out)) bad(n, "output " + shape_text(n.out) + " but its inputs give " + shape_text(s));
    declare_params(n);
    g.nodes.push_back(std::move(n));
  }
  if (g.nodes.size() < 2) throw Error(ErrorCode::format, "imported graph: no nodes");
  // A softmax passes logits through in training (RunCtx::logits): only the output may be one.
  for (size_t i = 0; i + 1 < g.nodes.size(); ++i)
    if (g.nodes[i].op == OpKind::softmax) bad(g.nodes[i], "a softmax that is not the graph's output");
  const Shape& in = g.nodes[0].out;
  if (in.h != spec.in_h || in.w != spec.in_w || in.c != spec.in_c)
    throw Error(ErrorCode::format, "imported graph: its input is " + shape_text(in) + ", the architecture says " +
                                       std::to_string(spec.in_h) + "x" + std::to_string(spec.in_w) + "x" +
                                       std::to_string(spec.in_c));
  const Shape& out = g.output().out;
  if (out.h != 1 || out.w != 1 || out.c != spec.classes)
    throw Error(ErrorCode::format, "imported graph: its output is " + shape_text(out) + ", not the " +
                                       std::to_string(spec.classes) + " class logits");
  return g;
}

}  // namespace flynet
