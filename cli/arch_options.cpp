#include <sstream>

#include "commands.hpp"
#include "flynet/formats/error.hpp"

namespace flynet::cli {

namespace {
template <class E, size_t N>
std::string describe(const std::array<Choice<E>, N>& table) {
  std::ostringstream o;
  for (const auto& c : table) o << "\n  " << c.name << ": " << c.help;
  return o.str();
}
template <class E, size_t N>
void add_choice(CLI::App& sub, const std::string& flag, std::optional<E>& target,
                const std::array<Choice<E>, N>& table, const std::string& what) {
  sub.add_option(flag, target, what + describe(table))
      ->transform(CLI::CheckedTransformer(choice_map(table)))
      ->option_text(choice_list(table))
      ->group("Architecture");
}
}  // namespace

void add_arch_options(CLI::App& sub, ArchRequest& o) {
  const std::string names = "flynet|flynet-h3|mobilenetv3-small";
  sub.add_option("--arch", o.arch,
                 "architecture or preset; the other architecture options override its fields\n"
                 "  flynet, flynet-h3: FlyNet-h3 0.5x, softmax gate, max-out, MDW-Concat\n"
                 "  mobilenetv3-small: MobileNetV3-Small 1.0x, SE, fc1 1024")
      ->option_text(names)
      ->check(CLI::IsMember({"flynet", "flynet-h3", "mobilenetv3-small"}))
      ->group("Architecture");
  sub.add_option("--width", o.width, "width multiplier")->option_text("W")->group("Architecture");
  sub.add_option("--heads", o.heads, "MDW heads h")->option_text("H")->group("Architecture");
  add_choice(sub, "--gate", o.gate, kGateChoices, "VA-ECA gating (multiplexer)");
  add_choice(sub, "--reduce", o.reduce, kReduceChoices, "reduction over heads (mixer)");
  add_choice(sub, "--residual", o.residual, kResidualChoices, "shortcut of the non-identity blocks");
  add_choice(sub, "--variant", o.variant, kVariantChoices, "stem and b0 strides");
  add_choice(sub, "--fc1", o.fc1, kFc1Choices, "width of fc1");
  sub.add_option("--input", o.input,
                 "input shape, e.g. 28x28x1, 32x32x3, 224x224x3 (H and W " + std::to_string(kMinInputSide) + " .. " +
                     std::to_string(kMaxInputSide) + ", C 1 .. " + std::to_string(kMaxInputChannels) + ")")
      ->option_text("HxWxC")
      ->group("Architecture");
  sub.add_option("--classes", o.classes, "number of classes")->option_text("N")->group("Architecture");
}

bool arch_options_given(const CLI::App& sub) {
  for (const char* f : {"--arch", "--width", "--heads", "--gate", "--reduce", "--residual", "--variant", "--fc1",
                        "--input", "--classes"})
    if (sub.count(f)) return true;
  return false;
}

}  // namespace flynet::cli
