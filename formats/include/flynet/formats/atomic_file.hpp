// Atomic file output: every file flynet writes goes through here, so a failed or interrupted
// command never leaves a half-written model, checkpoint or report behind.
#ifndef FLYNET_FORMATS_ATOMIC_FILE_HPP_
#define FLYNET_FORMATS_ATOMIC_FILE_HPP_

#include <functional>
#include <string>
#include <string_view>

namespace flynet {

/// Calls `write(tmp)` with a temporary path next to `path` (temporary_path, output_set.hpp),
/// then renames it onto `path`; while an OutputSet that declares `path` is active, the rename
/// waits for its commit(). If `write` throws, the temporary file is removed and the exception
/// propagates. Temporaries that a killed process left in the directory are removed first.
/// Throws Error{io} naming `path` if the rename fails.
void write_file_atomically(const std::string& path,
                           const std::function<void(const std::string& tmp_path)>& write);

/// Writes `bytes` to `path` atomically (the common case of the above).
void write_bytes_atomically(const std::string& path, std::string_view bytes);

/// Reads a whole file. Throws Error{io} naming the file if it cannot be read.
std::string read_file_bytes(const std::string& path);

}  // namespace flynet

#endif  // FLYNET_FORMATS_ATOMIC_FILE_HPP_
