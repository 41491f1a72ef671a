// A command's outputs through the real binary: an output that is an input (also through a link)
// or another output is refused before any work and the input is left as it was; an output that
// cannot be written fails before the work and nothing appears; temporaries a killed run left
// are removed by a later run; a failed train leaves the metrics log as it was; unknown commands
// and the exit codes are as man/flynet.1 says.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "flynet/core/data.hpp"
#include "flynet/core/model.hpp"
#include "flynet/formats/h5_store.hpp"
#include "run_flynet.hpp"

namespace {

namespace fs = std::filesystem;
using flynet::test::Result;
using flynet::test::run_flynet;
using flynet::test::slurp;

class Outputs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("flynet_outputs_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Content no reader accepts: every refusal here must come before the file is read.
    std::ofstream(path("m.h5")) << "not a model, and must stay byte for byte as it is";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::set<std::string> files() const {
    std::set<std::string> s;
    for (const auto& e : fs::directory_iterator(dir_)) s.insert(e.path().filename().string());
    return s;
  }
  // Runs `args` and expects the refusal `err` with `code`, the input unchanged and no new file.
  void expect_refused(const std::string& args, int code, const std::string& err) {
    const std::string before = slurp(path("m.h5"));
    const std::set<std::string> listed = files();
    const Result r = run_flynet(args);
    EXPECT_EQ(r.code, code) << args;
    EXPECT_EQ(r.err, err) << args;
    EXPECT_EQ(slurp(path("m.h5")), before) << args;
    EXPECT_EQ(files(), listed) << args;
  }
  fs::path dir_;
};

TEST_F(Outputs, AnOutputThatIsTheInputIsRefused) {
  const std::string m = path("m.h5");
  expect_refused("quantize " + m + " --out " + m, 2,
                 "flynet quantize: error: --out is the same file as the input MODEL (" + m + ")\n");
  expect_refused("export " + m + " --out " + m, 2,
                 "flynet export: error: --out is the same file as the input MODEL (" + m + ")\n");
  expect_refused("calibrate " + m + " --data d --json " + m, 2,
                 "flynet calibrate: error: --json is the same file as the input MODEL (" + m + ")\n");
  expect_refused("verify " + m + " --json " + m, 2,
                 "flynet verify: error: --json is the same file as the input MODEL (" + m + ")\n");
  expect_refused("train --data " + m + " --out " + m, 2,
                 "flynet train: error: --out is the same file as the input --data (" + m + ")\n");
}

TEST_F(Outputs, LinksToTheInputAreTheInput) {
  fs::create_symlink(path("m.h5"), path("sym.h5"));
  fs::create_hard_link(path("m.h5"), path("hard.h5"));
  const std::string m = path("m.h5");
  expect_refused("quantize " + m + " --out " + path("sym.h5"), 2,
                 "flynet quantize: error: --out is the same file as the input MODEL (" + path("sym.h5") + ")\n");
  expect_refused("export " + path("hard.h5") + " --out " + m, 2,
                 "flynet export: error: --out is the same file as the input MODEL (" + m + ")\n");
  expect_refused("quantize " + m + " --out " + (dir_ / "." / "m.h5").string(), 2,
                 "flynet quantize: error: --out is the same file as the input MODEL (" + (dir_ / "." / "m.h5").string() +
                     ")\n");
}

TEST_F(Outputs, TwoOutputsOnOneFileAreRefused) {
  const std::string m = path("m.h5"), x = path("x.h");
  expect_refused("export " + m + " --out " + x + " --c-array " + x, 2,
                 "flynet export: error: --out is the same file as --c-array (" + x + ")\n");
  expect_refused("quantize " + m + " --out " + x + " --json " + x, 2,
                 "flynet quantize: error: --out is the same file as --json (" + x + ")\n");
  fs::create_directories(path("golden"));
  expect_refused("verify " + m + " --dump " + path("golden") + " --golden " + path("golden"), 2,
                 "flynet verify: error: --dump is the same file as the input --golden (" + path("golden") + ")\n");
}

// Checked before the work: nothing of the command appears (the .fly of an export whose C
// header cannot be written, the model of a quantize whose JSON cannot).
TEST_F(Outputs, AnUnwritableOutputFailsBeforeTheWork) {
  const std::string m = path("m.h5");
  for (const auto& [args, option, file] :
       {std::tuple{"export " + m + " --out " + path("x.fly") + " --c-array /proc/x.h", "--c-array", "/proc/x.h"},
        std::tuple{"quantize " + m + " --out " + path("q.h5") + " --json /proc/x", "--json", "/proc/x"}}) {
    const Result r = run_flynet(args);
    EXPECT_EQ(r.code, 3) << args;
    EXPECT_TRUE(std::regex_match(r.err, std::regex("flynet [a-z]+: error: cannot write " + std::string(option) +
                                                   ": [^()\n]+ \\(" + file + "\\)\n")))
        << r.err;
    EXPECT_EQ(files(), std::set<std::string>{"m.h5"}) << args;
  }
  expect_refused("quantize " + m + " --out /nonexistent/q.h5", 3,
                 "flynet quantize: error: cannot write --out: no such directory /nonexistent (/nonexistent/q.h5)\n");
}

// train used to run every epoch and then fail on an --out that is a directory.
TEST_F(Outputs, TrainRefusesADirectoryAsItsOutputBeforeTraining) {
  flynet::write_h5_dataset(path("data.h5"), flynet::test::square_position_set(64, 1),
                           flynet::test::square_position_set(16, 2));
  fs::create_directories(path("out.h5"));
  const Result r = run_flynet("train --data " + path("data.h5") + " --out " + path("out.h5") + " --epochs 1 --quiet");
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err, "flynet train: error: cannot write --out: it is a directory (" + path("out.h5") + ")\n");
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(files(), (std::set<std::string>{"m.h5", "data.h5", "out.h5"}));
}

// A train that fails after its metrics log was opened (a run that diverges): the log of an
// earlier run with that --out is as it was, a first run leaves none, and the model is untouched.
TEST_F(Outputs, AFailedTrainLeavesTheMetricsLogAsItWas) {
  flynet::write_h5_dataset(path("data.h5"), flynet::test::square_position_set(64, 1),
                           flynet::test::square_position_set(16, 2));
  const std::string train = "train --data " + path("data.h5") + " --width 0.25 --batch 16 --quiet --out ";
  Result r = run_flynet(train + path("out.h5") + " --epochs 1");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string log = slurp(path("out.metrics.jsonl")), model = slurp(path("out.h5"));
  ASSERT_NE(log, "");
  const std::string diverging = " --epochs 4 --lr 10 --momentum 0.99 --warmup 0";
  r = run_flynet(train + path("out.h5") + diverging);
  ASSERT_EQ(r.code, 7) << r.err;
  EXPECT_EQ(r.err.rfind("flynet train: error: training diverged (loss ", 0), 0u) << r.err;
  EXPECT_EQ(slurp(path("out.metrics.jsonl")), log);
  EXPECT_EQ(slurp(path("out.h5")), model);
  r = run_flynet(train + path("new.h5") + diverging);
  ASSERT_EQ(r.code, 7) << r.err;
  EXPECT_FALSE(fs::exists(path("new.metrics.jsonl")));
  EXPECT_FALSE(fs::exists(path("new.h5")));
}

// A kill -9 leaves ".<name>.flynet-tmp.<pid>"; the next command writing in that directory
// removes it (its process is gone), and a successful command leaves only its outputs.
TEST_F(Outputs, ALaterRunRemovesTheTemporariesOfAKilledOne) {
  flynet::write_h5_dataset(path("data.h5"), flynet::test::square_position_set(32, 1),
                           flynet::test::square_position_set(8, 2));
  flynet::ArchSpec spec = flynet::arch_preset("flynet-h3");
  spec.in_h = spec.in_w = 16;
  spec.in_c = 1;
  spec.classes = 2;
  flynet::save_model(flynet::Model::create(spec, 1), path("float.h5"));
  const std::string stale = ".c.h5.flynet-tmp.999999999";  // beyond pid_max: a dead process
  std::ofstream(path(stale)) << "half a model";
  const Result r = run_flynet("calibrate " + path("float.h5") + " --data " + path("data.h5") + " --samples 8 --out " +
                              path("c.h5") + " --json " + path("c.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(files(), (std::set<std::string>{"m.h5", "data.h5", "float.h5", "c.h5", "c.json"}));
}

TEST(Commands, AnUnknownCommandIsNamedAndTheCommandsListed) {
  const Result r = run_flynet("bogus");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "flynet: error: unknown command 'bogus' (commands: import, info, train, calibrate, quantize, export, verify, report)\n");
}

// Every exit code flynet can return is listed in man/flynet.1, out of memory included.
TEST(Commands, EveryExitCodeIsInTheManPage) {
  const std::string page = slurp(std::string(FLYNET_MAN_DIR) + "/flynet.1");
  for (int code : {0, 1, 2, 3, 4, 5, 6, 7, 70, 71})
    EXPECT_NE(page.find(".B " + std::to_string(code) + "\n"), std::string::npos) << code;
  EXPECT_NE(page.find("Out of memory"), std::string::npos);
}

}  // namespace
