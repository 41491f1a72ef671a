// Runs a .fly file exactly as the device does: the bytes go through the C reader
// (flyref_model_load), constants are read in place or decoded into their node's decode region,
// every tensor sits where the file's plan puts it, in an arena of the planned size.
//
//   FlyRunner r(read_file_bytes("model.fly"), "model.fly");
//   r.run(image_codes, logits_codes);
//   r.run(image_codes, logits_codes, [&](int32_t node) {      // layer by layer
//     const int32_t out = r.graph().nodes[node].outputs[0];
//     dump(node, r.tensor(out), r.tensor_bytes(out));         // valid until overwritten
//   });
//
// A FlyRunner owns its copy of the file, its tables and its arena and shares nothing, so one
// runner per thread is safe; a single runner is not safe to use from two threads at once.
#ifndef FLYNET_QUANT_FLY_RUNNER_HPP_
#define FLYNET_QUANT_FLY_RUNNER_HPP_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "flyref_model.h"

namespace flynet {

class FlyRunner {
 public:
  /// Copies `bytes` to an aligned buffer and loads it. Throws Error{format} naming `file` with
  /// the reader's status (FLYREF_MODEL_PAYLOAD_CRC, ...) if the file is rejected.
  explicit FlyRunner(std::string_view bytes, const std::string& file = {});
  FlyRunner(const FlyRunner&) = delete;  // the graph points into this runner's own buffers
  FlyRunner& operator=(const FlyRunner&) = delete;
  FlyRunner(FlyRunner&&) noexcept = default;  // vectors keep their heap buffers when moved
  FlyRunner& operator=(FlyRunner&&) noexcept = default;

  /// One inference: `input` holds the input tensor's codes, `output` receives the output's.
  /// The first run allocates the arena; a plan above limits::kFlyArenaBytes throws Error{format}.
  void run(const int8_t* input, int8_t* output);
  /// The same, calling after(k) once node k has run; tensor() then shows node k's outputs (and
  /// every tensor still live in the plan). Throws Error{unsupported} naming the node on failure.
  void run(const int8_t* input, int8_t* output, const std::function<void(int32_t node)>& after);

  /// Arena tensors: their bytes in the arena now; RAW constants: their data in the file;
  /// encoded constants (packed, narrow): nullptr (they only exist decoded, inside a node).
  const int8_t* tensor(int32_t t) const;
  size_t tensor_bytes(int32_t t) const;

  const flyref_model_info& info() const { return info_; }
  const flyref_graph& graph() const { return graph_; }
  size_t input_bytes() const { return tensor_bytes(info_.input); }
  size_t output_bytes() const { return tensor_bytes(info_.output); }
  size_t arena_size() const { return arena_bytes_; }

 private:
  void check(flyref_status st, int32_t node) const;
  uint8_t* arena();

  std::string file_;
  std::vector<uint64_t> bytes_;   // the file, 8-byte aligned
  std::vector<uint64_t> tables_;  // flyref_tensor / flyref_node tables
  std::vector<uint64_t> arena_;   // 8-byte aligned arena
  size_t arena_bytes_ = 0;
  flyref_model_info info_{};
  flyref_graph graph_{};
};

}  // namespace flynet

#endif  // FLYNET_QUANT_FLY_RUNNER_HPP_
