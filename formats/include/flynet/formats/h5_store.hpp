// HDF5 model store. Layout of a flynet .h5 file (format "flynet-model", version 2):
//   /                      attributes: format="flynet-model", version="2"
//   /arch                  group; one string attribute per architecture key
//   /meta                  group; one string attribute per metadata key
//                          (all string attributes are scalar, fixed-length, NUL-padded UTF-8;
//                          version 1 stored variable-length strings and is still read)
//   /tensors/<name>        one dataset per tensor, native dtype and shape (tensor names use '.',
//                          never '/', so each is one dataset directly under /tensors)
// Writes go to "<path>.tmp" and are renamed into place, so a crash never leaves half a model.
#ifndef FLYNET_FORMATS_H5_STORE_HPP_
#define FLYNET_FORMATS_H5_STORE_HPP_

#include <string>

#include "flynet/formats/model_record.hpp"

namespace flynet {

/// Writes `model` to `path` atomically. Throws Error{io} naming the file on failure.
void save_model_h5(const ModelRecord& model, const std::string& path);

/// Reads a model written by save_model_h5 (version 1 or 2). Throws Error{io} if the file cannot
/// be opened and Error{format} (naming the file and the object) if it is not a flynet model, is
/// damaged, or declares sizes over flynet/formats/limits.hpp's limits; never allocates more than
/// those limits, and a damaged file cannot crash it.
ModelRecord load_model_h5(const std::string& path);

}  // namespace flynet

#endif  // FLYNET_FORMATS_H5_STORE_HPP_
