#include "flynet/core/arch.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

#include "flynet/formats/error.hpp"

namespace flynet {

int make_divisible(double v, int divisor) {
  int n = std::max(divisor, int(v + divisor / 2.0) / divisor * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

int eca_kernel_size(int channels) {
  // timm's form of |log2(C)/gamma + b/gamma|_odd with gamma 2, b 1.
  int t = int(std::fabs(std::log2(double(channels)) + 1.0) / 2.0);
  int k = (t % 2) ? t : t + 1;
  return std::max(k, 3);
}

bool ArchSpec::small_input() const {
  switch (variant) {
    case Variant::small: return true;
    case Variant::imagenet: return false;
    case Variant::automatic: return in_h <= 64 && in_w <= 64;
  }
  return false;
}

void ArchSpec::validate() const {
  auto bad = [](const std::string& what) { throw Error(ErrorCode::usage, what); };
  const auto range = [](auto lo, auto hi) { return " must be in " + std::to_string(lo) + ".." + std::to_string(hi); };
  if (!(width >= kMinWidth && width <= kMaxWidth)) bad("width multiplier must be in [0.25, 1.0]");
  if (arch == ArchKind::flynet && (heads < 1 || heads > kMaxHeads)) bad("heads" + range(1, kMaxHeads));
  if (arch == ArchKind::mobilenetv3_small && heads != 1) bad("mobilenetv3-small has no MDW heads (use --heads 1)");
  if (arch == ArchKind::imported && graph.empty()) bad("an imported architecture needs its graph (flynet import)");
  if (in_h < kMinInputSide || in_w < kMinInputSide || in_h > kMaxInputSide || in_w > kMaxInputSide)
    bad("input height and width" + range(kMinInputSide, kMaxInputSide));
  if (in_c < 1 || in_c > kMaxInputChannels) bad("input channels" + range(1, kMaxInputChannels));
  if (classes < 2 || classes > kMaxClasses) bad("classes" + range(2, kMaxClasses));
  if (!(dropout >= 0.0 && dropout < 1.0)) bad("dropout must be in [0, 1)");
}

std::map<std::string, std::string> ArchSpec::to_map() const {
  if (arch == ArchKind::imported)
    return {{"arch", "imported"},
            {"input", std::to_string(in_h) + "x" + std::to_string(in_w) + "x" + std::to_string(in_c)},
            {"classes", std::to_string(classes)},
            {"graph", graph}};
  std::ostringstream w;
  w.precision(17);
  w << width;
  std::ostringstream d;
  d.precision(17);
  d << dropout;
  return {
      {"arch", std::string(choice_name(kArchChoices, arch))},
      {"width", w.str()},
      {"heads", std::to_string(heads)},
      {"gate", std::string(choice_name(kGateChoices, gate))},
      {"reduce", std::string(choice_name(kReduceChoices, reduce))},
      {"residual", std::string(choice_name(kResidualChoices, residual))},
      {"variant", std::string(choice_name(kVariantChoices, variant))},
      {"fc1", std::string(choice_name(kFc1Choices, fc1))},
      {"input", std::to_string(in_h) + "x" + std::to_string(in_w) + "x" + std::to_string(in_c)},
      {"classes", std::to_string(classes)},
      {"dropout", d.str()},
  };
}

namespace {
const std::string& need(const std::map<std::string, std::string>& kv, const std::string& key) {
  auto it = kv.find(key);
  if (it == kv.end()) throw Error(ErrorCode::format, "architecture is missing key '" + key + "'");
  return it->second;
}
template <class T>
T number(const std::string& s, const std::string& key) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    throw Error(ErrorCode::format, "architecture key '" + key + "' is not a number: '" + s + "'");
  return v;
}
}  // namespace

ArchSpec ArchSpec::from_map(const std::map<std::string, std::string>& kv) {
  ArchSpec s;
  if (need(kv, "arch") == "imported") {
    s.arch = ArchKind::imported;
    parse_input_shape(need(kv, "input"), s.in_h, s.in_w, s.in_c);
    s.classes = number<int>(need(kv, "classes"), "classes");
    s.graph = need(kv, "graph");
    s.validate();
    return s;
  }
  s.arch = parse_choice(kArchChoices, need(kv, "arch"), "architecture");
  s.width = number<double>(need(kv, "width"), "width");
  s.heads = number<int>(need(kv, "heads"), "heads");
  s.gate = parse_choice(kGateChoices, need(kv, "gate"), "gate");
  s.reduce = parse_choice(kReduceChoices, need(kv, "reduce"), "reduction");
  s.residual = parse_choice(kResidualChoices, need(kv, "residual"), "residual");
  s.variant = parse_choice(kVariantChoices, need(kv, "variant"), "variant");
  s.fc1 = parse_choice(kFc1Choices, need(kv, "fc1"), "fc1 width");
  parse_input_shape(need(kv, "input"), s.in_h, s.in_w, s.in_c);
  s.classes = number<int>(need(kv, "classes"), "classes");
  s.dropout = number<double>(need(kv, "dropout"), "dropout");
  s.validate();
  return s;
}

std::string ArchSpec::summary() const {
  std::ostringstream o;
  if (arch == ArchKind::imported) {
    o << "imported " << in_h << "x" << in_w << "x" << in_c << " c" << classes;
    return o.str();
  }
  o << choice_name(kArchChoices, arch) << " w" << width;
  if (arch == ArchKind::flynet)
    o << " h" << heads << " " << choice_name(kGateChoices, gate) << " " << choice_name(kReduceChoices, reduce);
  o << " " << choice_name(kResidualChoices, residual) << " " << in_h << "x" << in_w << "x" << in_c
    << " c" << classes << (small_input() ? " small" : " imagenet");
  return o.str();
}

ArchSpec arch_preset(std::string_view name) {
  ArchSpec s;
  if (name == "flynet-h3") return s;
  if (name == "mobilenetv3-small") {
    s.arch = ArchKind::mobilenetv3_small;
    s.width = 1.0;
    s.heads = 1;
    s.gate = Gate::none;
    s.residual = Residual::mnv3;
    s.fc1 = Fc1Width::fixed;
    return s;
  }
  std::string list;
  for (auto p : kPresetNames) list += (list.empty() ? "" : "|") + std::string(p);
  throw Error(ErrorCode::usage, "unknown preset '" + std::string(name) + "' (expected " + list + ")");
}

ArchSpec ArchRequest::spec() const {
  ArchSpec s = arch_preset(arch == "flynet" ? "flynet-h3" : arch);
  if (width) s.width = *width;
  if (heads) s.heads = *heads;
  if (gate) s.gate = *gate;
  if (reduce) s.reduce = *reduce;
  if (residual) s.residual = *residual;
  if (variant) s.variant = *variant;
  if (fc1) s.fc1 = *fc1;
  if (!input.empty()) parse_input_shape(input, s.in_h, s.in_w, s.in_c);
  if (classes) s.classes = *classes;
  s.validate();
  return s;
}

void parse_input_shape(std::string_view text, int& h, int& w, int& c) {
  int v[3];
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 3; ++i) {
    auto [q, ec] = std::from_chars(p, end, v[i]);
    bool sep_ok = (i < 2) ? (q < end && (*q == 'x' || *q == 'X')) : (q == end);
    if (ec != std::errc() || !sep_ok)
      throw Error(ErrorCode::usage, "input shape must be HxWxC, e.g. 28x28x1, got '" + std::string(text) + "'");
    p = q + 1;
  }
  h = v[0];
  w = v[1];
  c = v[2];
}

}  // namespace flynet
