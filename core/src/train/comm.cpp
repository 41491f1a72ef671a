// The single-process communicator, the collective status check and make_communicator's choice
// between one process and MPI (comm.hpp).
#include "flynet/core/comm.hpp"

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace flynet {

#ifdef FLYNET_HAVE_MPI
std::unique_ptr<Communicator> mpi_world_communicator();  // comm_mpi.cpp
#endif

namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void allreduce_sum(double*, int64_t) override {}
  void allreduce_sum(float*, int64_t) override {}
};

bool started_by_mpirun() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

constexpr size_t kMaxText = 1000;

// A string as doubles (one per character, zero padded): the failing rank fills them, the
// others add zeros, so a sum carries the text to every rank.
void put_text(const std::string& s, double* out) {
  for (size_t i = 0; i < std::min(s.size(), kMaxText); ++i) out[i] = double(static_cast<unsigned char>(s[i]));
}
std::string get_text(const double* in) {
  std::string s;
  for (size_t i = 0; i < kMaxText && in[i] != 0; ++i) s.push_back(char(int(in[i])));
  return s;
}

}  // namespace

std::unique_ptr<Communicator> single_process_communicator() { return std::make_unique<SingleProcess>(); }

std::unique_ptr<Communicator> make_communicator() {
  if (!started_by_mpirun()) return single_process_communicator();
#ifdef FLYNET_HAVE_MPI
  return mpi_world_communicator();
#else
  const char* n = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (!n) n = std::getenv("PMI_SIZE");
  if (n && std::atoi(n) > 1)
    throw Error(ErrorCode::unsupported, "started by mpirun with " + std::string(n) +
                                            " ranks, but this flynet was built without MPI (install libopenmpi-dev and rebuild)");
  return single_process_communicator();
#endif
}

RankStatus first_error(Communicator& comm, const RankStatus& mine) {
  const int n = comm.size();
  std::vector<double> failed(size_t(n), 0.0);
  failed[size_t(comm.rank())] = mine.ok ? 0.0 : 1.0;
  comm.allreduce_sum(failed.data(), n);
  const auto first = std::find_if(failed.begin(), failed.end(), [](double f) { return f != 0.0; });
  if (first == failed.end()) return {};
  RankStatus r;
  r.ok = false;
  r.rank = int(first - failed.begin());
  std::vector<double> msg(1 + 2 * kMaxText, 0.0);
  if (comm.rank() == r.rank) {
    msg[0] = double(int(mine.code));
    put_text(mine.what, msg.data() + 1);
    put_text(mine.file, msg.data() + 1 + kMaxText);
  }
  comm.allreduce_sum(msg.data(), int64_t(msg.size()));
  r.code = ErrorCode(int(msg[0]));
  r.what = get_text(msg.data() + 1);
  r.file = get_text(msg.data() + 1 + kMaxText);
  return r;
}

void collective_check(Communicator& comm, const std::function<void()>& work, const std::function<void()>& then) {
  if (comm.size() == 1) {
    work();
    if (then) then();
    return;
  }
  RankStatus mine;
  mine.rank = comm.rank();
  try {
    work();
  } catch (const Error& e) {
    mine = {false, comm.rank(), e.code(), e.what(), e.file()};
  } catch (const std::bad_alloc&) {
    mine = {false, comm.rank(), ErrorCode::internal, "out of memory", {}};
  } catch (const std::exception& e) {
    mine = {false, comm.rank(), ErrorCode::internal, std::string("internal error: ") + e.what(), {}};
  }
  if (then) then();
  const RankStatus first = first_error(comm, mine);
  if (!first.ok) throw Error(first.code, "rank " + std::to_string(first.rank) + ": " + first.what, first.file);
}

void check_same_on_all_ranks(Communicator& comm, double value, const std::string& what) {
  if (comm.size() == 1) return;
  // Each rank's value in its own slot: the sum gathers them all, exactly.
  std::vector<double> v(size_t(comm.size()), 0.0);
  v[size_t(comm.rank())] = value;
  comm.allreduce_sum(v.data(), int64_t(v.size()));
  for (size_t r = 1; r < v.size(); ++r)
    if (v[r] != v[0])
      throw Error(ErrorCode::usage, what + " differs between the ranks (rank 0: " + std::to_string(v[0]) + ", rank " +
                                        std::to_string(r) + ": " + std::to_string(v[r]) + ")");
}

}  // namespace flynet
