#include "flynet/formats/atomic_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "flynet/formats/error.hpp"

namespace flynet {
namespace {

TEST(AtomicFile, WriteThenReadBack) {
  const std::string path = (std::filesystem::temp_directory_path() / "flynet_atomic_a.bin").string();
  write_bytes_atomically(path, std::string("a\0b", 3));
  EXPECT_EQ(read_file_bytes(path), std::string("a\0b", 3));
  std::filesystem::remove(path);
}

TEST(AtomicFile, ExceptionKeepsTheOldFile) {
  const std::string path = (std::filesystem::temp_directory_path() / "flynet_atomic_b.bin").string();
  write_bytes_atomically(path, "old");
  std::string tmp_seen;
  EXPECT_THROW(write_file_atomically(path,
                                     [&](const std::string& tmp) {
                                       tmp_seen = tmp;
                                       write_bytes_atomically(tmp, "half");
                                       throw Error(ErrorCode::numeric, "boom");
                                     }),
               Error);
  EXPECT_EQ(read_file_bytes(path), "old");
  EXPECT_FALSE(std::filesystem::exists(tmp_seen));
  std::filesystem::remove(path);
}

TEST(AtomicFile, UnwritableDirectoryNamesTheFile) {
  try {
    write_bytes_atomically("/nonexistent-dir/x.bin", "x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), "/nonexistent-dir/x.bin");
    EXPECT_EQ(e.code(), ErrorCode::io);
  }
}

}  // namespace
}  // namespace flynet
