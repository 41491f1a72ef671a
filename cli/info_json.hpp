// The JSON of `flynet info --json`, shared with `flynet verify --html` (whose page shows the
// memory and model sections of the file it verified). Keys are part of the contract: flynet
// report reads them.
#ifndef FLYNET_CLI_INFO_JSON_HPP_
#define FLYNET_CLI_INFO_JSON_HPP_

#include <nlohmann/json.hpp>
#include <string>

#include "flynet/quant/info.hpp"

namespace flynet::cli {

extern const char* const kStrictConvention;
extern const char* const kProfilerConvention;

/// A layer's kernel, stride, groups, heads or activation in a few characters ("3x3 s2 g8").
std::string layer_detail(const Node& n);

/// The report as one JSON object: "kind" "fly" or "int8" for those files, a float graph's
/// layers and totals otherwise.
nlohmann::json info_json(const InfoReport& r);

}  // namespace flynet::cli

#endif  // FLYNET_CLI_INFO_JSON_HPP_
