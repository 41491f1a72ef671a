// Runs a .fly model on an emulated Cortex-M: builds the model-runner firmware of
// examples/cortex-m/model with arm-none-eabi-gcc against the same quant/ref sources as the host,
// runs it on qemu-system-arm (an Arm MPS2 board) and returns the target's output codes, the
// firmware's flash and RAM (from the ELF's section headers) and the instructions per inference.
//
//   QemuTargetOptions opt;
//   opt.board = "qemu-m4";
//   opt.source_dir = FLYNET_SOURCE_DIR;            // holds examples/cortex-m and quant/ref
//   QemuRunResult r = run_on_qemu(fly_bytes, input_codes, n, opt);
//   // r.outputs: n vectors of r.output_bytes codes; compare them with the host's
//
// Boards: qemu-m3 = mps2-an385 (Cortex-M3), qemu-m4 = mps2-an386 (Cortex-M4), qemu-m7 =
// mps2-an500 (Cortex-M7), qemu-m33 = mps2-an505 (Cortex-M33, Secure state), qemu-m55 =
// mps3-an547 (Cortex-M55 with MVE/Helium, Secure state).
//
// Firmware builds are cached under opt.cache_dir, one per board and memory configuration (arena,
// model capacity, table bytes, stack); a later run only re-runs the incremental build.
#ifndef FLYNET_QUANT_TARGET_QEMU_HPP_
#define FLYNET_QUANT_TARGET_QEMU_HPP_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flynet/quant/target_profile.hpp"

namespace flynet {

struct QemuBoard {
  std::string name;     ///< "qemu-m4"
  std::string machine;  ///< qemu -M: "mps2-an386"
  std::string mps2;     ///< the firmware's board (FLYREF_MPS2_MACHINE): "an386"
  std::string cpu;      ///< "cortex-m4"
  /// Instructions per SysTick tick under -icount shift=0: 1e9 / SYSCLK (25 MHz: 40, 20 MHz: 50,
  /// 32 MHz: 31.25). The firmware measures the factor itself; this is the value the measurement
  /// must give.
  double instructions_per_tick = 0;
};

/// The five boards, in the order m3, m4, m7, m33, m55.
const std::vector<QemuBoard>& qemu_boards();
/// The board called `name`; throws Error{usage} listing the valid names otherwise.
const QemuBoard& qemu_board(std::string_view name);

struct QemuTargetOptions {
  std::string board = "qemu-m4";
  std::string source_dir;      ///< flynet source tree (examples/cortex-m/model, quant/ref, formats)
  std::string cache_dir;       ///< firmware builds; empty: $XDG_CACHE_HOME/flynet/firmware or ~/.cache/...
  uint64_t arena_size = 0;     ///< static arena; 0: the arena size the model's plan states
  uint64_t stack_size = 16384; ///< firmware stack
  int timeout_seconds = 600;   ///< qemu run (the build has its own generous limit)
  bool keep_run_dir = false;   ///< keep the run directory (model.fly, input.bin, output.bin, transcript)
  /// Also run every image node by node and time each node (QemuRunResult::profile); about
  /// doubles the run time.
  bool profile = false;
};

/// Flash and RAM of a firmware image from its ELF32 section headers (allocated sections only).
struct FirmwareSizes {
  uint64_t text = 0;       ///< vector table, code, read-only data (PROGBITS, not writable)
  uint64_t data = 0;       ///< initialised data: in flash (its image) and in RAM
  uint64_t bss = 0;        ///< zero-initialised data (the arena and the loader's tables are here)
  uint64_t stack = 0;      ///< the .stack section
  uint64_t model_image = 0;  ///< the .model_image section reserved for the model (capacity)
  uint64_t flash() const { return text + data; }        ///< firmware flash, without the model
  uint64_t ram() const { return data + bss + stack; }
};

/// Reads the section headers of an ELF32 little-endian file. Sections named .model_image and
/// .stack are counted as such; other allocated sections by type and flags. Throws Error{format}
/// naming `path` for anything that is not a well-formed ELF32 LE file.
FirmwareSizes elf_firmware_sizes(const std::string& path);

struct QemuRunResult {
  QemuBoard board;
  std::vector<int8_t> outputs;  ///< n vectors of output_bytes codes, in input order
  uint64_t input_bytes = 0, output_bytes = 0;
  uint64_t model_bytes = 0;     ///< the .fly file, which sits in flash next to the firmware
  uint64_t arena_size = 0;      ///< the static arena the firmware was built with
  uint64_t table_bytes = 0;     ///< the loader's tensor/node tables on the target (the firmware
                                ///< reserves the host's larger figure, rounded up to 4 KB)
  FirmwareSizes sizes;
  uint64_t flash_bytes = 0;     ///< sizes.flash() + model_bytes
  uint64_t ram_bytes = 0;       ///< sizes.ram()
  uint64_t stack_used = 0;      ///< high-water mark of the stack over all inferences
  /// Instructions per inference (instructions executed by flyref_graph_invoke), from SysTick
  /// ticks under -icount shift=0 times the calibrated instructions per tick; empty when the
  /// calibration did not give the board's factor.
  std::vector<uint64_t> instructions;
  double instructions_per_tick = 0;  ///< as calibrated by the firmware
  /// With QemuTargetOptions::profile and a calibrated clock: instructions per node, per op kind
  /// and per MAC (target_profile.hpp); empty otherwise. The node-by-node runs' outputs are
  /// checked to equal the whole runs' outputs.
  TargetProfile profile;
  std::string elf_path;         ///< the firmware that ran
  std::string transcript;       ///< what the firmware printed
  bool instructions_measured() const { return !instructions.empty(); }
  double mean_instructions() const;
};

/// Runs `n` inputs (`inputs` holds n input tensors back to back, int8 codes) through the .fly
/// model `model` on the board of `opt`. Throws Error{usage} for an unknown board,
/// Error{unsupported} naming the Debian packages when arm-none-eabi-gcc, its newlib, cmake or
/// qemu-system-arm is missing (or when the model does not fit the board's 4 MB memories),
/// Error{format} when the host's C reader rejects the model, Error{shape} when `inputs` is not n
/// input tensors, Error{io} when the source tree is not found or the build fails (naming the
/// build log), Error{internal} when the firmware fails or times out (naming the run directory,
/// which is then kept, with the transcript's last lines).
QemuRunResult run_on_qemu(std::string_view model, std::span<const int8_t> inputs, int n,
                          const QemuTargetOptions& opt);

/// Empty when the cross toolchain (with newlib), cmake and qemu-system-arm are installed;
/// otherwise the message run_on_qemu would throw.
std::string qemu_tools_missing();

}  // namespace flynet

#endif  // FLYNET_QUANT_TARGET_QEMU_HPP_
