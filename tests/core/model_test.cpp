#include "flynet/core/model.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "flynet/formats/error.hpp"
#include "flynet/formats/h5_store.hpp"

namespace flynet {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("flynet_model_test_" + name)).string();
}

TEST(Model, CreateIsDeterministicAndHeadsDiffer) {
  const Model a = Model::create(arch_preset("flynet-h3"), 7);
  const Model b = Model::create(arch_preset("flynet-h3"), 7);
  const Model c = Model::create(arch_preset("flynet-h3"), 8);
  EXPECT_EQ(a.to_record(), b.to_record());
  EXPECT_NE(a.to_record(), c.to_record());
  // MDW weights [h*E, 1, k, k]: head j of channel c is row c*h + j; the three heads differ.
  const Tensor& w = a.param("b2.mdw.weight");
  const int64_t k2 = w.shape[2] * w.shape[3];
  for (int j = 1; j < 3; ++j) {
    bool differs = false;
    for (int64_t t = 0; t < k2; ++t) differs |= w.data[size_t(t)] != w.data[size_t(j * k2 + t)];
    EXPECT_TRUE(differs) << "head " << j;
  }
}

TEST(Model, InitialisationFollowsTheRoles) {
  const Model m = Model::create(arch_preset("flynet-h3"), 1);
  for (float v : m.param("b3.proj.bn.gamma").data) EXPECT_EQ(v, 1.f);
  for (float v : m.param("b3.proj.bn.running_var").data) EXPECT_EQ(v, 1.f);
  for (float v : m.param("fc2.bias").data) EXPECT_EQ(v, 0.f);
  // He-normal fan-out for the stem: std = sqrt(2 / (8 * 3 * 3)) = 0.1667.
  const Tensor& w = m.param("last.weight");  // [288, 48, 1, 1]: std sqrt(2/288) = 0.0833
  double sq = 0;
  for (float v : w.data) sq += double(v) * v;
  EXPECT_NEAR(std::sqrt(sq / double(w.numel())), std::sqrt(2.0 / 288), 0.004);
}

TEST(Model, SaveLoadGivesTheIdenticalGraphAndBytes) {
  for (const char* preset : {"flynet-h3", "mobilenetv3-small"}) {
    Model m = Model::create(arch_preset(preset), 3);
    m.meta["train.test_top1"] = "0.9251";
    m.extra.push_back(TensorRecord{"qat.levels", DType::i32, {1}, {8, 0, 0, 0}});
    const std::string path = temp_path(std::string(preset) + ".h5");
    save_model(m, path);
    const Model back = load_model(path);
    EXPECT_EQ(back.spec(), m.spec());
    EXPECT_EQ(back.graph.nodes.size(), m.graph.nodes.size());
    EXPECT_EQ(back.to_record(), m.to_record());
    std::filesystem::remove(path);
  }
}

TEST(Model, MissingTensorIsAFormatErrorNamingFileAndTensor) {
  ModelRecord r = Model::create(arch_preset("flynet-h3"), 3).to_record();
  r.tensors.erase(r.tensors.begin() + 5);
  const std::string gone = Model::create(arch_preset("flynet-h3"), 3).to_record().tensors[5].name;
  try {
    Model::from_record(r, "m.h5");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "missing tensor '" + gone + "' (m.h5)");
    EXPECT_EQ(e.code(), ErrorCode::format);
  }
}

TEST(Model, WrongShapeIsAFormatError) {
  ModelRecord r = Model::create(arch_preset("flynet-h3"), 3).to_record();
  for (TensorRecord& t : r.tensors)
    if (t.name == "fc2.bias") {
      t.shape = {11};
      t.data.resize(44);
    }
  try {
    Model::from_record(r, "m.h5");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "tensor 'fc2.bias' has shape [11], the architecture needs [10] (m.h5)");
  }
}

}  // namespace
}  // namespace flynet
