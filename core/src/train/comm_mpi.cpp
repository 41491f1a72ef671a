// MPI_COMM_WORLD as a Communicator (comm.hpp). Compiled only when CMake's FindMPI found MPI;
// nothing else in flynet includes mpi.h.
// The C API only: mpi.h would otherwise pull in the deprecated C++ bindings and their library.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <vector>

#include "flynet/core/comm.hpp"

namespace flynet {

namespace {

// The termination notice lives in a fixed buffer: the signal handler may only write(2) it.
char g_notice[2048];
size_t g_notice_len = 0;

extern "C" void on_terminate(int) {
  if (g_notice_len) {
    const ssize_t w = ::write(STDERR_FILENO, g_notice, g_notice_len);
    (void)w;
  }
  ::_exit(1);
}

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw Error(ErrorCode::internal, std::string(what) + " failed (MPI error " + std::to_string(rc) + ")");
}

class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiWorld() override {
    if (!requests_.empty()) MPI_Waitall(int(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
    MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allreduce_sum(double* data, int64_t n) override {
    check(MPI_Allreduce(MPI_IN_PLACE, data, int(n), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  }
  void allreduce_sum(float* data, int64_t n) override {
    check(MPI_Allreduce(MPI_IN_PLACE, data, int(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  }
  void start_allreduce_sum(float* data, int64_t n) override {
    // Nudge the ones in flight: without a progress thread, a non-blocking collective only
    // advances inside MPI calls.
    if (!requests_.empty()) {
      int done = 0;
      MPI_Testall(int(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE);
    }
    MPI_Request r;
    check(MPI_Iallreduce(MPI_IN_PLACE, data, int(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &r), "MPI_Iallreduce");
    requests_.push_back(r);
  }
  void wait_all() override {
    if (requests_.empty()) return;
    check(MPI_Waitall(int(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
    requests_.clear();
  }
  void set_termination_notice(const std::string& line) override {
    if (rank_ != 0) return;
    g_notice_len = std::min(line.size(), sizeof g_notice - 1);
    std::memcpy(g_notice, line.data(), g_notice_len);
    g_notice[g_notice_len++] = '\n';
    std::signal(SIGTERM, on_terminate);
  }

 private:
  int rank_ = 0, size_ = 1;
  std::vector<MPI_Request> requests_;
};

}  // namespace

std::unique_ptr<Communicator> mpi_world_communicator() { return std::make_unique<MpiWorld>(); }

}  // namespace flynet
