// The ranks of a data-parallel training job, behind a small interface so the trainer has no MPI
// dependency: one process is a Communicator of size 1 whose collectives do nothing; under
// `mpirun` (and a build that found MPI) it is MPI_COMM_WORLD (comm_mpi.cpp).
//
//   std::unique_ptr<Communicator> c = make_communicator();   // MPI_Init under mpirun
//   c->allreduce_sum(sums.data(), n);                        // every rank gets the sum
//   collective_check(*c, [&] { risky_local_work(); });       // all ranks throw if one did
//
// Why a status check instead of letting the failing rank exit: the others would block forever
// in their next collective. Every rank runs its local work, then all agree on the first error,
// and all throw it, so rank 0 prints it and the job ends with its exit code.
#ifndef FLYNET_CORE_COMM_HPP_
#define FLYNET_CORE_COMM_HPP_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "flynet/formats/error.hpp"

namespace flynet {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// In-place sums over all ranks; every rank gets the same bits (for a given size and layout).
  virtual void allreduce_sum(double* data, int64_t n) = 0;
  virtual void allreduce_sum(float* data, int64_t n) = 0;
  /// Starts an in-place float sum; `data` must stay untouched until wait_all() returns. The
  /// default is blocking (nothing to overlap with).
  virtual void start_allreduce_sum(float* data, int64_t n) { allreduce_sum(data, n); }
  /// Completes every sum started.
  virtual void wait_all() {}
  /// What rank 0 prints when the job is ended from outside (a rank died, or called MPI_Abort
  /// and mpirun terminates the others): one line naming the last checkpoint.
  virtual void set_termination_notice(const std::string& /*line*/) {}
};

/// MPI_COMM_WORLD when the process was started by mpirun (OMPI_COMM_WORLD_SIZE, PMI_SIZE or
/// PMIX_RANK set) and flynet was built with MPI; a single-process communicator otherwise.
/// Throws Error{unsupported} under mpirun with more than one rank in a build without MPI.
std::unique_ptr<Communicator> make_communicator();

/// A communicator of one rank: the collectives leave the data as it is.
std::unique_ptr<Communicator> single_process_communicator();

/// One rank's outcome of some local work.
struct RankStatus {
  bool ok = true;
  int rank = 0;
  ErrorCode code = ErrorCode::internal;
  std::string what, file;
};

/// Collective: every rank passes its outcome. Returns the lowest failing rank's (what and file
/// cut at 1,000 characters) on every rank, or an ok status when none failed. Built on
/// allreduce_sum alone, so each communicator gets it for free: one sum of size() values when
/// all went well.
RankStatus first_error(Communicator& comm, const RankStatus& mine);

/// Runs `work` on every rank, then agrees on the outcome: if any rank threw, every rank throws
/// the lowest failing rank's Error (its message prefixed "rank R: " in a multi-rank job).
/// `then` (optional) runs on every rank after `work` whatever its outcome, before the agreement:
/// the collectives every rank must take part in even when its own work failed.
/// One process: `work`'s exception passes through untouched (and `then` does not run after it).
void collective_check(Communicator& comm, const std::function<void()>& work,
                      const std::function<void()>& then = {});

/// Throws Error{usage} naming `what` unless every rank passes the same value.
void check_same_on_all_ranks(Communicator& comm, double value, const std::string& what);

}  // namespace flynet

#endif  // FLYNET_CORE_COMM_HPP_
