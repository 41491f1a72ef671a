// Data-parallel training under `mpirun -np 2` (registered only when the build found MPI):
// the same seed and ranks give bit-identical weights; 2 ranks at batch B/2 with --sync-bn match
// one process at batch B to float round-off; a rank whose data set differs, or a rank killed
// mid-run, ends the job with exit != 0, one clear line from rank 0 and the last checkpoint
// intact; a resumed 2-rank run equals an uninterrupted one, and a resume with another rank
// count is refused.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "flynet/core/model.hpp"
#include "run_flynet.hpp"

namespace flynet {
namespace {

namespace fs = std::filesystem;
using test::Result;

class MpiTrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_);
    write_h5_dataset(data_, test::square_position_set(256, 1), test::square_position_set(64, 2));
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& f) const { return (dir_ / f).string(); }

  // Width 0.25 on 16x16 images, 8 global steps per epoch at a global batch of 32; 2 epochs
  // and 2 batches of BN recalibration unless `extra` says otherwise.
  std::string train_args(const std::string& out, int batch, const std::string& extra) const {
    std::string a = std::string(FLYNET_BIN) + " train --data " + data_ + " --out " + path(out) +
                    " --width 0.25 --batch " + std::to_string(batch) + " --lr 0.05 --threads 1 --seed 3 --quiet ";
    if (extra.find("--epochs") == std::string::npos) a += "--epochs 2 ";
    if (extra.find("--bn-recal") == std::string::npos) a += "--bn-recal 2 ";
    return a + extra;
  }
  // `mpirun -np 2` (as root too, as in CI containers), capturing both streams. The ranks inherit
  // mpirun's environment: one OpenMP thread each, and plain copies in OpenMPI's shared-memory
  // transport (containers often forbid its cross-process copy, process_vm_readv under seccomp).
  Result mpirun(const std::string& args) const {
    return run_shell("OMP_NUM_THREADS=1 OMPI_MCA_btl_vader_single_copy_mechanism=none " + std::string(kRankSanitizer) +
                     std::string(FLYNET_MPIEXEC) + " --oversubscribe --allow-run-as-root " + args);
  }
#ifdef FLYNET_TEST_HAS_ASAN
  // In the sanitizer build, no leak check in the ranks: LeakSanitizer reports OpenMPI's own
  // allocations in components it dlclose's at MPI_Finalize, whose frames no suppression can
  // name. Every other check stays; the single-process train tests keep the leak check.
  static constexpr const char* kRankSanitizer = "ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=0 ";
#else
  static constexpr const char* kRankSanitizer = "";
#endif
  Result run_shell(const std::string& cmd) const {
    const std::string out = path("cmd.out"), err = path("cmd.err");
    const int st = std::system((cmd + " >" + out + " 2>" + err).c_str());
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, test::slurp(out), test::slurp(err)};
  }

  fs::path dir_ = fs::temp_directory_path() / ("flynet_mpi_test_" + std::to_string(::getpid()));
  std::string data_ = (dir_ / "data.h5").string();
};

// The largest |a - b| over all parameters, relative to the largest |a|.
double max_rel_diff(const Model& a, const Model& b) {
  double d = 0, m = 0;
  for (const auto& [name, t] : a.params) {
    const Tensor& u = b.params.at(name);
    for (size_t i = 0; i < t.data.size(); ++i) {
      d = std::max(d, double(std::fabs(t.data[i] - u.data[i])));
      m = std::max(m, double(std::fabs(t.data[i])));
    }
  }
  return d / m;
}

bool same_params(const Model& a, const Model& b) {
  for (const auto& [name, t] : a.params)
    if (t.data != b.params.at(name).data) return false;
  return true;
}

TEST_F(MpiTrainTest, SameSeedAndRanksGiveBitIdenticalWeights) {
  for (const char* out : {"a.h5", "b.h5"}) {
    const Result r = mpirun("-np 2 " + train_args(out, 16, ""));
    ASSERT_EQ(r.code, 0) << r.err;
  }
  const Model a = load_model(path("a.h5")), b = load_model(path("b.h5"));
  EXPECT_TRUE(same_params(a, b));
  EXPECT_EQ(a.meta.at("train.ranks"), "2");
  EXPECT_EQ(a.meta.at("train.global_batch"), "32");
  EXPECT_NE(a.meta.at("train.options").find("ranks=2 global_batch=32"), std::string::npos);
}

TEST_F(MpiTrainTest, TwoRanksAtHalfTheBatchMatchOneProcessWithSyncBn) {
  // No BN recalibration: its batches differ with the per-rank batch size; the checkpoints'
  // running statistics are compared too.
  ASSERT_EQ(mpirun("-np 2 " + train_args("two.h5", 16, "--sync-bn --bn-recal 0")).code, 0);
  const Result one = run_shell(train_args("one.h5", 32, "--bn-recal 0"));
  ASSERT_EQ(one.code, 0) << one.err;
  const Model two = load_model(path("two.h5")), single = load_model(path("one.h5"));
  const double d = max_rel_diff(single, two);
  std::printf("2 ranks x 16 (--sync-bn) vs 1 process x 32 after 16 steps: max |diff| / max |w| = %.3g\n", d);
  EXPECT_LT(d, 1e-4);
  // Per-rank statistics are another computation: BN normalises each half on its own.
  ASSERT_EQ(mpirun("-np 2 " + train_args("local.h5", 16, "--bn-recal 0")).code, 0);
  EXPECT_GT(max_rel_diff(single, load_model(path("local.h5"))), 10 * d);
}

TEST_F(MpiTrainTest, ARankWithOtherDataStopsTheJobWithOneLine) {
  write_h5_dataset(path("other.h5"), test::square_position_set(200, 1), test::square_position_set(64, 2));
  const std::string other = train_args("m.h5", 16, "");
  const std::string bad = std::string(other).replace(other.find(data_), data_.size(), path("other.h5"));
  const Result r = mpirun("-np 1 " + other + " : -np 1 " + bad);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("flynet train: error: the number of training images differs between the ranks"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(path("m.h5")));
}

TEST_F(MpiTrainTest, ARankThatFailsStopsAllWithItsError) {
  // Rank 1 cannot read its data set: rank 0 reports rank 1's error and its exit code.
  const std::string good = train_args("m.h5", 16, "");
  const std::string bad = std::string(good).replace(good.find(data_), data_.size(), path("missing.h5"));
  const Result r = mpirun("-np 1 " + good + " : -np 1 " + bad);
  EXPECT_EQ(r.code, 3) << r.err;  // Error{io}
  EXPECT_NE(r.err.find("flynet train: error: rank 1: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("missing.h5"), std::string::npos) << r.err;
}

TEST_F(MpiTrainTest, AKilledRankEndsTheJobAndTheCheckpointSurvives) {
  // Rank 1 is killed (SIGKILL) once the first checkpoint exists, with many epochs to go.
  const std::string ck = path("m.ckpt.h5");
  const std::string args = train_args("m.h5", 16, "--epochs 200");
  const std::string rank1 = "sh -c '" + args + " & p=$!; while [ ! -f " + ck + " ]; do sleep 0.05; done; kill -9 $p; wait $p'";
  const Result r = mpirun("-np 1 " + args + " : -np 1 " + rank1);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("flynet train: error: the MPI job was ended from outside"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("m.h5")));
  const Model c = load_model(ck);
  EXPECT_GE(std::stoi(c.meta.at("ckpt.epoch")), 1);
  EXPECT_EQ(c.meta.at("ckpt.ranks"), "2");
}

TEST_F(MpiTrainTest, ResumeWithTheSameRanksContinuesExactly) {
  ASSERT_EQ(mpirun("-np 2 " + train_args("full.h5", 16, "--epochs 3 --checkpoint none")).code, 0);
  ASSERT_EQ(mpirun("-np 2 " + train_args("part.h5", 16, "--epochs 3 --max-steps 8")).code, 0);
  // Without --width: the checkpoint fixes the architecture (an option given must equal it in
  // full, input and classes included).
  std::string resume = train_args("part.h5", 16, "--epochs 3 --resume " + path("part.ckpt.h5"));
  resume.erase(resume.find(" --width 0.25"), 13);
  const Result r = mpirun("-np 2 " + resume);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(same_params(load_model(path("full.h5")), load_model(path("part.h5"))));
  // The step count and every batch's shards depend on the ranks: another count is refused.
  const Result one = run_shell(std::string(resume).replace(resume.find("part.h5"), 7, "x.h5"));
  EXPECT_EQ(one.code, 2);
  EXPECT_NE(one.err.find("checkpoint was trained with 2 rank(s), this run has 1"), std::string::npos) << one.err;
}

}  // namespace
}  // namespace flynet
