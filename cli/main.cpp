// flynet: the command-line entry point. It only wires the subcommands and owns the single
// error boundary: every flynet::Error becomes one line `flynet <cmd>: error: <what> (<file>)`
// and its category's exit code (man/flynet.1, EXIT STATUS).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "commands.hpp"
#include "flynet/formats/error.hpp"

#ifndef FLYNET_VERSION
#define FLYNET_VERSION "unknown"
#endif

namespace {
std::string command_name(const CLI::App& app) {
  auto subs = app.get_subcommands();
  return subs.empty() ? "flynet" : "flynet " + subs.front()->get_name();
}
void print_error(const CLI::App& app, const std::string& what) {
  std::fprintf(stderr, "%s: error: %s\n", command_name(app).c_str(), what.c_str());
}

// The first argument must be a command (or --help, --version); CLI11 alone would only say that
// a subcommand is required, without naming the word it did not know nor the commands.
std::string command_problem(const CLI::App& app, int argc, char** argv) {
  if (argc >= 2 && argv[1][0] == '-') return {};
  const std::string word = argc >= 2 ? argv[1] : "";
  std::string names;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == word) return {};
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return (word.empty() ? std::string("a command is required") : "unknown command '" + word + "'") +
         " (commands: " + names + ")";
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"flynet: train a tiny CNN and deploy it bit-exact on Cortex-M", "flynet"};
  app.set_version_flag("--version", "flynet " FLYNET_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  flynet::cli::setup_import(app);
  flynet::cli::setup_info(app);
  flynet::cli::setup_train(app);
  flynet::cli::setup_calibrate(app);
  flynet::cli::setup_quantize(app);
  flynet::cli::setup_export(app);
  flynet::cli::setup_verify(app);
  flynet::cli::setup_report(app);

  if (const std::string why = command_problem(app, argc, argv); !why.empty()) {
    print_error(app, why);
    return 2;
  }
  // Not CLI11_PARSE: its handling would bypass our one-line error format.
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    print_error(app, e.what());
    return 2;
  } catch (const flynet::Error& e) {
    print_error(app, e.message());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    print_error(app, "out of memory");
    return 71;
  } catch (const std::exception& e) {
    print_error(app, std::string("internal error: ") + e.what());
    return 70;
  }
  return 0;
}
