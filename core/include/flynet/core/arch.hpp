// The FlyNet family as data: an ArchSpec names every choice of
// ../shared/design/flynet-architecture.md section 3 (and plain MobileNetV3-Small).
// The option tables below are the single source of the names users type: CLI parsing,
// --help, the man pages and the tests all read them.
#ifndef FLYNET_CORE_ARCH_HPP_
#define FLYNET_CORE_ARCH_HPP_

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace flynet {

/// `imported`: a graph from flynet import, stored node by node in ArchSpec::graph (graph_text.hpp);
/// not an --arch choice (nothing to build it from).
enum class ArchKind { flynet, mobilenetv3_small, imported };
enum class Gate { sigmoid, softmax, none };                // VA-ECA multiplexer (3.3)
enum class Reduce { maxout, funnel_maxout, sum_relu };      // mixer over heads (3.4)
enum class Residual { none, mnv3, conv3x3, dw_pw, mdw_concat };  // dense light residuals (3.6)
enum class Variant { automatic, imagenet, small };         // stem/b0 strides (3.8)
enum class Fc1Width { scaled, fixed };                     // fc1 = make_div(1024 w) or 1024

// The limits ArchSpec::validate() holds every architecture to (the CLI's option table and the
// man pages read them): wide enough for ImageNet-21k and 1024-pixel inputs, small enough that a
// model's activations cannot ask for tens of gigabytes by themselves.
inline constexpr double kMinWidth = 0.25, kMaxWidth = 1.0;
inline constexpr int kMaxHeads = 5;
inline constexpr int kMinInputSide = 8, kMaxInputSide = 1024;  ///< input height and width
inline constexpr int kMaxInputChannels = 16;
inline constexpr int kMaxClasses = 30000;

/// One user-visible choice: the name typed on the command line, its value, and a help line.
template <class E>
struct Choice {
  std::string_view name;
  E value;
  std::string_view help;
};

inline constexpr std::array kArchChoices = {
    Choice<ArchKind>{"flynet", ArchKind::flynet, "FlyNet: MobileNetV3-Small with FlyBlocks (MDW heads, VA-ECA, reduction)"},
    Choice<ArchKind>{"mobilenetv3-small", ArchKind::mobilenetv3_small, "plain MobileNetV3-Small (SE blocks, h-swish), the baseline"},
};
inline constexpr std::array kGateChoices = {
    Choice<Gate>{"softmax", Gate::softmax, "h * softmax over the heads of a channel, temperature annealed 10 -> 1"},
    Choice<Gate>{"sigmoid", Gate::sigmoid, "an independent sigmoid gate per head and channel"},
    Choice<Gate>{"none", Gate::none, "no VA-ECA excitation (ablation)"},
};
inline constexpr std::array kReduceChoices = {
    Choice<Reduce>{"maxout", Reduce::maxout, "max over the gated heads of each channel"},
    Choice<Reduce>{"funnel-maxout", Reduce::funnel_maxout, "max over the gated heads and the block's MDW input (strided)"},
    Choice<Reduce>{"sum-relu", Reduce::sum_relu, "ReLU of the sum of the gated heads"},
};
inline constexpr std::array kResidualChoices = {
    Choice<Residual>{"mdw-concat", Residual::mdw_concat, "3x3 depthwise heads on the input, concatenated and cut to C_out, + BN"},
    Choice<Residual>{"mobilenetv3", Residual::mnv3, "identity shortcut only where stride 1 and C_in == C_out"},
    Choice<Residual>{"conv", Residual::conv3x3, "3x3 conv C_in -> C_out + BN"},
    Choice<Residual>{"dw-pw", Residual::dw_pw, "3x3 depthwise + BN, then 1x1 conv + BN"},
    Choice<Residual>{"none", Residual::none, "no shortcut anywhere, identity ones included"},
};
inline constexpr std::array kVariantChoices = {
    Choice<Variant>{"auto", Variant::automatic, "small if the input is at most 64x64, else imagenet"},
    Choice<Variant>{"imagenet", Variant::imagenet, "stem stride 2, b0 stride 2 (total stride 32)"},
    Choice<Variant>{"small", Variant::small, "stem stride 1, b0 stride 1 (total stride 8), for 28x28 / 32x32"},
};
inline constexpr std::array kFc1Choices = {
    Choice<Fc1Width>{"scaled", Fc1Width::scaled, "fc1 = make_divisible(1024 * width, 8) (FlyNet)"},
    Choice<Fc1Width>{"fixed", Fc1Width::fixed, "fc1 = 1024 at every width (TF 'finegrain' mode, published MobileNetV3)"},
};

/// Looks `name` up in a choice table; throws Error{usage} listing the valid names.
template <class E, size_t N>
E parse_choice(const std::array<Choice<E>, N>& table, std::string_view name, std::string_view what);
template <class E, size_t N>
std::string_view choice_name(const std::array<Choice<E>, N>& table, E value);
/// "a|b|c" for help texts.
template <class E, size_t N>
std::string choice_list(const std::array<Choice<E>, N>& table);
/// name -> value map in the form CLI11's CheckedTransformer takes.
template <class E, size_t N>
std::map<std::string, E> choice_map(const std::array<Choice<E>, N>& table);

/// Every architecture choice. Defaults give the main job's model: FlyNet-h3 0.5x on 28x28x1.
struct ArchSpec {
  ArchKind arch = ArchKind::flynet;
  double width = 0.5;      ///< width multiplier, 0.25 .. 1.0
  int heads = 3;           ///< MDW heads h, 1 .. 5 (1 for MobileNetV3)
  Gate gate = Gate::softmax;
  Reduce reduce = Reduce::maxout;
  Residual residual = Residual::mdw_concat;
  Variant variant = Variant::automatic;
  Fc1Width fc1 = Fc1Width::scaled;
  int in_h = 28, in_w = 28, in_c = 1;
  int classes = 10;
  double dropout = 0.2;    ///< before the classifier, training only
  std::string graph;       ///< arch imported: the graph's text (graph_text.hpp); empty otherwise

  /// Throws Error{usage} naming the first out-of-range field.
  void validate() const;
  /// True when the stem and b0 run at stride 1 (variant small, or auto with input <= 64).
  bool small_input() const;

  /// Key/value form stored in model files (formats::ModelRecord::arch) and its inverse.
  std::map<std::string, std::string> to_map() const;
  static ArchSpec from_map(const std::map<std::string, std::string>& kv);
  /// One line, e.g. "flynet w0.5 h3 softmax maxout mdw-concat 28x28x1 c10".
  std::string summary() const;
  bool operator==(const ArchSpec&) const = default;
};

/// Named presets: "flynet-h3" (the paper's final FlyNet: h=3, softmax gate, max-out,
/// MDW-Concat, width 0.5) and "mobilenetv3-small" (width 1.0, fc1 fixed, SE blocks).
ArchSpec arch_preset(std::string_view name);
inline constexpr std::array<std::string_view, 2> kPresetNames = {"flynet-h3", "mobilenetv3-small"};

/// Parses "HxWxC", e.g. "28x28x1". Throws Error{usage}.
void parse_input_shape(std::string_view text, int& h, int& w, int& c);

/// An architecture as asked for (flynet info and train): a preset, "flynet" naming FlyNet-h3,
/// and the fields that override it; what is not set keeps the preset's value.
struct ArchRequest {
  std::string arch = "flynet-h3";
  std::optional<double> width;
  std::optional<int> heads;
  std::optional<Gate> gate;
  std::optional<Reduce> reduce;
  std::optional<Residual> residual;
  std::optional<Variant> variant;
  std::optional<Fc1Width> fc1;
  std::string input;  ///< "HxWxC"; empty: the preset's
  std::optional<int> classes;

  /// Builds and validates the spec. Throws Error{usage}.
  ArchSpec spec() const;
};

/// TF-slim / torchvision _make_divisible(v, 8): round to the nearest multiple of 8 (at least 8),
/// adding 8 when rounding lost more than 10%.
int make_divisible(double v, int divisor = 8);
/// ECA adaptive kernel size for C channels (gamma 2, b 1, odd, at least 3).
int eca_kernel_size(int channels);

}  // namespace flynet

#include "flynet/core/arch_choice.inl"

#endif  // FLYNET_CORE_ARCH_HPP_
