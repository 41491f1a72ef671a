// The per-op profile of a .fly model on an emulated Cortex-M (flynet verify --target ...
// --profile): the model-runner firmware runs every image a second time node by node and prints
// the SysTick ticks of each node (examples/cortex-m/model/model_main.c, "profile" and "node"
// lines); this turns them into instructions per node, per op kind and per MAC.
//
//   QemuTargetOptions opt;
//   opt.profile = true;
//   QemuRunResult r = run_on_qemu(fly, inputs, n, opt);
//   std::fputs(format_target_profile(r.profile).c_str(), stdout);
//
// Each node's call also pays the interpreter's graph check and the two timer reads; the firmware
// measures them on an empty range once per image and they are subtracted from every node, so
// the node counts add up to the whole inference minus one such check (TargetProfile::overhead).
#ifndef FLYNET_QUANT_TARGET_PROFILE_HPP_
#define FLYNET_QUANT_TARGET_PROFILE_HPP_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flynet {

struct NodeProfile {
  int32_t node = 0;
  int32_t op = 0;             ///< flynet_op
  std::string kind;           ///< op kind: "conv2d 1x1", "depthwise 3x3 m3", "mul", ...
  std::string layer;          ///< kind with its shapes: "conv2d 1x1 s1 14x14 16->32", "mul 14x14x48"
  double instructions = 0;    ///< mean per inference
  int64_t macs = 0;           ///< multiply-accumulates (conv, depthwise, FC, ECA conv1d; else 0)
  double per_mac() const { return macs > 0 ? instructions / double(macs) : 0; }
};

struct KindProfile {
  std::string kind;
  int32_t nodes = 0;
  double instructions = 0;    ///< sum over its nodes, mean per inference
  int64_t macs = 0;
  double per_mac() const { return macs > 0 ? instructions / double(macs) : 0; }
};

struct TargetProfile {
  int64_t samples = 0;              ///< images profiled
  std::vector<NodeProfile> nodes;   ///< in graph order
  std::vector<KindProfile> kinds;   ///< most instructions first
  double node_instructions = 0;     ///< sum over the nodes
  double overhead = 0;              ///< one call's graph check and timer reads (mean)
  double whole = 0;                 ///< whole inference, as measured around flyref_graph_invoke
  int64_t macs = 0;                 ///< sum over the nodes
  bool empty() const { return nodes.empty(); }
  double per_mac() const { return macs > 0 ? whole / double(macs) : 0; }
};

/// Multiply-accumulates of node `node` of the .fly model `model`, from its tensor shapes: conv
/// out_elements * KH * KW * C_in/groups, depthwise out_elements * KH * KW, FC out_elements * K,
/// ECA conv1d C * K * 2 per image (mean and std taps); 0 for every other op. Throws
/// Error{format} if the C reader rejects the model, Error{usage} for a node out of range.
int64_t fly_node_macs(std::string_view model, int32_t node);

/// Builds the profile from the firmware's transcript: one "profile <i> empty_ticks=<t>" line per
/// image, each followed by one "node <k> op=<op> ticks=<t>" line per node of `model` in order.
/// `instructions_per_tick` converts ticks (qemu -icount shift=0); `whole` holds the measured
/// whole-inference instructions per image (QemuRunResult::instructions), one per profiled image.
/// Throws Error{format} when the lines do not match the model (missing, out of order, another
/// op) or when there is no profile line at all.
TargetProfile parse_target_profile(std::string_view transcript, std::string_view model,
                                   double instructions_per_tick, const std::vector<uint64_t>& whole);

/// The profile as text: per node (layer, instructions, share, MACs, instructions per MAC), per
/// op kind, and the whole model.
std::string format_target_profile(const TargetProfile& p);

}  // namespace flynet

#endif  // FLYNET_QUANT_TARGET_PROFILE_HPP_
