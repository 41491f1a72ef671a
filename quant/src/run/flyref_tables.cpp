#include "flynet/quant/flyref_tables.hpp"

#include <algorithm>

#include "flynet/formats/error.hpp"

namespace flynet {

namespace {
// Ops without parameters still get a valid pointer (the reference checks params != NULL).
const int32_t kNoParams = 0;
}  // namespace

FlyrefTables::FlyrefTables(const IntGraph& g) {
  tensors.reserve(g.tensors.size());
  for (const IntTensor& t : g.tensors) {
    flyref_tensor f{};
    f.dims = {t.dims[0], t.dims[1], t.dims[2], t.dims[3]};
    f.type = t.type;
    f.zero_point = t.zero_point;
    f.data = t.constant() ? t.data.data() : nullptr;
    tensors.push_back(f);
  }
  nodes.reserve(g.ops.size());
  for (const IntOp& o : g.ops) {
    if (o.inputs.size() > FLYREF_MAX_NODE_INPUTS || o.outputs.size() > FLYREF_MAX_NODE_OUTPUTS || o.outputs.empty())
      throw Error(ErrorCode::unsupported, "op '" + o.name + "' has " + std::to_string(o.inputs.size()) +
                                              " inputs and " + std::to_string(o.outputs.size()) +
                                              " outputs; the integer reference takes 1.." +
                                              std::to_string(FLYREF_MAX_NODE_OUTPUTS) + " outputs and at most " +
                                              std::to_string(FLYREF_MAX_NODE_INPUTS) + " inputs");
    flyref_node n{};
    n.op = o.op;
    n.num_inputs = int32_t(o.inputs.size());
    n.num_outputs = int32_t(o.outputs.size());
    std::copy(o.inputs.begin(), o.inputs.end(), n.inputs);
    std::copy(o.outputs.begin(), o.outputs.end(), n.outputs);
    n.params = o.params.empty() ? static_cast<const void*>(&kNoParams) : o.params.data();
    nodes.push_back(n);
  }
}

}  // namespace flynet
