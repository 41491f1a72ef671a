#include "option_bounds.hpp"

#include <stdexcept>

#include "commands.hpp"

namespace flynet::cli {

void bound_options(CLI::App& sub) {
  const std::string command = sub.get_name();
  for (const OptionBound& b : kOptionBounds) {
    if (!has_command(b, command)) continue;
    CLI::Option* opt = sub.get_option_no_throw(std::string(b.flag));
    if (!opt) throw std::logic_error("flynet " + command + " has no option " + std::string(b.flag));
    opt->description(opt->get_description() + " (" + range_text(b) + ")");
    opt->check(CLI::Validator([&b](std::string& text) { return bound_problem(b, text); }, ""));
  }
}

}  // namespace flynet::cli
