#include "flynet/formats/limits.hpp"

#include "flynet/formats/error.hpp"

namespace flynet::limits {

void exceeded(const std::string& field, uint64_t value, uint64_t limit, const char* what, const std::string& file) {
  const std::string v = value == UINT64_MAX ? std::string("more than 2^64") : std::to_string(value);
  throw Error(ErrorCode::format, field + " declares " + v + " " + what + ", above the limit of " +
                                     std::to_string(limit), file);
}

}  // namespace flynet::limits
