#include "data_internal.hpp"
namespace flynet::data_detail {
DatasetPair open_cifar_dir(const std::string&) { return {}; }
}  // namespace flynet::data_detail
