#include "flynet/formats/output_set.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test (ctest runs tests in parallel).
class OutputSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("flynet_output_set_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  size_t entries() const { return size_t(std::distance(fs::directory_iterator(dir_), fs::directory_iterator())); }
  fs::path dir_;
};

TEST_F(OutputSetTest, SameFileThroughSymlinksAndHardLinks) {
  write_bytes_atomically(path("a"), "a");
  fs::create_symlink(path("a"), path("sym"));
  fs::create_hard_link(path("a"), path("hard"));
  EXPECT_TRUE(same_file(path("a"), path("sym")));
  EXPECT_TRUE(same_file(path("a"), path("hard")));
  EXPECT_TRUE(same_file(path("a"), (dir_ / "." / "a").string()));
  EXPECT_FALSE(same_file(path("a"), path("b")));
  // Neither exists: the paths, with the existing directory's links resolved.
  fs::create_directory_symlink(dir_, path("dirlink"));
  EXPECT_TRUE(same_file(path("new"), (dir_ / "dirlink" / "new").string()));
}

TEST_F(OutputSetTest, AnOutputEqualToAnInputOrAnotherOutputIsRefused) {
  write_bytes_atomically(path("m.h5"), "model");
  fs::create_symlink(path("m.h5"), path("link.h5"));
  OutputSet outs;
  outs.input("MODEL", path("m.h5"));
  outs.output("--out", path("link.h5"));
  try {
    outs.check();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::usage);
    EXPECT_EQ(e.message(), "--out is the same file as the input MODEL (" + path("link.h5") + ")");
  }
}

TEST_F(OutputSetTest, TwoOutputsOnOneFileAreRefusedUnlessAllowed) {
  {
    OutputSet outs;
    outs.output("--out", path("x"));
    outs.output("--json", path("x"));
    EXPECT_THROW(outs.check(), Error);
  }
  OutputSet outs;
  outs.input("MODEL", path("x"));
  outs.output("--out", path("x"));
  outs.allow_same("--out", "MODEL");
  EXPECT_NO_THROW(outs.check());
}

TEST_F(OutputSetTest, UnwritableOutputsFailTheCheck) {
  OutputSet outs;
  outs.output("--out", dir_.string());  // a directory
  try {
    outs.check();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_EQ(e.message(), "cannot write --out: it is a directory (" + dir_.string() + ")");
  }
}

TEST_F(OutputSetTest, MissingDirectoryAndProcFailTheCheck) {
  {
    OutputSet outs;
    outs.output("--json", path("no/such/x.json"));
    EXPECT_THROW(outs.check(), Error);
  }
  OutputSet outs;
  outs.output("--c-array", "/proc/x.h");
  EXPECT_THROW(outs.check(), Error);
  EXPECT_EQ(entries(), 0u) << "the probe left a file";
}

TEST_F(OutputSetTest, NothingAppearsUntilCommitAndAllAppearThen) {
  OutputSet outs;
  outs.output("--out", path("a"));
  outs.output("--json", path("b"));
  outs.check();
  write_bytes_atomically(path("a"), "A");
  write_bytes_atomically(path("scratch"), "S");  // not declared: written at once
  write_bytes_atomically(path("b"), "B");
  EXPECT_FALSE(fs::exists(path("a")));
  EXPECT_FALSE(fs::exists(path("b")));
  EXPECT_TRUE(fs::exists(path("scratch")));
  outs.commit();
  EXPECT_EQ(read_file_bytes(path("a")), "A");
  EXPECT_EQ(read_file_bytes(path("b")), "B");
  EXPECT_EQ(entries(), 3u) << "a temporary is left";
}

TEST_F(OutputSetTest, AFailedCommandLeavesNoneOfItsOutputsAndRestoresItsLog) {
  write_bytes_atomically(path("old"), "previous");
  { std::ofstream(path("log")) << "epoch 1\n"; }
  { std::ofstream(path("fresh")) << "an earlier run's log\n"; }
  {
    OutputSet outs;
    outs.output("--out", path("old"));
    outs.output("--json", path("new"));
    outs.log("--metrics", path("log"));
    outs.log("--metrics2", path("newlog"));
    outs.log("--metrics3", path("fresh"));
    outs.output_dir("--dump", path("dump"));
    outs.check();
    write_bytes_atomically(path("old"), "replaced");
    write_bytes_atomically(path("new"), "new");
    std::ofstream(path("log"), std::ios::app) << "epoch 2\n";
    std::ofstream(path("newlog")) << "epoch 1\n";
    std::ofstream(path("fresh"), std::ios::trunc) << "x\n";  // a fresh run starts its log over
    fs::create_directories(path("dump"));
    write_bytes_atomically(path("dump/0.bin"), "d");
    // The command fails here: the set goes out of scope without commit().
  }
  EXPECT_EQ(read_file_bytes(path("old")), "previous");
  EXPECT_FALSE(fs::exists(path("new")));
  EXPECT_EQ(read_file_bytes(path("log")), "epoch 1\n");
  EXPECT_FALSE(fs::exists(path("newlog")));
  EXPECT_EQ(read_file_bytes(path("fresh")), "an earlier run's log\n");
  EXPECT_FALSE(fs::exists(path("dump")));
  EXPECT_EQ(entries(), 3u);
}

// A temporary is hidden, beside its target, and carries its writer's pid; a later write in the
// directory removes those of dead processes and leaves those of live ones.
TEST_F(OutputSetTest, StaleTemporariesOfDeadProcessesAreRemoved) {
  EXPECT_EQ(temporary_path(path("m.h5")), path(".m.h5.flynet-tmp." + std::to_string(::getpid())));
  // Beyond any pid_max: no such process can run.
  const std::string dead = path(".m.h5.flynet-tmp.999999999");
  const std::string live = path(".x.fly.flynet-tmp." + std::to_string(::getppid()));
  const std::string other = path(".notes.tmp.999999999");
  for (const std::string& p : {dead, live, other}) std::ofstream(p) << "x";
  write_bytes_atomically(path("m.h5"), "m");
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(other));
}

}  // namespace
}  // namespace flynet
