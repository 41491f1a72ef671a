// A third-party reader that can crash on a damaged file, run in a child process. Needs no
// library headers: the HDF5 model store and the ONNX importer both use it.
#ifndef FLYNET_FORMATS_ISOLATED_HPP_
#define FLYNET_FORMATS_ISOLATED_HPP_

#include <functional>
#include <string>
#include <string_view>

namespace flynet {

/// Runs `work` in a child process and returns the bytes it returns; an Error thrown by `work`
/// is rethrown here as it was. A crash of the child becomes Error{format} "damaged <format>
/// file: <library> stopped with signal N while reading it" naming `file`. The mechanics (and
/// the switch the fuzz targets use) are h5::run_isolated's, in h5_read.cpp.
std::string run_isolated(const std::function<std::string()>& work, const std::string& file, std::string_view format,
                         std::string_view library);

}  // namespace flynet

#endif  // FLYNET_FORMATS_ISOLATED_HPP_
