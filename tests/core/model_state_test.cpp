#include "flynet/core/model_state.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <numeric>

#include "flynet/core/fake_quant.hpp"
#include "flynet/core/model.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {
namespace {

// The metadata of a QAT model calibrated by flynet before the typed records existed (the
// behaviour fingerprint's q8.cal.h5 and m.pcal.h5, values copied from h5dump).
Meta old_qat_meta() {
  return {{"calib.method", "mse+qat"},   {"calib.samples", "200"},    {"data.mean", "0.286040604"},
          {"data.scale", "1/255"},       {"data.std", "0.353024244"}, {"train.act_bits", "8"},
          {"train.bn_folded", "1"},      {"train.weight_levels", "8"}, {"train.test_top1", "0.7"}};
}
Meta old_percentile_meta() {
  return {{"calib.method", "percentile"}, {"calib.percentile", "99.989999999999995"}, {"calib.samples", "200"},
          {"data.mean", "0.286040604"},   {"data.scale", "1/255"},                    {"data.std", "0.353024244"}};
}

// Expects `f` to throw Error{code} whose message is exactly `message`.
template <class F>
void expect_error(F f, ErrorCode code, const std::string& message) {
  try {
    f();
    ADD_FAILURE() << "accepted; expected: " << message;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.message();
    EXPECT_EQ(e.message(), message);
  }
}

// ---- weight levels ------------------------------------------------------------------------

// The largest integer code of an L-level grid, independently of fake_quant: the grid points
// -a + i * 2a/(L-1) are, in units of a/(L-1), the integers 2i - (L-1); the coarsest integer
// codes divide them by their greatest common divisor.
int max_code_by_gcd(int levels) {
  int g = 0;
  for (int i = 0; i < levels; ++i) g = std::gcd(g, std::abs(2 * i - (levels - 1)));
  return (levels - 1) / g;
}

TEST(WeightLevels, ExactlyTheCountsWhoseCodesFitSymmetricInt8) {
  EXPECT_TRUE(valid_weight_levels(0));  // float
  EXPECT_FALSE(valid_weight_levels(1));
  EXPECT_FALSE(valid_weight_levels(-8));
  for (int levels = 2; levels <= 1000; ++levels)
    EXPECT_EQ(valid_weight_levels(levels), max_code_by_gcd(levels) <= 127) << levels;
  // By hand: 128 -> codes +-127 (odd), 129 -> +-64, 130 -> +-129, 255 -> +-127, 256 -> +-255.
  EXPECT_EQ(max_code_by_gcd(128), 127);
  EXPECT_EQ(max_code_by_gcd(130), 129);
  EXPECT_EQ(max_code_by_gcd(255), 127);
  for (int ok : {2, 3, 8, 127, 128, 129, 131, 253, 255}) EXPECT_TRUE(valid_weight_levels(ok)) << ok;
  for (int bad : {130, 200, 254, 256, 257, 1000, 65536}) EXPECT_FALSE(valid_weight_levels(bad)) << bad;
}

TEST(WeightLevels, ProblemTextsAndTheGridRefusesWhatTheRuleRefuses) {
  EXPECT_EQ(weight_levels_problem(8), "");
  EXPECT_EQ(weight_levels_problem(256),
            "an even level count above 128 has codes up to 255, beyond int8's 127 (use 2..128 or an odd count up to 255)");
  EXPECT_EQ(weight_levels_problem(1), "weight levels are 2..128 or an odd count up to 255 (0: float)");
  EXPECT_EQ(weight_levels_problem(300), "weight levels are 2..128 or an odd count up to 255 (0: float)");
  const float w[4] = {0.1f, -0.4f, 0.3f, 0.2f};
  float q[4];
  expect_error([&] { fake_quant_weights(w, q, 1, 4, 130); }, ErrorCode::usage,
               "weight levels 130: an even level count above 128 has codes up to 129, beyond int8's 127 (use 2..128 or "
               "an odd count up to 255)");
  // The largest counts the rule admits give codes within int8.
  for (int levels : {128, 255}) {
    const std::vector<ChannelGrid> grids = fake_quant_weights(w, q, 1, 4, levels);
    std::vector<int32_t> codes(4);
    weight_codes(q, codes.data(), 1, 4, grids);
    EXPECT_EQ(grids[0].max_code, 127) << levels;
    EXPECT_EQ(codes[1], -127) << levels;  // -0.4, the extreme, is the end of the grid
    for (int32_t c : codes) EXPECT_LE(std::abs(c), 127) << levels;
  }
}

// ---- QAT state ----------------------------------------------------------------------------

TEST(QatState, WritesTheKeysAsTrainingAlwaysHasAndReadsThemBack) {
  Meta m{{"train.test_top1", "0.9"}, {"train.bn_folded", "1"}};
  const QatState s{8, 8, false};
  write_qat_state(m, s);
  EXPECT_EQ(m, (Meta{{"train.test_top1", "0.9"}, {"train.weight_levels", "8"}, {"train.act_bits", "8"}}));
  EXPECT_EQ(read_qat_state(m), s);
  write_qat_state(m, QatState{});  // float: no keys at all
  EXPECT_EQ(m, (Meta{{"train.test_top1", "0.9"}}));
  EXPECT_EQ(read_qat_state(m), QatState{});
  EXPECT_FALSE(read_qat_state(m).any());
}

TEST(QatState, OldMetadataReadsBackAndWritesTheSameBytes) {
  const Meta old = old_qat_meta();
  const QatState s = read_qat_state(old, "q8.cal.h5");
  EXPECT_EQ(s, (QatState{8, 8, true}));
  Meta again = old;
  write_qat_state(again, s);
  EXPECT_EQ(again, old);
  // "0" means float for the two counts and unfolded BN (older readers took it so).
  EXPECT_EQ(read_qat_state({{"train.act_bits", "0"}, {"train.weight_levels", "0"}, {"train.bn_folded", "0"}}),
            QatState{});
}

TEST(QatState, EveryInvalidValueIsRefusedNamingKeyValueAndFile) {
  const std::string why_levels = "weight levels are 2..128 or an odd count up to 255 (0: float)";
  const std::vector<std::pair<Meta, std::string>> cases = {
      {{{"train.weight_levels", "abc"}}, "bad train.weight_levels 'abc': not a count (m.h5)"},
      {{{"train.weight_levels", ""}}, "bad train.weight_levels '': not a count (m.h5)"},
      {{{"train.weight_levels", " 8"}}, "bad train.weight_levels ' 8': not a count (m.h5)"},
      {{{"train.weight_levels", "8x"}}, "bad train.weight_levels '8x': not a count (m.h5)"},
      {{{"train.weight_levels", "-3"}}, "bad train.weight_levels '-3': not a count (m.h5)"},
      {{{"train.weight_levels", "99999999999"}}, "bad train.weight_levels '99999999999': not a count (m.h5)"},
      {{{"train.weight_levels", "1"}}, "bad train.weight_levels '1': " + why_levels + " (m.h5)"},
      {{{"train.weight_levels", "256"}},
       "bad train.weight_levels '256': an even level count above 128 has codes up to 255, beyond int8's 127 (use "
       "2..128 or an odd count up to 255) (m.h5)"},
      {{{"train.weight_levels", "130"}},
       "bad train.weight_levels '130': an even level count above 128 has codes up to 129, beyond int8's 127 (use "
       "2..128 or an odd count up to 255) (m.h5)"},
      {{{"train.act_bits", "4"}}, "bad train.act_bits '4': activations are int8 (8) or float (0) (m.h5)"},
      {{{"train.act_bits", "eight"}}, "bad train.act_bits 'eight': not a count (m.h5)"},
      {{{"train.bn_folded", "yes"}}, "bad train.bn_folded 'yes': 1 (folded) or 0 (m.h5)"},
      {{{"train.bn_folded", "2"}}, "bad train.bn_folded '2': 1 (folded) or 0 (m.h5)"},
  };
  for (const auto& [meta, message] : cases) {
    SCOPED_TRACE(message);
    expect_error([&, &meta = meta] { read_qat_state(meta, "m.h5"); }, ErrorCode::format, message);
  }
}

TEST(QatState, TheWriterRefusesBeforeStoringAnything) {
  Meta m{{"train.weight_levels", "8"}};
  expect_error([&] { write_qat_state(m, QatState{256, 0, false}); }, ErrorCode::usage,
               "bad train.weight_levels '256': an even level count above 128 has codes up to 255, beyond int8's 127 "
               "(use 2..128 or an odd count up to 255)");
  expect_error([&] { write_qat_state(m, QatState{8, 16, false}); }, ErrorCode::usage,
               "bad train.act_bits '16': activations are int8 (8) or float (0)");
  EXPECT_EQ(m, (Meta{{"train.weight_levels", "8"}}));
}

// ---- input normalisation ------------------------------------------------------------------

TEST(InputNormalisation, WritesAsTrainingAlwaysHasAndReadsBackExactly) {
  const InputNormalisation n{{0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}};
  Meta m;
  write_input_normalisation(m, n, 3);
  // 9 significant digits of each float (what the trainer wrote: ostream precision 9; the values
  // checked with Python's struct round trip to float32 and "%.9g").
  EXPECT_EQ(m, (Meta{{"data.mean", "0.491400003,0.482199997,0.446500003"},
                     {"data.std", "0.246999994,0.243499994,0.261599988"},
                     {"data.scale", "1/255"}}));
  EXPECT_EQ(read_input_normalisation(m, 3, "m.h5"), n);
  write_input_normalisation(m, InputNormalisation{}, 3);  // not recorded: no keys
  EXPECT_TRUE(m.empty());
}

TEST(InputNormalisation, OldMetadataReadsBackAndWritesTheSameBytes) {
  const Meta old = old_qat_meta();
  const InputNormalisation n = read_input_normalisation(old, 1, "q8.cal.h5");
  ASSERT_TRUE(n.recorded());
  EXPECT_EQ(n.mean, std::vector<float>{0.286040604f});
  EXPECT_EQ(n.std, std::vector<float>{0.353024244f});
  Meta again = old;
  write_input_normalisation(again, n, 1);
  EXPECT_EQ(again, old);
}

TEST(InputNormalisation, PerChannelDefaultsAndBroadcast) {
  const InputNormalisation none = read_input_normalisation(Meta{}, 3);
  EXPECT_FALSE(none.recorded());
  EXPECT_EQ(none.per_channel(3), (InputNormalisation{{0.f, 0.f, 0.f}, {1.f, 1.f, 1.f}}));
  const InputNormalisation one = read_input_normalisation({{"data.mean", "0.5"}, {"data.std", "0.25"}}, 3);
  EXPECT_EQ(one.per_channel(3), (InputNormalisation{{0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}}));
}

TEST(InputNormalisation, EveryInvalidValueIsRefusedNamingKeyValueAndFile) {
  const std::vector<std::pair<Meta, std::string>> cases = {
      {{{"data.mean", "a,b"}, {"data.std", "1,1"}}, "bad data.mean 'a,b': not a comma-separated list of finite numbers (m.h5)"},
      {{{"data.mean", "0.5,"}, {"data.std", "1,1"}}, "bad data.mean '0.5,': not a comma-separated list of finite numbers (m.h5)"},
      {{{"data.mean", "0.5,0.5"}, {"data.std", "1,1x"}}, "bad data.std '1,1x': not a comma-separated list of finite numbers (m.h5)"},
      {{{"data.mean", "nan,0"}, {"data.std", "1,1"}}, "bad data.mean 'nan,0': not a comma-separated list of finite numbers (m.h5)"},
      {{{"data.mean", "0.1,0.2,0.3"}, {"data.std", "1,1,1"}}, "bad data.mean '0.1,0.2,0.3': 3 values for 2 input channels (m.h5)"},
      {{{"data.mean", "0.5,0.5"}, {"data.std", "1,0"}}, "bad data.std '1,0': a standard deviation must be positive (m.h5)"},
      {{{"data.mean", "0.5,0.5"}, {"data.std", "-1"}}, "bad data.std '-1': a standard deviation must be positive (m.h5)"},
      {{{"data.mean", "0.5,0.5"}}, "bad data.mean '0.5,0.5': recorded without data.std (m.h5)"},
      {{{"data.std", "1"}}, "bad data.std '1': recorded without data.mean (m.h5)"},
      {{{"data.mean", "0.5"}, {"data.std", "1"}, {"data.scale", "1/256"}},
       "bad data.scale '1/256': pixels are scaled by 1/255 (m.h5)"},
  };
  for (const auto& [meta, message] : cases) {
    SCOPED_TRACE(message);
    expect_error([&, &meta = meta] { read_input_normalisation(meta, 2, "m.h5"); }, ErrorCode::format, message);
  }
}

TEST(InputNormalisation, TheWriterRefusesBeforeStoringAnything) {
  Meta m;
  expect_error([&] { write_input_normalisation(m, InputNormalisation{{0.5f, 0.5f}, {1.f, 1.f}}, 3); },
               ErrorCode::usage, "bad data.mean '0.5,0.5': 2 values for 3 input channels");
  expect_error([&] { write_input_normalisation(m, InputNormalisation{{0.5f}, {0.f}}, 3); }, ErrorCode::usage,
               "bad data.std '0': a standard deviation must be positive");
  expect_error([&] { write_input_normalisation(m, InputNormalisation{{0.5f}, {}}, 3); }, ErrorCode::usage,
               "bad data.mean '0.5': recorded without data.std");
  EXPECT_TRUE(m.empty());
}

// ---- calibration --------------------------------------------------------------------------

TEST(CalibrationState, WritesAsCalibrateAlwaysHasAndReadsBack) {
  Meta m{{"calib.stale", "x"}, {"train.seed", "1"}};
  CalibrationState s;
  s.method = CalibMethod::percentile;
  s.percentile = 99.9;
  s.samples = 500;
  write_calibration_state(m, s);
  EXPECT_EQ(m, (Meta{{"train.seed", "1"},
                     {"calib.method", "percentile"},
                     {"calib.percentile", "99.900000000000006"},  // %.17g of the double 99.9
                     {"calib.samples", "500"}}));
  EXPECT_EQ(read_calibration_state(m), s);
  // Other methods store no percentile; trained ranges add "+qat".
  s.method = CalibMethod::kl;
  s.trained_ranges = true;
  write_calibration_state(m, s);
  EXPECT_EQ(m, (Meta{{"train.seed", "1"}, {"calib.method", "kl+qat"}, {"calib.samples", "500"}}));
  CalibrationState back = *read_calibration_state(m);
  EXPECT_EQ(back.method_name(), "kl+qat");
  back.percentile = s.percentile;  // not stored for kl: the default comes back
  EXPECT_EQ(back, s);
  erase_calibration_state(m);
  EXPECT_EQ(m, (Meta{{"train.seed", "1"}}));
  EXPECT_FALSE(read_calibration_state(m).has_value());
}

TEST(CalibrationState, OldMetadataReadsBackAndWritesTheSameBytes) {
  for (const Meta& old : {old_qat_meta(), old_percentile_meta()}) {
    const std::optional<CalibrationState> s = read_calibration_state(old, "m.cal.h5");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->samples, 200);
    Meta again = old;
    write_calibration_state(again, *s);
    EXPECT_EQ(again, old);
  }
  const CalibrationState q = *read_calibration_state(old_qat_meta());
  EXPECT_EQ(q.method, CalibMethod::mse);
  EXPECT_TRUE(q.trained_ranges);
  const CalibrationState p = *read_calibration_state(old_percentile_meta());
  EXPECT_EQ(p.method, CalibMethod::percentile);
  EXPECT_EQ(p.percentile, 99.99);
  // Files calibrated before calib.samples existed: samples 0, and none written back.
  Meta before{{"calib.method", "minmax"}};
  EXPECT_EQ(read_calibration_state(before)->samples, 0);
  write_calibration_state(before, *read_calibration_state(before));
  EXPECT_EQ(before, (Meta{{"calib.method", "minmax"}}));
}

TEST(CalibrationState, EveryInvalidValueIsRefusedNamingKeyValueAndFile) {
  const std::string methods = "not a calibration method (minmax|ema|percentile|kl|mse, optionally +qat)";
  const std::vector<std::pair<Meta, std::string>> cases = {
      {{{"calib.method", "median"}}, "bad calib.method 'median': " + methods + " (m.h5)"},
      {{{"calib.method", "kl+x"}}, "bad calib.method 'kl+x': " + methods + " (m.h5)"},
      {{{"calib.method", "+qat"}}, "bad calib.method '+qat': " + methods + " (m.h5)"},
      {{{"calib.method", ""}}, "bad calib.method '': " + methods + " (m.h5)"},
      {{{"calib.method", "percentile"}, {"calib.percentile", "high"}}, "bad calib.percentile 'high': not a number (m.h5)"},
      {{{"calib.method", "percentile"}, {"calib.percentile", "50"}},
       "bad calib.percentile '50': a percentile must be in (50, 100] (m.h5)"},
      {{{"calib.method", "percentile"}, {"calib.percentile", "100.5"}},
       "bad calib.percentile '100.5': a percentile must be in (50, 100] (m.h5)"},
      {{{"calib.method", "mse"}, {"calib.samples", "0"}}, "bad calib.samples '0': not a positive count of images (m.h5)"},
      {{{"calib.method", "mse"}, {"calib.samples", "-5"}}, "bad calib.samples '-5': not a positive count of images (m.h5)"},
      {{{"calib.method", "mse"}, {"calib.samples", "1.5"}}, "bad calib.samples '1.5': not a positive count of images (m.h5)"},
  };
  for (const auto& [meta, message] : cases) {
    SCOPED_TRACE(message);
    expect_error([&, &meta = meta] { read_calibration_state(meta, "m.h5"); }, ErrorCode::format, message);
  }
}

TEST(CalibrationState, TheWriterRefusesBeforeStoringAnything) {
  Meta m{{"calib.method", "minmax"}};
  CalibrationState s;
  s.method = CalibMethod::percentile;
  s.percentile = 40;
  expect_error([&] { write_calibration_state(m, s); }, ErrorCode::usage,
               "bad calib.percentile '40': a percentile must be in (50, 100]");
  s.percentile = 99;
  s.samples = -1;
  expect_error([&] { write_calibration_state(m, s); }, ErrorCode::usage, "bad calib.samples '-1': not a count of images");
  EXPECT_EQ(m, (Meta{{"calib.method", "minmax"}}));
}

// ---- at load ------------------------------------------------------------------------------

TEST(ModelState, LoadingValidatesEveryRecordNamingTheFile) {
  ModelRecord r = Model::create(arch_preset("flynet-h3"), 3).to_record();
  for (const auto& [k, v] : old_qat_meta()) r.meta[k] = v;
  const Model m = Model::from_record(r, "q8.cal.h5");  // an old QAT, calibrated model loads
  EXPECT_EQ(m.meta, r.meta);
  EXPECT_EQ(read_input_normalisation(m).mean, std::vector<float>{0.286040604f});
  r.meta["train.weight_levels"] = "256";
  expect_error([&] { Model::from_record(r, "old.h5"); }, ErrorCode::format,
               "bad train.weight_levels '256': an even level count above 128 has codes up to 255, beyond int8's 127 "
               "(use 2..128 or an odd count up to 255) (old.h5)");
  r.meta["train.weight_levels"] = "8";
  r.meta["data.std"] = "0.3,0.3";  // the model has one input channel
  expect_error([&] { Model::from_record(r, "old.h5"); }, ErrorCode::format,
               "bad data.std '0.3,0.3': 2 values for 1 input channel (old.h5)");
}

}  // namespace
}  // namespace flynet
