// Every numeric option of every subcommand against its row of kOptionBounds (cli/option_bounds.hpp),
// through the real binary: a value outside the range is one error line naming the option and
// exit 2; --help and the man page state the range; an option that takes a number has a row.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "option_bounds.hpp"
#include "run_flynet.hpp"

namespace {

using flynet::cli::kOptionBounds;
using flynet::cli::OptionBound;
using flynet::cli::range_text;
using flynet::test::Result;
using flynet::test::run_flynet;
using flynet::test::slurp;

const char* const kCommands[] = {"info", "train", "calibrate", "quantize", "export", "verify", "report", "import"};

// What each command needs besides the option under test; parsing refuses the value before it
// looks at any file.
const std::map<std::string, std::string> kRequired = {
    {"info", ""},
    {"train", "--data /nonexistent --out /nonexistent/m.h5"},
    {"calibrate", "/nonexistent.h5 --data /nonexistent"},
    {"quantize", "/nonexistent.h5 --out /nonexistent/m.q.h5"},
    {"export", "/nonexistent.q.h5 --out /nonexistent/m.fly"},
    {"verify", "/nonexistent.fly"},
    {"report", "/nonexistent"},
    {"import", "/nonexistent.onnx --out /nonexistent/m.h5"},
};

std::vector<std::string> commands_of(const OptionBound& b) {
  std::vector<std::string> out;
  for (const char* c : kCommands)
    if (flynet::cli::has_command(b, c)) out.push_back(c);
  return out;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

std::string refusal(const std::string& cmd, const OptionBound& b, const std::string& text) {
  return "flynet " + cmd + ": error: " + std::string(b.flag) + ": " + text + ": must be " +
         (b.integer ? "a whole number" : "a number") + " in " + range_text(b) + "\n";
}

TEST(OptionBounds, EveryRowIsRefusedOutsideItsRange) {
  for (const OptionBound& b : kOptionBounds) {
    const std::vector<std::string> cmds = commands_of(b);
    ASSERT_FALSE(cmds.empty()) << b.flag;
    std::vector<std::string> bad = {number(b.min - 1), number(b.max + 1)};
    if (!b.integer) bad.insert(bad.end(), {"nan", "inf"});
    for (const std::string& cmd : cmds)
      for (const std::string& v : bad) {
        const Result r = run_flynet(cmd + " " + kRequired.at(cmd) + " " + std::string(b.flag) + " " + v);
        EXPECT_EQ(r.code, 2) << cmd << " " << b.flag << " " << v;
        // --weight-levels has a finer rule of its own (weight_levels_problem), which speaks first.
        if (b.flag == "--weight-levels")
          EXPECT_EQ(r.err.rfind("flynet " + cmd + ": error: --weight-levels: " + v + ": ", 0), 0u) << r.err;
        else
          EXPECT_EQ(r.err, refusal(cmd, b, v));
      }
  }
}

// The cases found by hand (issue 16), spelled as a user typed them.
TEST(OptionBounds, TheValuesOnceAcceptedAreRefused) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"train --data d --out m.h5 --loader-threads 100000",
       "flynet train: error: --loader-threads: 100000: must be a whole number in 1 .. 64\n"},
      {"train --data d --out m.h5 --threads 10000", "flynet train: error: --threads: 10000: must be a whole number in 0 .. 256\n"},
      {"train --data d --out m.h5 --threads -1", "flynet train: error: --threads: -1: must be a whole number in 0 .. 256\n"},
      {"train --data d --out m.h5 --lr -1", "flynet train: error: --lr: -1: must be a number in 0 .. 10\n"},
      {"train --data d --out m.h5 --momentum 2", "flynet train: error: --momentum: 2: must be a number in 0 .. 0.999\n"},
      {"train --data d --out m.h5 --max-steps -1",
       "flynet train: error: --max-steps: -1: must be a whole number in 0 .. 1000000000000\n"},
      {"quantize m.h5 --out q.h5 --weight-levels -3",
       "flynet quantize: error: --weight-levels: -3: weight levels are 2..128 or an odd count up to 255 (0: float)\n"},
      {"verify m.fly --samples -5", "flynet verify: error: --samples: -5: must be a whole number in 0 .. 1000000000000\n"},
      {"verify m.fly --min-agreement nan", "flynet verify: error: --min-agreement: nan: must be a number in 0 .. 100\n"},
      {"verify m.fly --min-agreement 101", "flynet verify: error: --min-agreement: 101: must be a number in 0 .. 100\n"},
      {"verify m.fly --max-drop -1", "flynet verify: error: --max-drop: -1: must be a number in 0 .. 100\n"},
      {"train --benchmark 1 --input 4096x4096x64 --classes 100000",
       "flynet train: error: --classes: 100000: must be a whole number in 2 .. 30000\n"},
      {"train --benchmark 1 --input 4096x4096x64", "flynet train: error: input height and width must be in 8..1024\n"},
      {"info --input 28x28x64", "flynet info: error: input channels must be in 1..16\n"},
  };
  for (const auto& [args, err] : cases) {
    const Result r = run_flynet(args);
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_EQ(r.err, err) << args;
  }
}

// Within every range, a model and batch can still ask for more memory than there is (the
// 21 GB of 4096x4096x64 once): train refuses before allocating, also under `ulimit -v`.
TEST(OptionBounds, ARunNeedingMoreMemoryThanThereIsIsRefusedBeforeAllocating) {
  const std::regex refused(
      "flynet train: error: training .* at batch [0-9]+ needs about [0-9.]+ GB, more than the [0-9.]+ GB this "
      "process may use; lower --batch or --input\n");
  Result r = run_flynet("train --benchmark 1 --input 1024x1024x16 --batch 4096 --classes 10");
  EXPECT_EQ(r.code, 6);
  EXPECT_TRUE(std::regex_match(r.err, refused)) << r.err;
  EXPECT_EQ(r.out, "");
#ifndef FLYNET_TEST_HAS_ASAN  // ASan reserves terabytes of shadow memory: no ulimit -v there
  // 64 images of 224x224x3 need about 2.2 GB.
  const std::string err = testing::TempDir() + "flynet_bounds_ulimit.err";
  const int st = std::system(("ulimit -v 1500000; " + std::string(FLYNET_BIN) +
                              " train --benchmark 1 --input 224x224x3 --batch 64 --classes 10 >/dev/null 2>" + err)
                                 .c_str());
  EXPECT_EQ(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 6);
  EXPECT_TRUE(std::regex_match(slurp(err), refused)) << slurp(err);
#endif
}

TEST(OptionBounds, EveryRangeIsInHelpAndInTheManPage) {
  for (const OptionBound& b : kOptionBounds)
    for (const std::string& cmd : commands_of(b)) {
      const std::string range = range_text(b);
      EXPECT_NE(run_flynet(cmd + " --help").out.find("(" + range + ")"), std::string::npos) << cmd << " " << b.flag;
      const std::string page = slurp(std::string(FLYNET_MAN_DIR) + "/flynet-" + cmd + ".1");
      std::string roff;  // roff writes '-' as '\-'
      for (char c : range) roff += c == '-' ? std::string("\\-") : std::string(1, c);
      EXPECT_TRUE(page.find(range) != std::string::npos || page.find(roff) != std::string::npos)
          << "man/flynet-" << cmd << ".1 does not state " << b.flag << " " << range;
    }
}

// The options that take no number (files, choices, flags). A new option must be put either
// here or in kOptionBounds.
const std::set<std::string> kNotNumbers = {
    "--help", "--arch", "--gate", "--reduce", "--residual", "--variant", "--fc1", "--input", "--json", "--data",
    "--out", "--optimizer", "--no-nesterov", "--no-augment", "--flip", "--checkpoint", "--metrics", "--resume", "--quiet",
    "--act-bits", "--init", "--method", "--rounding", "--per-tensor", "--no-sim", "--equalize", "--bias-correction",
    "--bias-correction-mode", "--c-array", "--name", "--host-info", "--float", "--dump", "--golden", "--target",
    "--profile", "--source", "--html", "--title", "--sync-bn", "--mean", "--std", "--layout"};

TEST(OptionBounds, EveryOptionTakingANumberHasARow) {
  const std::regex declared(R"(^\s+(?:-\w,\s*)?(--[a-z][a-z0-9-]*))");
  for (const char* cmd : kCommands) {
    std::istringstream help(run_flynet(std::string(cmd) + " --help").out);
    int seen = 0;
    for (std::string line; std::getline(help, line);) {
      std::smatch m;
      if (!std::regex_search(line, m, declared)) continue;
      ++seen;
      const std::string flag = m[1];
      EXPECT_TRUE(kNotNumbers.count(flag) || flynet::cli::find_bound(cmd, flag))
          << "flynet " << cmd << " " << flag << " has no range in cli/option_bounds.hpp";
    }
    EXPECT_GT(seen, 2) << cmd;
  }
}

}  // namespace
