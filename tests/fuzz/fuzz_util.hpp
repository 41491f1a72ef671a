// Shared by the libFuzzer targets: a private scratch folder on /dev/shm (the readers under test
// take paths), and the one exception a reader may throw. Anything else (a crash, a sanitizer
// report, std::bad_alloc, another exception, a leak) ends the run as a finding.
#ifndef FLYNET_TESTS_FUZZ_FUZZ_UTIL_HPP_
#define FLYNET_TESTS_FUZZ_FUZZ_UTIL_HPP_

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "flynet/formats/error.hpp"

namespace flynet::fuzz {

/// /dev/shm/flynet-fuzz-<name>-<pid>/, created once, removed at exit.
inline const std::filesystem::path& scratch(const char* name) {
  static const std::filesystem::path dir = [&] {
    const std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    std::filesystem::path d = base / ("flynet-fuzz-" + std::string(name) + "-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    static struct Cleanup {
      std::filesystem::path p;
      ~Cleanup() {
        std::error_code ec;
        std::filesystem::remove_all(p, ec);
      }
    } cleanup{d};
    return d;
  }();
  return dir;
}

inline void write_file(const std::filesystem::path& p, std::string_view bytes) {
  std::filesystem::create_directories(p.parent_path());
  FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) __builtin_trap();
  if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

inline std::string_view view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Runs `read`; a flynet::Error is the expected answer to a bad file, so it is swallowed.
template <class F>
void expect_error_or_value(F&& read) {
  try {
    read();
  } catch (const Error&) {
  }
}

}  // namespace flynet::fuzz

#endif  // FLYNET_TESTS_FUZZ_FUZZ_UTIL_HPP_
