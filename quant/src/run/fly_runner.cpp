#include "flynet/quant/fly_runner.hpp"
#include "flynet/quant/flyref_status_text.hpp"

#include <cstring>

#include "flynet/formats/error.hpp"
#include "flynet/formats/limits.hpp"

namespace flynet {

FlyRunner::FlyRunner(std::string_view bytes, const std::string& file) : file_(file) {
  // The reader uses RAW int32 constants in place: the copy gives them their 4-byte alignment.
  bytes_.assign((bytes.size() + 7) / 8, 0);
  if (!bytes.empty()) std::memcpy(bytes_.data(), bytes.data(), bytes.size());
  const auto* p = reinterpret_cast<const uint8_t*>(bytes_.data());
  flyref_status st = flyref_model_info_get(p, bytes.size(), &info_);
  if (st == FLYREF_OK) {
    tables_.assign((info_.table_bytes + 7) / 8, 0);
    st = flyref_model_load(p, bytes.size(), tables_.data(), tables_.size() * 8, &graph_);
  }
  if (st != FLYREF_OK)
    throw Error(ErrorCode::format, std::string("the .fly reader rejects the model: ") + flyref_status_text(st), file_);
  arena_bytes_ = info_.arena_size;
}

uint8_t* FlyRunner::arena() {
  // Allocated at the first run, not when loading: `flynet info` only reads the plan.
  if (arena_.empty()) {
    limits::check(limits::kFlyArenaField, arena_bytes_, limits::kFlyArenaBytes, "arena bytes", file_);
    arena_.assign(arena_bytes_ / 8 + 1, 0);
  }
  return reinterpret_cast<uint8_t*>(arena_.data());
}

void FlyRunner::check(flyref_status st, int32_t node) const {
  if (st == FLYREF_OK) return;
  const std::string where = node >= 0 ? " at node " + std::to_string(node) : "";
  throw Error(ErrorCode::unsupported, std::string("the .fly model failed") + where + ": " + flyref_status_text(st), file_);
}

void FlyRunner::run(const int8_t* input, int8_t* output) {
  uint8_t* a = arena();
  std::memcpy(a + graph_.tensors[info_.input].arena_offset, input, input_bytes());
  check(flyref_graph_invoke(&graph_, a, arena_bytes_), -1);
  std::memcpy(output, a + graph_.tensors[info_.output].arena_offset, output_bytes());
}

void FlyRunner::run(const int8_t* input, int8_t* output, const std::function<void(int32_t)>& after) {
  uint8_t* a = arena();
  std::memcpy(a + graph_.tensors[info_.input].arena_offset, input, input_bytes());
  for (int32_t k = 0; k < graph_.num_nodes; ++k) {
    check(flyref_graph_invoke_range(&graph_, a, arena_bytes_, k, k + 1), k);
    if (after) after(k);
  }
  std::memcpy(output, a + graph_.tensors[info_.output].arena_offset, output_bytes());
}

const int8_t* FlyRunner::tensor(int32_t t) const {
  return static_cast<const int8_t*>(
      flyref_tensor_data(&graph_, reinterpret_cast<const uint8_t*>(arena_.data()), t));
}

size_t FlyRunner::tensor_bytes(int32_t t) const {
  return t >= 0 && t < graph_.num_tensors ? flyref_tensor_bytes(&graph_.tensors[t]) : 0;
}

}  // namespace flynet
