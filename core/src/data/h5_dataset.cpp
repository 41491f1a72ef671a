#include "data_internal.hpp"
#include "flynet/formats/error.hpp"
namespace flynet {
namespace data_detail {
DatasetPair open_h5_file(const std::string& path) { throw Error(ErrorCode::unsupported, "hdf5 datasets: not yet", path); }
}  // namespace data_detail
void write_h5_dataset(const std::string& path, const DatasetArrays&, const DatasetArrays&, const std::vector<std::string>&) {
  throw Error(ErrorCode::unsupported, "hdf5 datasets: not yet", path);
}
}  // namespace flynet
