// The range of every numeric option of every subcommand, in one table. Parsing (bounded(),
// commands.hpp) refuses a value outside it before any work, --help prints it after the option's
// text, the man pages state it, and tests/cli/option_bounds_test.cpp runs every row against the
// binary and checks --help and the man page. An option that takes a number and is not here is
// a test failure (the test lists the options that take no number).
#ifndef FLYNET_CLI_OPTION_BOUNDS_HPP_
#define FLYNET_CLI_OPTION_BOUNDS_HPP_

#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>

#include "flynet/core/arch.hpp"

namespace flynet::cli {

struct OptionBound {
  std::string_view commands;  ///< the subcommands that have the option, separated by blanks
  std::string_view flag;
  double min, max;            ///< inclusive
  bool integer;               ///< the value is a whole number
};

// Why these limits: counts of threads beyond a few hundred only oversubscribe (and a TBB pool
// of 100000 loader threads crashed at teardown); sample and step counts stay far above any data
// set; the real-valued training settings keep the optimizer meaningful (momentum 1 never
// forgets, a smoothing of 1 leaves no label). Architecture limits come from ArchSpec (arch.hpp).
inline constexpr double kMaxCount = 1e12;
inline constexpr std::array kOptionBounds = {
    OptionBound{"info train", "--width", kMinWidth, kMaxWidth, false},
    OptionBound{"info train", "--heads", 1, kMaxHeads, true},
    OptionBound{"info train", "--classes", 2, kMaxClasses, true},
    OptionBound{"train", "--epochs", 1, 100000, true},
    OptionBound{"train", "--batch", 1, 4096, true},
    OptionBound{"train", "--lr", 0, 10, false},
    OptionBound{"train", "--momentum", 0, 0.999, false},
    OptionBound{"train", "--weight-decay", 0, 1, false},
    OptionBound{"train", "--warmup", 0, 100000, false},
    OptionBound{"train", "--lr-final", 0, 1, false},
    OptionBound{"train", "--label-smoothing", 0, 0.9, false},
    OptionBound{"train", "--t-start", 0.01, 1000, false},
    OptionBound{"train", "--t-end", 0.01, 1000, false},
    OptionBound{"train", "--seed", 0, 4294967295.0, true},
    OptionBound{"train", "--threads", 0, 256, true},
    OptionBound{"train", "--loader-threads", 1, 64, true},
    OptionBound{"train", "--eval-every", 0, 100000, true},
    OptionBound{"train", "--bn-recal", 0, 1000000, true},
    OptionBound{"train", "--max-steps", 0, kMaxCount, true},
    OptionBound{"train", "--benchmark", 0, 100000, true},
    OptionBound{"train quantize", "--weight-levels", 0, 255, true},
    OptionBound{"train", "--fold-bn-after", 0, 100000, true},
    OptionBound{"train", "--val-split", 0, 0.99, false},
    OptionBound{"train", "--bn-momentum", 1e-6, 1, false},
    OptionBound{"train", "--allreduce-bucket", 0, 1048576, true},
    OptionBound{"calibrate", "--samples", 1, kMaxCount, true},
    OptionBound{"calibrate", "--percentile", 50.01, 100, false},
    OptionBound{"calibrate", "--batch", 1, 4096, true},
    OptionBound{"quantize", "--samples", 0, kMaxCount, true},
    OptionBound{"quantize", "--cal-samples", 0, kMaxCount, true},
    OptionBound{"quantize verify", "--threads", 1, 256, true},
    OptionBound{"export", "--arena-align", 4, 4096, true},
    OptionBound{"verify", "--samples", 0, kMaxCount, true},
    OptionBound{"verify", "--sim-samples", -1, kMaxCount, true},
    OptionBound{"verify", "--dump-images", 1, 100000, true},
    OptionBound{"verify", "--min-agreement", 0, 100, false},
    OptionBound{"verify", "--max-drop", 0, 100, false},
};

/// "0 .. 10", "0.25 .. 1", "1 .. 1000000000000": how --help, the man pages and errors write it.
inline std::string range_text(const OptionBound& b) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g .. %.15g", b.min, b.max);
  return buf;
}

/// True when `command` is one of b.commands.
inline bool has_command(const OptionBound& b, std::string_view command) {
  for (size_t at = 0; at < b.commands.size();) {
    size_t end = b.commands.find(' ', at);
    if (end == std::string_view::npos) end = b.commands.size();
    if (b.commands.substr(at, end - at) == command) return true;
    at = end + 1;
  }
  return false;
}

/// The row of `flag` in `command`; nullptr when it has none.
inline const OptionBound* find_bound(std::string_view command, std::string_view flag) {
  for (const OptionBound& b : kOptionBounds)
    if (b.flag == flag && has_command(b, command)) return &b;
  return nullptr;
}

/// Why `text` is refused ("" when it is in range, or not a number at all: the option's own
/// conversion reports that). NaN and infinities are refused.
inline std::string bound_problem(const OptionBound& b, const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  if (end == begin || *end != '\0') return {};
  if (std::isfinite(v) && v >= b.min && v <= b.max) return {};
  return text + ": must be " + (b.integer ? "a whole number" : "a number") + " in " + range_text(b);
}

}  // namespace flynet::cli

#endif  // FLYNET_CLI_OPTION_BOUNDS_HPP_
