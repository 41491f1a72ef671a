#include "data_internal.hpp"
namespace flynet::data_detail {
DatasetPair open_image_folder(const std::string&) { return {}; }
}  // namespace flynet::data_detail
