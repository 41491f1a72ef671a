// Every case of ../shared/data/cmsis-nn-vectors (66 TFLite-generated int8 cases of CMSIS-NN's own
// unit tests) through the flyref kernels, zero tolerance, default double rounding. Skips with a
// message when the shared folder is absent (as in a user's clone).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "flyref.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

fs::path vectors_dir() { return fs::path(FLYNET_SHARED_DIR) / "data" / "cmsis-nn-vectors"; }

std::vector<json> load(const std::string& op) {
  std::vector<json> out;
  for (const auto& e : fs::directory_iterator(vectors_dir())) {
    if (e.path().extension() != ".json") continue;
    std::ifstream f(e.path());
    json j = json::parse(f);
    if (op.empty() || j.at("op") == op) out.push_back(std::move(j));
  }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) { return a["name"] < b["name"]; });
  return out;
}

#define SKIP_IF_ABSENT()                                                                        \
  if (!fs::is_directory(vectors_dir()))                                                         \
  GTEST_SKIP() << "../shared/data/cmsis-nn-vectors not found: " << vectors_dir().string()

template <class T>
std::vector<T> arr(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return {};
  return j[key].get<std::vector<T>>();
}

int cfg(const json& j, const char* key) { return j.at("config").at(key).get<int>(); }

::testing::AssertionResult exact(const json& j, const std::vector<int8_t>& got) {
  const auto want = arr<int>(j, "expected_output");
  if (want.size() != got.size()) return ::testing::AssertionFailure() << j["name"] << ": size mismatch";
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i])
      return ::testing::AssertionFailure() << j["name"] << ": pos " << i << " actual " << int(got[i]) << " expected "
                                           << want[i];
  return ::testing::AssertionSuccess();
}

std::map<std::string, int>& passes() {
  static std::map<std::string, int> p;
  return p;
}

flyref_conv_params conv_params(const json& j) {
  flyref_conv_params p{};
  p.input_offset = cfg(j, "input_offset");
  p.output_offset = cfg(j, "output_offset");
  p.stride_h = cfg(j, "stride_h");
  p.stride_w = cfg(j, "stride_w");
  p.pad_h = cfg(j, "pad_h");
  p.pad_w = cfg(j, "pad_w");
  p.dilation_h = cfg(j, "dilation_h");
  p.dilation_w = cfg(j, "dilation_w");
  p.activation = {cfg(j, "activation_min"), cfg(j, "activation_max")};
  p.rounding = FLYNET_ROUNDING_DOUBLE;
  return p;
}

std::vector<int8_t> s8(const json& j, const char* key) {
  const auto v = arr<int>(j, key);
  return std::vector<int8_t>(v.begin(), v.end());
}

// A conv or depthwise case: its tensors and parameters as the kernels take them.
struct ConvVector {
  const json& j;
  std::vector<int8_t> x = s8(j, "input"), w = s8(j, "weights");
  std::vector<int32_t> bias = arr<int32_t>(j, "bias"), m = arr<int32_t>(j, "output_multiplier"),
                       s = arr<int32_t>(j, "output_shift");
  flyref_conv_params p = conv_params(j);
  flyref_quant_params q{m.data(), s.data(), static_cast<int32_t>(m.size())};  // points into m, s
  flyref_dims in{cfg(j, "batches"), cfg(j, "input_h"), cfg(j, "input_w"), cfg(j, "input_c")};
  flyref_dims out{cfg(j, "batches"), cfg(j, "output_h"), cfg(j, "output_w"), cfg(j, "output_c")};

  explicit ConvVector(const json& case_json) : j(case_json) {}
  ConvVector(const ConvVector&) = delete;
  const int32_t* b() const { return bias.empty() ? nullptr : bias.data(); }
  std::vector<int8_t> output() const { return std::vector<int8_t>(static_cast<size_t>(cfg(j, "output_size")), 0x55); }

  /// flyref_conv2d_s8 (or its wrapper) with a scratch buffer of the size the kernel asks for.
  flyref_status conv(std::vector<int8_t>* y, bool wrapper = false) const {
    const flyref_dims f{cfg(j, "output_c"), cfg(j, "kernel_h"), cfg(j, "kernel_w"), cfg(j, "kernel_c")};
    std::vector<int8_t> scratch(flyref_conv2d_s8_buffer_size(&in, &f));
    flyref_context ctx{scratch.data(), static_cast<int32_t>(scratch.size())};
    *y = output();
    return (wrapper ? flyref_conv2d_wrapper_s8 : flyref_conv2d_s8)(&ctx, &p, &q, &in, x.data(), &f, w.data(), b(), &out,
                                                                   y->data());
  }
};

std::vector<int8_t> run_depthwise(const json& j, int ch_mult) {
  const ConvVector c(j);
  const flyref_dims f{1, cfg(j, "kernel_h"), cfg(j, "kernel_w"), cfg(j, "output_c")};
  std::vector<int8_t> y = c.output();
  EXPECT_EQ(flyref_depthwise_conv2d_s8(&c.p, ch_mult, &c.q, &c.in, c.x.data(), &f, c.w.data(), c.b(), &c.out, y.data()),
            FLYREF_OK)
      << j["name"];
  return y;
}

TEST(CmsisNnVectors, Conv) {
  SKIP_IF_ABSENT();
  for (const auto& j : load("conv")) {
    const ConvVector c(j);
    std::vector<int8_t> y, y2;
    ASSERT_EQ(c.conv(&y), FLYREF_OK) << j["name"];
    EXPECT_TRUE(exact(j, y)) << "generic";
    ASSERT_EQ(c.conv(&y2, /*wrapper=*/true), FLYREF_OK);
    EXPECT_TRUE(exact(j, y2)) << "wrapper";
    // basic and stride2pad1 (1 channel in and out) are also CMSIS-NN depthwise cases.
    if (cfg(j, "input_c") == 1 && cfg(j, "output_c") == 1) {
      EXPECT_TRUE(exact(j, run_depthwise(j, 1))) << "as depthwise";
      if (exact(j, run_depthwise(j, 1))) ++passes()["conv-as-depthwise"];
    }
    if (exact(j, y) && exact(j, y2)) ++passes()["conv"];
  }
  EXPECT_EQ(passes()["conv"], 30);
}

TEST(CmsisNnVectors, Depthwise) {
  SKIP_IF_ABSENT();
  for (const auto& j : load("depthwise")) {
    const auto y = run_depthwise(j, cfg(j, "ch_mult"));
    EXPECT_TRUE(exact(j, y));
    if (exact(j, y)) ++passes()["depthwise"];
  }
  EXPECT_EQ(passes()["depthwise"], 12);
}

TEST(CmsisNnVectors, FullyConnected) {
  SKIP_IF_ABSENT();
  for (const auto& j : load("fully_connected")) {
    const auto x = s8(j, "input"), w = s8(j, "weights");
    const auto bias = arr<int32_t>(j, "bias");
    const auto m = arr<int32_t>(j, "output_multiplier"), s = arr<int32_t>(j, "output_shift");
    const int k = cfg(j, "accumulation_depth"), co = cfg(j, "output_c"), n = cfg(j, "batches");
    flyref_fc_params p{cfg(j, "input_offset"), cfg(j, "filter_offset"), cfg(j, "output_offset"),
                       {cfg(j, "activation_min"), cfg(j, "activation_max")}, FLYNET_ROUNDING_DOUBLE};
    const flyref_quant_params q{m.data(), s.data(), static_cast<int32_t>(m.size())};
    const flyref_dims in{n, cfg(j, "input_h"), cfg(j, "input_w"), cfg(j, "input_c")}, f{co, 1, 1, k}, out{n, 1, 1, co};
    std::vector<int8_t> y(n * co, 0x55);
    ASSERT_EQ(flyref_fully_connected_s8(&p, &q, &in, x.data(), &f, w.data(), bias.empty() ? nullptr : bias.data(), &out,
                                        y.data()),
              FLYREF_OK)
        << j["name"];
    EXPECT_TRUE(exact(j, y));
    if (exact(j, y)) ++passes()["fully_connected"];
  }
  EXPECT_EQ(passes()["fully_connected"], 7);
}

TEST(CmsisNnVectors, AddAndMul) {
  SKIP_IF_ABSENT();
  for (const auto& j : load("add")) {
    const auto a = s8(j, "input"), b = s8(j, "input2");
    flyref_add_params p{cfg(j, "input1_offset"), cfg(j, "input2_offset"), cfg(j, "left_shift"), cfg(j, "input1_multiplier"),
                        cfg(j, "input1_shift"), cfg(j, "input2_multiplier"), cfg(j, "input2_shift"),
                        cfg(j, "output_multiplier"), cfg(j, "output_shift"), cfg(j, "output_offset"),
                        {cfg(j, "activation_min"), cfg(j, "activation_max")}, FLYNET_ROUNDING_DOUBLE};
    const flyref_dims d{1, 1, 1, cfg(j, "size")};
    std::vector<int8_t> y(a.size(), 0x55);
    ASSERT_EQ(flyref_add_s8(&p, &d, a.data(), &d, b.data(), &d, y.data()), FLYREF_OK);
    EXPECT_TRUE(exact(j, y));
    if (exact(j, y)) ++passes()["add"];
  }
  for (const auto& j : load("mul")) {
    const auto a = s8(j, "input"), b = s8(j, "input2");
    flyref_mul_params p{cfg(j, "input1_offset"), cfg(j, "input2_offset"), cfg(j, "output_multiplier"),
                        cfg(j, "output_shift"), cfg(j, "output_offset"),
                        {cfg(j, "activation_min"), cfg(j, "activation_max")}, FLYNET_ROUNDING_DOUBLE};
    const flyref_dims d{1, 1, 1, cfg(j, "size")};
    std::vector<int8_t> y(a.size(), 0x55);
    ASSERT_EQ(flyref_mul_s8(&p, &d, a.data(), &d, b.data(), &d, y.data()), FLYREF_OK);
    EXPECT_TRUE(exact(j, y));
    if (exact(j, y)) ++passes()["mul"];
  }
  EXPECT_EQ(passes()["add"], 1);
  EXPECT_EQ(passes()["mul"], 1);
}

TEST(CmsisNnVectors, Pools) {
  SKIP_IF_ABSENT();
  for (const char* op : {"avgpool", "maxpool"}) {
    for (const auto& j : load(op)) {
      const auto x = s8(j, "input");
      flyref_pool_params p{cfg(j, "kernel_h"), cfg(j, "kernel_w"), cfg(j, "stride_h"), cfg(j, "stride_w"),
                           cfg(j, "pad_h"), cfg(j, "pad_w"), {cfg(j, "activation_min"), cfg(j, "activation_max")}};
      const flyref_dims in{cfg(j, "batches"), cfg(j, "input_h"), cfg(j, "input_w"), cfg(j, "input_c")};
      const flyref_dims out{cfg(j, "batches"), cfg(j, "output_h"), cfg(j, "output_w"), cfg(j, "output_c")};
      std::vector<int8_t> y(static_cast<size_t>(out.n) * out.h * out.w * out.c, 0x55);
      const bool avg = std::string(op) == "avgpool";
      ASSERT_EQ(avg ? flyref_avg_pool_s8(&p, &in, x.data(), &out, y.data()) : flyref_max_pool_s8(&p, &in, x.data(), &out, y.data()),
                FLYREF_OK)
          << j["name"];
      EXPECT_TRUE(exact(j, y));
      if (exact(j, y)) ++passes()[op];
    }
  }
  EXPECT_EQ(passes()["avgpool"], 6);
  EXPECT_EQ(passes()["maxpool"], 8);
}

TEST(CmsisNnVectors, Softmax) {
  SKIP_IF_ABSENT();
  for (const auto& j : load("softmax")) {
    const auto x = s8(j, "input");
    flyref_softmax_params p{cfg(j, "input_multiplier"), cfg(j, "input_left_shift"), cfg(j, "diff_min")};
    std::vector<int8_t> y(x.size(), 0x55);
    ASSERT_EQ(flyref_softmax_s8(&p, cfg(j, "num_rows"), cfg(j, "row_size"), x.data(), y.data()), FLYREF_OK);
    EXPECT_TRUE(exact(j, y));
    if (exact(j, y)) ++passes()["softmax"];
  }
  EXPECT_EQ(passes()["softmax"], 1);
}

// Runs last (alphabetical order is not guaranteed, so it recounts itself): all 66 files exist and
// single rounding breaks exactly the cases the data README lists (the comparison is sensitive).
TEST(CmsisNnVectors, SummaryAndSingleRoundingSensitivity) {
  SKIP_IF_ABSENT();
  const auto all = load("");
  EXPECT_EQ(all.size(), 66u);
  int differing = 0;
  for (const auto& j : load("conv")) {
    ConvVector c(j);
    c.p.rounding = FLYNET_ROUNDING_SINGLE;
    std::vector<int8_t> y;
    ASSERT_EQ(c.conv(&y), FLYREF_OK);
    if (!exact(j, y)) ++differing;
  }
  // README "Validation": conv_1_x_n_7, conv_2x2_dilation, conv_5, grouped_conv_4,
  // kernel1x1_stride_x_y differ by one LSB with single rounding (plus depthwise_dilation).
  EXPECT_EQ(differing, 5);
  std::cout << "[ flyref ] cmsis-nn-vectors: " << all.size() << " files; passes so far:";
  for (const auto& [k, v] : passes()) std::cout << " " << k << "=" << v;
  std::cout << "\n";
}

}  // namespace
