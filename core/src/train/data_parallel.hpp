// What data-parallel training adds to the trainer: gradient averaging, and keeping the ranks'
// models the same where their local batches make them drift (BN running statistics, int8
// activation ranges).
//
// GradientReducer: the trainable parameters' gradients of a Net are fused into
// buckets of about `bucket_bytes` in backward order (the last nodes' first), and a bucket is
// summed over the ranks as soon as its gradients are final, while backward continues with the
// nodes before it. finish() sums what is left, waits, and writes the mean (sum / ranks) back.
//
// Buckets always start in index order, on every rank, whatever happened locally (a rank whose
// backward failed still takes part in every sum): MPI needs the collectives in the same order.
#ifndef FLYNET_CORE_SRC_TRAIN_DATA_PARALLEL_HPP_
#define FLYNET_CORE_SRC_TRAIN_DATA_PARALLEL_HPP_

#include <cstdint>
#include <vector>

#include "flynet/core/comm.hpp"
#include "flynet/core/net.hpp"

namespace flynet {

class GradientReducer {
 public:
  /// Installs itself as `net`'s grad hook. bucket_bytes <= 0: one bucket, summed after backward.
  GradientReducer(Net& net, Communicator& comm, int64_t bucket_bytes);
  /// Before each backward.
  void begin_step();
  /// After backward (or after it failed): every gradient averaged over the ranks.
  void finish();
  int buckets() const { return int(buckets_.size()); }

 private:
  struct Part {
    Tensor* grad;
    int bucket;
    int64_t offset;
  };
  struct Bucket {
    std::vector<float> buf;
    std::vector<Part> parts;
    int pending = 0;
  };
  void node_done(int node);
  void start_ready();
  void start(Bucket& b);

  Communicator& comm_;
  bool overlap_;
  std::vector<Bucket> buckets_;
  std::vector<std::vector<Part>> node_parts_;  // by node
  size_t next_ = 0;                            // the first bucket not started
};

/// Every BN running mean and variance replaced by its mean over the ranks. Per-rank BN sees
/// only its rank's batches; the update is linear, so averaging at the end of an epoch equals
/// averaging after every step.
void average_bn_statistics(Model& model, Communicator& comm);

/// The int8 activation ranges of the model (qat.hpp) averaged over the ranks.
void average_act_ranges(Model& model, Communicator& comm);

/// Throws Error{internal} unless every rank holds bit-identical trainable parameters (a hash
/// compared over the ranks): the ranks apply the same steps, and a difference is a bug.
void check_same_parameters(const Model& model, Communicator& comm);

}  // namespace flynet

#endif  // FLYNET_CORE_SRC_TRAIN_DATA_PARALLEL_HPP_
