// Runs the flynet binary as a user would and captures its exit code, stdout and stderr.
#ifndef FLYNET_TESTS_CLI_RUN_FLYNET_HPP_
#define FLYNET_TESTS_CLI_RUN_FLYNET_HPP_

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace flynet::test {

struct Result {
  int code;
  std::string out, err;
};

inline std::string slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

/// `flynet <args>`; the capture files are named after the running test, since ctest runs
/// tests in parallel.
inline Result run_flynet(const std::string& args) {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string tag = std::string("flynet_cli_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const std::string out = (dir / (tag + ".out")).string(), err = (dir / (tag + ".err")).string();
  const int st = std::system((std::string(FLYNET_BIN) + " " + args + " >" + out + " 2>" + err).c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(out), slurp(err)};
}

}  // namespace flynet::test

#endif  // FLYNET_TESTS_CLI_RUN_FLYNET_HPP_
