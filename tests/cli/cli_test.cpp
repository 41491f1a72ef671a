// Runs the flynet binary as a user would: exit codes, the one-line error format, JSON output,
// and that every option of every subcommand is documented in its man page.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "flynet/core/model.hpp"
#include "run_flynet.hpp"

namespace {

using flynet::test::Result;
using flynet::test::slurp;
Result flynet(const std::string& args) { return flynet::test::run_flynet(args); }

TEST(Cli, VersionAndHelp) {
  Result r = flynet("--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("flynet ", 0), 0u) << r.out;
  r = flynet("info --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--residual"), std::string::npos);
}

TEST(Cli, NoSubcommandIsAUsageError) {
  Result r = flynet("");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "flynet: error: a command is required (commands: import, info, train, calibrate, quantize, export, verify, report)\n");
}

TEST(Cli, UnknownOptionIsOneLine) {
  Result r = flynet("info --bogus");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "flynet info: error: The following argument was not expected: --bogus\n");
}

TEST(Cli, BadChoiceValue) {
  Result r = flynet("info --gate tanh");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("flynet info: error: --gate: ", 0), 0u) << r.err;
}

TEST(Cli, OutOfRangeWidth) {
  Result r = flynet("info --width 2");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "flynet info: error: --width: 2: must be a number in 0.25 .. 1\n");
}

TEST(Cli, MissingModelFileNamesIt) {
  Result r = flynet("info /nonexistent/model.h5");
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err, "flynet info: error: no such file (/nonexistent/model.h5)\n");
}

TEST(Cli, CorruptModelFileNamesIt) {
  const std::string p = (std::filesystem::temp_directory_path() / "flynet_cli_corrupt.h5").string();
  std::ofstream(p) << "garbage";
  Result r = flynet("info " + p);
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "flynet info: error: not an HDF5 file (" + p + ")\n");
  std::filesystem::remove(p);
}

TEST(Cli, InfoJsonOfThePaperModel) {
  Result r = flynet("info --arch flynet --width 0.5 --heads 3 --gate softmax --reduce maxout --residual mdw-concat "
                 "--input 224x224x3 --classes 1000 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["params_bn"], 873678);
  EXPECT_EQ(j["madds_strict"], 29111792);
  EXPECT_EQ(j["params"], 861742);
  EXPECT_TRUE(j["madds_profiler"].is_number_integer());
  ASSERT_TRUE(j["layers"].is_array());
  EXPECT_EQ(j["layers"][0]["name"], "input");
  int64_t sum = 0;
  for (const auto& l : j["layers"]) sum += l["params_bn"].get<int64_t>();
  EXPECT_EQ(sum, 873678);
}

TEST(Cli, InfoTableNamesBothConventions) {
  Result r = flynet("info --arch mobilenetv3-small --input 224x224x3 --classes 1000");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(params \(with BN, torchvision\): +2542856 )"))) << r.out;
  EXPECT_NE(r.out.find("MAdds strict:"), std::string::npos);
  EXPECT_NE(r.out.find("MAdds profiler:"), std::string::npos);
}

TEST(Cli, InfoOfAStoredModelEqualsItsArchitecture) {
  flynet::ArchSpec spec = flynet::arch_preset("flynet-h3");
  spec.heads = 4;
  spec.reduce = flynet::Reduce::funnel_maxout;
  const std::string p = (std::filesystem::temp_directory_path() / "flynet_cli_info_model.h5").string();
  flynet::save_model(flynet::Model::create(spec, 1), p);
  Result from_file = flynet("info " + p + " --json");
  Result from_opts = flynet("info --heads 4 --reduce funnel-maxout --json");
  ASSERT_EQ(from_file.code, 0) << from_file.err;
  auto a = nlohmann::json::parse(from_file.out), b = nlohmann::json::parse(from_opts.out);
  EXPECT_EQ(a["source"], p);
  a.erase("source");
  b.erase("source");
  EXPECT_EQ(a, b);
  std::filesystem::remove(p);
}

// One rule for a weight level count, applied where it is requested: an even count above 128
// has int8 codes beyond 127 (quantize used to fall back to plain int8 while saying "kept").
TEST(Cli, WeightLevelsInt8CannotHoldAreRefusedWhereGiven) {
  const std::string why = "an even level count above 128 has codes up to 255, beyond int8's 127 (use 2..128 or an "
                          "odd count up to 255)\n";
  Result r = flynet("train --data /nonexistent --weight-levels 256 --out x.h5");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "flynet train: error: --weight-levels: 256: " + why);
  r = flynet("quantize /nonexistent.h5 --out x.q.h5 --weight-levels 256");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "flynet quantize: error: --weight-levels: 256: " + why);
  r = flynet("quantize /nonexistent.h5 --out x.q.h5 --weight-levels 1");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "flynet quantize: error: --weight-levels: 1: weight levels are 2..128 or an odd count up to 255 "
                   "(0: float)\n");
}

// A model whose recorded state is invalid (here trained with 256 levels by an older flynet)
// is refused when it is read, in one line naming the key, the value and the file.
TEST(Cli, InvalidModelStateIsRefusedWhenRead) {
  const std::string p = (std::filesystem::temp_directory_path() / "flynet_cli_bad_state.h5").string();
  flynet::Model m = flynet::Model::create(flynet::arch_preset("flynet-h3"), 1);
  m.meta["train.weight_levels"] = "256";
  flynet::save_model(m, p);
  Result r = flynet("calibrate " + p + " --data /nonexistent");
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err, "flynet calibrate: error: bad train.weight_levels '256': an even level count above 128 has codes "
                   "up to 255, beyond int8's 127 (use 2..128 or an odd count up to 255) (" + p + ")\n");
  std::filesystem::remove(p);
}

TEST(Cli, ModelFileAndArchOptionsAreExclusive) {
  Result r = flynet("info some.h5 --width 0.5");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "flynet info: error: give either a model file or architecture options, not both\n");
}

// Every long option that `flynet <cmd> --help` lists must appear in man/flynet-<cmd>.1.
TEST(Cli, EveryOptionIsInItsManPage) {
  const std::string top = slurp(std::string(FLYNET_MAN_DIR) + "/flynet.1");
  ASSERT_FALSE(top.empty()) << "man/flynet.1 missing";
  const std::regex sub_re(R"(^  ([a-z]+)\s)");
  Result help = flynet("--help");
  std::set<std::string> subs;
  std::istringstream lines(help.out);
  bool in_subs = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("Subcommands:", 0) == 0) in_subs = true;
    std::smatch m;
    if (in_subs && std::regex_search(line, m, sub_re)) subs.insert(m[1]);
  }
  ASSERT_FALSE(subs.empty());
  const std::regex opt_re(R"(--[a-z][a-z0-9-]*)");
  for (const std::string& s : subs) {
    const std::string page = slurp(std::string(FLYNET_MAN_DIR) + "/flynet-" + s + ".1");
    ASSERT_FALSE(page.empty()) << "man/flynet-" << s << ".1 missing";
    EXPECT_NE(top.find("flynet-" + s), std::string::npos) << "flynet.1 does not mention " << s;
    const std::string h = flynet(s + " --help").out;
    for (std::sregex_iterator it(h.begin(), h.end(), opt_re), end; it != end; ++it) {
      std::string opt = it->str();
      // roff escapes '-' as '\-'.
      std::string roff;
      for (char c : opt) roff += (c == '-') ? std::string("\\-") : std::string(1, c);
      EXPECT_TRUE(page.find(roff) != std::string::npos || page.find(opt) != std::string::npos)
          << opt << " missing from man/flynet-" << s << ".1";
    }
  }
}

}  // namespace
