// open_dataset: detects the kind of dataset at a path and hands it to its reader.
#include <cstring>
#include <filesystem>
#include <fstream>

#include "data_internal.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {

namespace {

namespace fs = std::filesystem;

bool has_hdf5_signature(const std::string& path) {
  // The superblock signature sits at offset 0 for files flynet writes (a user block would move
  // it to 512, 1024, ...; such files are still caught by their extension below).
  static const char kSig[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  std::ifstream f(path, std::ios::binary);
  char b[8] = {};
  return f.read(b, 8) && std::memcmp(b, kSig, 8) == 0;
}

bool h5_extension(const fs::path& p) {
  const std::string e = p.extension().string();
  return e == ".h5" || e == ".hdf5" || e == ".hdf" || e == ".he5";
}

}  // namespace

DatasetPair open_dataset(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw Error(ErrorCode::io, "no such file or directory", path);
  if (fs::is_regular_file(st)) {
    if (has_hdf5_signature(path) || h5_extension(path)) return data_detail::open_h5_file(path);
    throw Error(ErrorCode::format, "not a dataset: expected an HDF5 file or a dataset directory", path);
  }
  if (!fs::is_directory(st)) throw Error(ErrorCode::io, "not a file or directory", path);

  DatasetPair p = data_detail::open_idx_dir(path);
  if (!p.train) p = data_detail::open_cifar_dir(path);
  if (!p.train) p = data_detail::open_image_folder(path);
  if (!p.train) {
    // A directory holding exactly one HDF5 file is taken as that file.
    std::string h5;
    int count = 0;
    for (const fs::directory_entry& e : fs::directory_iterator(path, ec))
      if (e.is_regular_file(ec) && h5_extension(e.path())) {
        h5 = e.path().string();
        ++count;
      }
    if (count == 1) p = data_detail::open_h5_file(h5);
  }
  if (!p.train)
    throw Error(ErrorCode::format,
                "no dataset found in " + path +
                    ": expected idx files, CIFAR batches, train/ and test/ class folders, or an HDF5 file",
                path);
  return p;
}

}  // namespace flynet
