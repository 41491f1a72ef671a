#include "flynet/formats/atomic_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "flynet/formats/error.hpp"
#include "flynet/formats/output_set.hpp"

namespace flynet {

void write_file_atomically(const std::string& path,
                           const std::function<void(const std::string&)>& write) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  remove_stale_temporaries(parent.empty() ? "." : parent.string());
  // A declared output of the running command waits for the others (output_set.hpp).
  const std::optional<std::string> deferred = OutputSet::defer(path);
  // The pid makes concurrent writers of the same target not clobber each other's temp file.
  const std::string tmp = deferred ? *deferred : temporary_path(path);
  try {
    write(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (deferred) return;
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error(ErrorCode::io, "cannot write file: " + why, path);
  }
}

void write_bytes_atomically(const std::string& path, std::string_view bytes) {
  write_file_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(ErrorCode::io, std::string("cannot create file: ") + std::strerror(errno), path);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw Error(ErrorCode::io, "write failed", path);
  });
}

std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::io, std::string("cannot open file: ") + std::strerror(errno), path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(ErrorCode::io, "read failed", path);
  return std::move(ss).str();
}

}  // namespace flynet
