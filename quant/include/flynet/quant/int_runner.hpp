// Runs an IntGraph on the C99 integer reference (quant/ref): the tensors are laid out in one
// arena by the offline planner, exactly as the exported model will be on the device.
//
//   IntRunner r(graph);
//   r.run(input_codes, logits_codes);      // int8 in, int8 out
//   const int8_t* t = r.tensor(k);          // any activation of the last run
#ifndef FLYNET_QUANT_INT_RUNNER_HPP_
#define FLYNET_QUANT_INT_RUNNER_HPP_

#include <cstdint>
#include <memory>
#include <vector>

#include "flynet/formats/int_graph.hpp"
#include "flynet/quant/arena_plan.hpp"

namespace flynet {

class IntRunner {
 public:
  /// Plans the arena and validates every node with the reference's prepare. Throws
  /// Error{unsupported} naming the op the reference rejects. With `keep_all_tensors` no two
  /// activations share memory, so tensor() gives every layer's output after a run (layer by
  /// layer comparisons); otherwise the arena is the deployed plan and only the output survives.
  explicit IntRunner(const IntGraph& g, bool keep_all_tensors = false);
  ~IntRunner();
  IntRunner(IntRunner&&) noexcept;

  /// One inference: `input` holds the input tensor's codes, `output` receives the logits'.
  void run(const int8_t* input, int8_t* output);
  /// Codes of tensor `t` after the last run (constants: their data). Only meaningful for
  /// every tensor when constructed with keep_all_tensors.
  const int8_t* tensor(int32_t t) const;

  const IntGraph& graph() const { return *g_; }
  const ArenaPlan& plan() const { return plan_; }
  size_t arena_size() const { return arena_.size(); }
  /// The buffers the plan placed (activations, then one scratch region per op needing it).
  const std::vector<ArenaBuffer>& buffers() const { return buffers_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  const IntGraph* g_;
  ArenaPlan plan_;
  std::vector<ArenaBuffer> buffers_;
  std::vector<uint8_t> arena_;
};

/// Liveness of every activation tensor of `g` as arena buffers, in tensor order: first producing
/// op .. last consuming op; the input lives from step 0, the output to the end; an output nobody
/// reads still occupies its bytes during its op, and a tensor no op touches still gets a place
/// (the .fly reader requires every activation inside the arena). Constants get size 0. The
/// in-memory runner, export and `flynet info` all plan from this.
std::vector<ArenaBuffer> activation_lifetimes(const IntGraph& g);

}  // namespace flynet

#endif  // FLYNET_QUANT_INT_RUNNER_HPP_
