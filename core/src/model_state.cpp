// The typed records of model_state.hpp and their one reader and one writer each. The writers
// format exactly as the trainer and calibrate always have (so files stay byte-identical), and
// the readers accept exactly what the writers produce plus what older files hold (absent keys).
#include "flynet/core/model_state.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "flynet/core/model.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {

namespace {

const char* const kWeightLevels = "train.weight_levels";
const char* const kActBits = "train.act_bits";
const char* const kBnFolded = "train.bn_folded";
const char* const kMean = "data.mean";
const char* const kStd = "data.std";
const char* const kScale = "data.scale";
const char* const kPixelScale = "1/255";
const char* const kCalibMethod = "calib.method";
const char* const kCalibPercentile = "calib.percentile";
const char* const kCalibSamples = "calib.samples";
const char* const kQatSuffix = "+qat";

// "bad <key> '<value>': <why>" for readers (a file's content) and writers (a caller's value).
[[noreturn]] void bad_value(bool reading, const std::string& key, const std::string& value, const std::string& why,
                            const std::string& file) {
  throw Error(reading ? ErrorCode::format : ErrorCode::usage, "bad " + key + " '" + value + "': " + why,
              reading ? file : std::string());
}

const std::string* find(const Meta& meta, const char* key) {
  auto it = meta.find(key);
  return it == meta.end() ? nullptr : &it->second;
}

// The whole string as a decimal integer (no sign, blanks or trailing characters).
std::optional<int64_t> parse_int(const std::string& s) {
  int64_t v = 0;
  const char* end = s.data() + s.size();
  if (s.empty() || s[0] == '-' || s[0] == '+') return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end) return std::nullopt;
  return v;
}

// The whole string as one finite number, read as std::stof / std::stod would.
template <class F>
std::optional<F> parse_number(const std::string& s) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return std::nullopt;
  char* end = nullptr;
  const F v = sizeof(F) == sizeof(float) ? F(std::strtof(s.c_str(), &end)) : F(std::strtod(s.c_str(), &end));
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string join(const std::vector<float>& v) {
  std::ostringstream o;
  o.precision(9);  // enough for every float to read back to itself
  for (size_t i = 0; i < v.size(); ++i) o << (i ? "," : "") << v[i];
  return o.str();
}

// Comma-separated numbers; the empty string is no numbers.
std::optional<std::vector<float>> split_floats(const std::string& s) {
  std::vector<float> v;
  if (s.empty()) return v;
  size_t from = 0;
  for (;;) {
    const size_t comma = s.find(',', from);
    const auto x = parse_number<float>(s.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
    if (!x) return std::nullopt;
    v.push_back(*x);
    if (comma == std::string::npos) return v;
    from = comma + 1;
  }
}

void check_qat(const QatState& s, bool reading, const std::string& file) {
  if (!valid_weight_levels(s.weight_levels))
    bad_value(reading, kWeightLevels, std::to_string(s.weight_levels), weight_levels_problem(s.weight_levels), file);
  if (s.act_bits != 0 && s.act_bits != 8)
    bad_value(reading, kActBits, std::to_string(s.act_bits), "activations are int8 (8) or float (0)", file);
}

// `mean_text` / `std_text`: the values as the file holds them (a reader) or as they would be
// written (a writer), for the message.
void check_normalisation(const InputNormalisation& n, int channels, bool reading, const std::string& mean_text,
                         const std::string& std_text, const std::string& file) {
  auto check = [&](const char* key, const std::vector<float>& v, const std::string& text, bool positive) {
    if (v.size() != 1 && v.size() != size_t(channels))
      bad_value(reading, key, text,
                std::to_string(v.size()) + " values for " + std::to_string(channels) + " input channel" +
                    (channels == 1 ? "" : "s"),
                file);
    for (float x : v) {
      if (!std::isfinite(x)) bad_value(reading, key, text, "not finite", file);
      if (positive && !(x > 0.f)) bad_value(reading, key, text, "a standard deviation must be positive", file);
    }
  };
  if (n.mean.empty() != n.std.empty())
    bad_value(reading, n.mean.empty() ? kStd : kMean, n.mean.empty() ? std_text : mean_text,
              std::string("recorded without ") + (n.mean.empty() ? kMean : kStd), file);
  if (!n.recorded()) return;
  check(kMean, n.mean, mean_text, false);
  check(kStd, n.std, std_text, true);
}

void check_percentile(double p, bool reading, const std::string& value, const std::string& file) {
  if (!(p > 50 && p <= 100)) bad_value(reading, kCalibPercentile, value, "a percentile must be in (50, 100]", file);
}

std::string percentile_text(double p) {
  char b[32];
  std::snprintf(b, sizeof b, "%.17g", p);  // reads back to the same double
  return b;
}

}  // namespace

// ---- weight levels ------------------------------------------------------------------------

bool valid_weight_levels(int levels) {
  return levels == 0 || (levels >= 2 && levels <= 128) || (levels > 128 && levels <= 255 && levels % 2 == 1);
}

std::string weight_levels_problem(int levels) {
  if (valid_weight_levels(levels)) return {};
  if (levels > 128 && levels <= 256)
    return "an even level count above 128 has codes up to " + std::to_string(levels - 1) +
           ", beyond int8's 127 (use 2..128 or an odd count up to 255)";
  return "weight levels are 2..128 or an odd count up to 255 (0: float)";
}

// ---- QAT state ----------------------------------------------------------------------------

QatState read_qat_state(const Meta& meta, const std::string& file) {
  QatState s;
  auto int_of = [&](const char* key, const std::string& v) {
    const auto x = parse_int(v);
    if (!x || *x > 1 << 30) bad_value(true, key, v, "not a count", file);
    return int(*x);
  };
  if (const std::string* v = find(meta, kWeightLevels)) {
    s.weight_levels = int_of(kWeightLevels, *v);
    if (!valid_weight_levels(s.weight_levels)) bad_value(true, kWeightLevels, *v, weight_levels_problem(s.weight_levels), file);
  }
  if (const std::string* v = find(meta, kActBits)) {
    s.act_bits = int_of(kActBits, *v);
    if (s.act_bits != 0 && s.act_bits != 8)
      bad_value(true, kActBits, *v, "activations are int8 (8) or float (0)", file);
  }
  if (const std::string* v = find(meta, kBnFolded)) {
    if (*v != "0" && *v != "1") bad_value(true, kBnFolded, *v, "1 (folded) or 0", file);
    s.bn_folded = *v == "1";
  }
  return s;
}

void write_qat_state(Meta& meta, const QatState& s) {
  check_qat(s, false, {});
  meta.erase(kWeightLevels);
  meta.erase(kActBits);
  meta.erase(kBnFolded);
  if (s.weight_levels > 0) meta[kWeightLevels] = std::to_string(s.weight_levels);
  if (s.act_bits > 0) meta[kActBits] = std::to_string(s.act_bits);
  if (s.bn_folded) meta[kBnFolded] = "1";
}

// ---- input normalisation ------------------------------------------------------------------

InputNormalisation InputNormalisation::per_channel(int channels) const {
  InputNormalisation n;
  auto fill = [&](const std::vector<float>& v, float dflt) {
    return v.empty() ? std::vector<float>(size_t(channels), dflt)
                     : v.size() == 1 ? std::vector<float>(size_t(channels), v[0]) : v;
  };
  n.mean = fill(mean, 0.f);
  n.std = fill(std, 1.f);
  return n;
}

InputNormalisation read_input_normalisation(const Meta& meta, int channels, const std::string& file) {
  InputNormalisation n;
  std::string text[2];
  for (int k = 0; k < 2; ++k) {
    const char* key = k == 0 ? kMean : kStd;
    if (const std::string* v = find(meta, key)) {
      const auto x = split_floats(*v);
      if (!x) bad_value(true, key, *v, "not a comma-separated list of finite numbers", file);
      (k == 0 ? n.mean : n.std) = *x;
      text[k] = *v;
    }
  }
  if (const std::string* v = find(meta, kScale); v && *v != kPixelScale)
    bad_value(true, kScale, *v, std::string("pixels are scaled by ") + kPixelScale, file);
  check_normalisation(n, channels, true, text[0], text[1], file);
  return n;
}

InputNormalisation read_input_normalisation(const Model& m) { return read_input_normalisation(m.meta, m.spec().in_c); }

void write_input_normalisation(Meta& meta, const InputNormalisation& n, int channels) {
  check_normalisation(n, channels, false, join(n.mean), join(n.std), {});
  for (const char* key : {kMean, kStd, kScale}) meta.erase(key);
  if (!n.recorded()) return;
  meta[kMean] = join(n.mean);
  meta[kStd] = join(n.std);
  meta[kScale] = kPixelScale;
}

// ---- calibration --------------------------------------------------------------------------

std::string CalibrationState::method_name() const {
  return std::string(choice_name(kCalibChoices, method)) + (trained_ranges ? kQatSuffix : "");
}

std::optional<CalibrationState> read_calibration_state(const Meta& meta, const std::string& file) {
  const std::string* m = find(meta, kCalibMethod);
  if (!m) return std::nullopt;
  CalibrationState s;
  std::string base = *m;
  if (base.size() > std::string(kQatSuffix).size() && base.ends_with(kQatSuffix)) {
    s.trained_ranges = true;
    base.resize(base.size() - std::string(kQatSuffix).size());
  }
  bool known = false;
  for (const auto& c : kCalibChoices)
    if (c.name == base) {
      s.method = c.value;
      known = true;
    }
  if (!known)
    bad_value(true, kCalibMethod, *m, "not a calibration method (" + choice_list(kCalibChoices) + ", optionally " +
                                          kQatSuffix + ")", file);
  if (const std::string* v = find(meta, kCalibPercentile)) {
    const auto p = parse_number<double>(*v);
    if (!p) bad_value(true, kCalibPercentile, *v, "not a number", file);
    check_percentile(*p, true, *v, file);
    s.percentile = *p;
  }
  if (const std::string* v = find(meta, kCalibSamples)) {
    const auto n = parse_int(*v);
    if (!n || *n < 1) bad_value(true, kCalibSamples, *v, "not a positive count of images", file);
    s.samples = *n;
  }
  return s;
}

void write_calibration_state(Meta& meta, const CalibrationState& s) {
  if (s.samples < 0) bad_value(false, kCalibSamples, std::to_string(s.samples), "not a count of images", {});
  const bool percentile = s.method == CalibMethod::percentile;
  if (percentile) check_percentile(s.percentile, false, percentile_text(s.percentile), {});
  erase_calibration_state(meta);
  meta[kCalibMethod] = s.method_name();
  if (s.samples > 0) meta[kCalibSamples] = std::to_string(s.samples);
  if (percentile) meta[kCalibPercentile] = percentile_text(s.percentile);
}

void erase_calibration_state(Meta& meta) {
  std::erase_if(meta, [](const auto& kv) { return kv.first.rfind("calib.", 0) == 0; });
}

void check_model_state(const Model& m, const std::string& file) {
  read_qat_state(m.meta, file);
  read_input_normalisation(m.meta, m.spec().in_c, file);
  read_calibration_state(m.meta, file);
}

}  // namespace flynet
