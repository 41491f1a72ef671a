// The subcommands of `flynet`, one file each (cmd_<name>.cpp): each setup_<name>() adds its
// CLI11 subcommand, binds the options to its <Name>Options struct and sets a callback that
// runs it. main.cpp only calls these and owns the one error boundary. The work itself is a
// library function returning a report (train_model, calibrate_model, quantize_model,
// export_model, model_info, verify_model), so that it can be tested without the binary; a
// command prints that report as text or JSON and turns it into an exit status.
#ifndef FLYNET_CLI_COMMANDS_HPP_
#define FLYNET_CLI_COMMANDS_HPP_

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "flynet/core/arch.hpp"
#include "flynet/core/model_state.hpp"
#include "flynet/formats/error.hpp"

namespace flynet::cli {

void setup_info(CLI::App& app);
void setup_train(CLI::App& app);
void setup_calibrate(CLI::App& app);
void setup_quantize(CLI::App& app);
void setup_export(CLI::App& app);
void setup_verify(CLI::App& app);
void setup_report(CLI::App& app);
void setup_import(CLI::App& app);

/// The architecture options shared by `info` and `train`: --arch (an architecture or preset
/// name) sets the base, every other option overrides one field of it (ArchRequest).
void add_arch_options(CLI::App& sub, ArchRequest& o);
/// True when any architecture option was given on the command line.
bool arch_options_given(const CLI::App& sub);

/// Applies kOptionBounds (option_bounds.hpp) to every option of `sub` that has a row there: the
/// value is refused outside its range while parsing, and --help shows the range. Call it once,
/// after the subcommand's options are declared. Throws std::logic_error for a row whose option
/// the subcommand does not have (a renamed option must not lose its bound silently).
void bound_options(CLI::App& sub);

/// Runs `work()`. An Error about content (format, shape, unsupported, numeric) that names no
/// file is about `file`, the command's model: it is rethrown naming it, so that every error
/// line says which file it is about.
template <class Work>
void naming_file(const std::string& file, Work&& work) {
  try {
    work();
  } catch (const Error& e) {
    const bool content = e.code() == ErrorCode::format || e.code() == ErrorCode::shape ||
                         e.code() == ErrorCode::unsupported || e.code() == ErrorCode::numeric;
    if (!content || !e.file().empty()) throw;
    throw Error(e.code(), e.what(), file);
  }
}

/// --weight-levels of train and quantize, refused where it is given: the one rule for a weight
/// level count (valid_weight_levels, model_state.hpp). Text that is not a number is left to
/// CLI11's conversion error.
inline CLI::Validator weight_levels_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        int levels = 0;
        try {
          size_t used = 0;
          levels = std::stoi(text, &used);
          if (used != text.size()) return {};
        } catch (const std::exception&) {
          return {};
        }
        const std::string why = weight_levels_problem(levels);
        return why.empty() ? why : text + ": " + why;
      },
      "L", "weight level count");
}

}  // namespace flynet::cli

#endif  // FLYNET_CLI_COMMANDS_HPP_
