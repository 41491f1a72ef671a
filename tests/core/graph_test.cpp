#include "flynet/core/graph.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace flynet {
namespace {

ArchSpec imagenet_half() {
  ArchSpec s = arch_preset("flynet-h3");
  s.in_h = s.in_w = 224;
  s.in_c = 3;
  s.classes = 1000;
  return s;
}

const Node& node(const Graph& g, const std::string& name) {
  const int i = g.find(name);
  EXPECT_GE(i, 0) << name;
  return g.nodes[size_t(i)];
}

TEST(Graph, HalfWidthChannelsMatchDesignSection38) {
  const Graph g = build_graph(imagenet_half());
  EXPECT_EQ(node(g, "stem").cout, 8);
  // (E, out) per block at 0.5x, as listed in the design file.
  const int expected[11][2] = {{8, 8},    {40, 16},  {56, 16},  {64, 24},  {144, 24}, {144, 24},
                               {72, 24},  {72, 24},  {144, 48}, {288, 48}, {288, 48}};
  for (int b = 0; b < 11; ++b) {
    const std::string p = "b" + std::to_string(b);
    SCOPED_TRACE(p);
    const Node& mdw = node(g, p + ".mdw");
    EXPECT_EQ(mdw.cin, expected[b][0]);
    EXPECT_EQ(mdw.groups, expected[b][0]);
    EXPECT_EQ(mdw.cout, 3 * expected[b][0]);
    EXPECT_EQ(node(g, p + ".proj").cout, expected[b][1]);
  }
  EXPECT_LT(g.find("b0.exp"), 0) << "b0 has no expansion conv (E == C_in)";
  EXPECT_EQ(node(g, "last").cout, 288);
  EXPECT_EQ(node(g, "fc1").cout, 512);
  EXPECT_EQ(node(g, "fc2").cout, 1000);
}

TEST(Graph, HalfWidthShortcutsOnlyOnB0B1B3B8) {
  const Graph g = build_graph(imagenet_half());
  std::set<std::string> with_short;
  for (const Node& n : g.nodes)
    if (n.op == OpKind::dw_concat) with_short.insert(n.name);
  EXPECT_EQ(with_short, (std::set<std::string>{"b0.short", "b1.short", "b3.short", "b8.short"}));
  // b6 is 24 -> 24 at stride 1: an identity add.
  const Node& add6 = node(g, "b6.add");
  EXPECT_EQ(g.nodes[size_t(add6.inputs[1])].name, "b5.add");
}

TEST(Graph, SmallInputSpatialSizes) {
  // 28 -> 28 (stem s1) -> 28 (b0 s1) -> 14 -> 7 -> 4; design 3.8.
  const Graph g = build_graph(arch_preset("flynet-h3"));
  EXPECT_EQ(node(g, "stem").out, (Shape{28, 28, 8}));
  EXPECT_EQ(node(g, "b0.reduce").out.h, 28);
  EXPECT_EQ(node(g, "b1.reduce").out.h, 14);
  EXPECT_EQ(node(g, "b3.reduce").out.h, 7);
  EXPECT_EQ(node(g, "b8.reduce").out.h, 4);
  EXPECT_EQ(node(g, "last").out, (Shape{4, 4, 288}));
  EXPECT_EQ(g.output().out, (Shape{1, 1, 10}));
  // b0 is 8 -> 8 at stride 1 in the small variant: identity, no light shortcut.
  EXPECT_LT(g.find("b0.short"), 0);
  EXPECT_GE(g.find("b0.add"), 0);
}

TEST(Graph, TopologicalOrderAndUniqueNames) {
  for (const char* preset : {"flynet-h3", "mobilenetv3-small"}) {
    const Graph g = build_graph(arch_preset(preset));
    std::set<std::string> names;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      EXPECT_TRUE(names.insert(g.nodes[i].name).second) << g.nodes[i].name;
      for (int in : g.nodes[i].inputs) EXPECT_LT(size_t(in), i) << g.nodes[i].name;
    }
    std::set<std::string> params;
    for (const ParamDecl& p : g.all_params()) EXPECT_TRUE(params.insert(p.name).second) << p.name;
  }
}

// users() is the inverse of the inputs lists: every edge once, in node order; only the logits
// node has no reader (a FlyNet graph has no dead nodes).
TEST(Graph, UsersInvertTheInputs) {
  for (const char* preset : {"flynet-h3", "mobilenetv3-small"}) {
    const Graph g = build_graph(arch_preset(preset));
    size_t edges = 0, listed = 0;
    for (const Node& n : g.nodes) edges += n.inputs.size();
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const std::vector<int> u = g.users(int(i));
      listed += u.size();
      EXPECT_TRUE(std::is_sorted(u.begin(), u.end())) << g.nodes[i].name;
      for (int j : u)
        EXPECT_NE(std::find(g.nodes[size_t(j)].inputs.begin(), g.nodes[size_t(j)].inputs.end(), int(i)),
                  g.nodes[size_t(j)].inputs.end())
            << g.nodes[i].name << " -> " << g.nodes[size_t(j)].name;
      EXPECT_EQ(u.empty(), i + 1 == g.nodes.size()) << preset << ": " << g.nodes[i].name;
    }
    EXPECT_EQ(listed, edges) << preset;
  }
}

TEST(Graph, EcaKernelFollowsChannels) {
  const Graph g = build_graph(imagenet_half());
  for (const Node& n : g.nodes) {
    if (n.op != OpKind::va_eca) continue;
    EXPECT_EQ(n.eca_k, n.cin <= 127 ? 3 : 5) << n.name;
  }
}

TEST(Graph, FunnelMaxoutReadsTheMdwInput) {
  ArchSpec s = arch_preset("flynet-h3");
  s.reduce = Reduce::funnel_maxout;
  const Graph g = build_graph(s);
  const Node& r = node(g, "b1.reduce");
  ASSERT_EQ(r.inputs.size(), 2u);
  EXPECT_EQ(g.nodes[size_t(r.inputs[1])].name, "b1.exp.act");
  EXPECT_EQ(r.funnel_stride, 2);
  // b0 has no expansion: its funnel candidate is the block input itself.
  EXPECT_EQ(g.nodes[size_t(node(g, "b0.reduce").inputs[1])].name, "stem.act");
}

TEST(Graph, GateNoneDropsVaEca) {
  ArchSpec s = arch_preset("flynet-h3");
  s.gate = Gate::none;
  const Graph g = build_graph(s);
  for (const Node& n : g.nodes) EXPECT_NE(n.op, OpKind::va_eca);
}

TEST(Graph, MobileNetV3SmallHasSeWhereTheTableSays) {
  const Graph g = build_graph(arch_preset("mobilenetv3-small"));
  const bool se[11] = {true, false, false, true, true, true, true, true, true, true, true};
  for (int b = 0; b < 11; ++b)
    EXPECT_EQ(g.find("b" + std::to_string(b) + ".se.scale") >= 0, se[b]) << b;
  for (const Node& n : g.nodes) EXPECT_NE(n.op, OpKind::head_reduce);
}

TEST(Graph, DwPwShortcutShapes) {
  ArchSpec s = imagenet_half();
  s.residual = Residual::dw_pw;
  const Graph g = build_graph(s);
  const Node& dw = node(g, "b1.short.dw");
  EXPECT_EQ(dw.groups, dw.cin);
  EXPECT_EQ(dw.stride, 2);
  EXPECT_EQ(node(g, "b1.short.pw").cout, 16);
}

}  // namespace
}  // namespace flynet
