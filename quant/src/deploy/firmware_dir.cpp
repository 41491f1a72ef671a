#include "flynet/quant/firmware_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace flynet {

std::string installed_firmware_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("FLYNET_FIRMWARE_DIR"); env && *env) return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  const fs::path dir = exe.parent_path().parent_path() / "share" / "flynet" / "firmware";
  if (!fs::exists(dir / "examples" / "cortex-m" / "model" / "CMakeLists.txt", ec)) return {};
  return dir.lexically_normal().string();
}

}  // namespace flynet
