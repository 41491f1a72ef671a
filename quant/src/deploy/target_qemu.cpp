#include "flynet/quant/target_qemu.hpp"
#include "flynet/quant/flyref_status_text.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "flynet/quant/firmware_dir.hpp"
#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/error.hpp"
#include "flyref_model.h"

extern char** environ;

namespace flynet {

namespace fs = std::filesystem;

namespace {

const char kPackages[] = "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm";
// The boards' memories for the model image and for the data (4 MB each; on the mps2 boards the
// model shares the code memory, hence the code margin); what the firmware itself needs beyond
// the model, the arena and the tables stays well below these margins.
const uint64_t kBoardMemory = 4u << 20;
const uint64_t kCodeMargin = 512u << 10;
const uint64_t kRamMargin = 64u << 10;

std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/" + name;
    if (::access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return {};
}

struct ProcResult {
  int exit_status = -1;  ///< exit code, or 128 + signal
  bool timed_out = false;
};

// Runs argv[0] (a full path) in `cwd` with stdin from /dev/null and stdout + stderr to `log`.
// No shell is involved, so paths need no quoting. The child gets its own process group so a
// timeout kills everything it started (cmake's compilers, qemu).
ProcResult run_process(const std::vector<std::string>& argv, const std::string& cwd, const std::string& log,
                       int timeout_seconds) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    throw Error(ErrorCode::io, "cannot start " + argv[0] + ": " + std::strerror(rc));
  ProcResult r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  int status = 0;
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) throw Error(ErrorCode::internal, "waitpid failed for " + argv[0]);
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(status)) r.exit_status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.exit_status = 128 + WTERMSIG(status);
  return r;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string tail_lines(const std::string& s, int lines) {
  size_t pos = s.size();
  while (lines-- > 0 && pos > 0) {
    size_t p = s.rfind('\n', pos - 1);
    if (p == std::string::npos) return s;
    pos = p;
  }
  return s.substr(pos == 0 ? 0 : pos + 1);
}

uint64_t round_up(uint64_t v, uint64_t m) { return (v + m - 1) / m * m; }

uint32_t fnv1a(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

// Holds an exclusive flock on `path` for its lifetime: two flynet processes building the same
// cached firmware take turns instead of running cmake in one folder at once.
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd_ < 0) throw Error(ErrorCode::io, "cannot create the firmware build lock", path);
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) throw Error(ErrorCode::io, "cannot lock the firmware build", path);
    }
  }
  ~FileLock() { ::close(fd_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

std::string default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/flynet/firmware";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/flynet/firmware";
  return (fs::temp_directory_path() / ("flynet-firmware-" + std::to_string(::getuid()))).string();
}

// ---------------------------------------------------------------------------------------- ELF

template <class T>
T le(const std::string& b, uint64_t off, const std::string& path) {
  if (off + sizeof(T) > b.size()) throw Error(ErrorCode::format, "ELF file truncated", path);
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = T(v | T(uint8_t(b[off + i])) << (8 * i));
  return v;
}

// What the firmware reports; see examples/cortex-m/model/model_main.c for the record format.
struct Transcript {
  bool done = false;
  uint64_t samples = 0, input_bytes = 0, output_bytes = 0, table_bytes = 0, stack_used = 0;
  uint64_t ipt_x1000 = 0;
  std::vector<uint64_t> ticks;
};

uint64_t field(const std::string& line, const std::string& key, bool* found) {
  size_t p = line.find(" " + key + "=");
  if (p == std::string::npos) {
    *found = false;
    return 0;
  }
  *found = true;
  return std::strtoull(line.c_str() + p + key.size() + 2, nullptr, 10);
}

Transcript parse_transcript(const std::string& text) {
  Transcript t;
  std::istringstream in(text);
  std::string line;
  bool ok = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("calibration", 0) == 0) {
      t.ipt_x1000 = field(line, "instructions_per_tick_x1000", &ok);
    } else if (line.rfind("model ", 0) == 0) {
      t.input_bytes = field(line, "input", &ok);
      t.output_bytes = field(line, "output", &ok);
      t.table_bytes = field(line, "tables", &ok);
    } else if (line.rfind("sample ", 0) == 0) {
      uint64_t v = field(line, "ticks", &ok);
      if (ok) t.ticks.push_back(v);
    } else if (line.rfind("stack ", 0) == 0) {
      t.stack_used = field(line, "used", &ok);
    } else if (line.rfind("flyref-model: done", 0) == 0) {
      t.samples = field(line, "samples", &ok);
      t.done = ok;
    }
  }
  return t;
}

// The model's memory needs and tensor sizes, from loading it with the same C reader the
// firmware uses, so a bad file or wrong inputs fail here rather than on the target.
struct ModelNeeds {
  uint64_t arena = 0, tables = 0, input_bytes = 0, output_bytes = 0;
};

ModelNeeds model_needs(std::string_view model) {
  std::vector<uint64_t> file((model.size() + 7) / 8);  // the reader wants 4-byte alignment
  if (!model.empty()) std::memcpy(file.data(), model.data(), model.size());
  const auto* bytes = reinterpret_cast<const uint8_t*>(file.data());
  flyref_model_info info{};
  flyref_status st = flyref_model_info_get(bytes, model.size(), &info);
  std::vector<uint64_t> tables;
  flyref_graph g{};
  if (st == FLYREF_OK) {
    tables.resize((info.table_bytes + 7) / 8);
    st = flyref_model_load(bytes, model.size(), tables.data(), tables.size() * 8, &g);
  }
  if (st != FLYREF_OK)
    throw Error(ErrorCode::format, std::string("the model is not a valid .fly file: ") + flyref_status_text(st));
  return {info.arena_size, info.table_bytes, flyref_tensor_bytes(&g.tensors[info.input]),
          flyref_tensor_bytes(&g.tensors[info.output])};
}

}  // namespace

// -------------------------------------------------------------------------------------- boards

const std::vector<QemuBoard>& qemu_boards() {
  static const std::vector<QemuBoard> boards = {
      {"qemu-m3", "mps2-an385", "an385", "cortex-m3", 40},
      {"qemu-m4", "mps2-an386", "an386", "cortex-m4", 40},
      {"qemu-m7", "mps2-an500", "an500", "cortex-m7", 40},
      {"qemu-m33", "mps2-an505", "an505", "cortex-m33", 50},
      {"qemu-m55", "mps3-an547", "an547", "cortex-m55", 31.25},
  };
  return boards;
}

const QemuBoard& qemu_board(std::string_view name) {
  for (const QemuBoard& b : qemu_boards())
    if (b.name == name) return b;
  throw Error(ErrorCode::usage,
              "unknown target '" + std::string(name) + "' (qemu-m3, qemu-m4, qemu-m7, qemu-m33, qemu-m55)");
}

double QemuRunResult::mean_instructions() const {
  if (instructions.empty()) return 0;
  double s = 0;
  for (uint64_t v : instructions) s += double(v);
  return s / double(instructions.size());
}

// ----------------------------------------------------------------------------------------- ELF

FirmwareSizes elf_firmware_sizes(const std::string& path) {
  const std::string b = read_file_bytes(path);
  if (b.size() < 52 || b.compare(0, 4, "\x7f" "ELF") != 0)
    throw Error(ErrorCode::format, "not an ELF file", path);
  if (b[4] != 1 || b[5] != 1) throw Error(ErrorCode::format, "not a 32-bit little-endian ELF file", path);
  const uint64_t shoff = le<uint32_t>(b, 32, path);
  const uint64_t shentsize = le<uint16_t>(b, 46, path);
  const uint64_t shnum = le<uint16_t>(b, 48, path);
  const uint64_t shstrndx = le<uint16_t>(b, 50, path);
  if (shentsize < 40 || shnum == 0 || shstrndx >= shnum || shoff + shnum * shentsize > b.size())
    throw Error(ErrorCode::format, "ELF section header table out of bounds", path);
  auto sh = [&](uint64_t i, uint64_t field_off) { return le<uint32_t>(b, shoff + i * shentsize + field_off, path); };
  const uint64_t str_off = sh(shstrndx, 16), str_size = sh(shstrndx, 20);
  if (str_off + str_size > b.size()) throw Error(ErrorCode::format, "ELF section names out of bounds", path);
  const uint32_t kProgbits = 1, kNobits = 8, kWrite = 1, kAlloc = 2;
  FirmwareSizes s;
  for (uint64_t i = 1; i < shnum; ++i) {
    const uint64_t name = sh(i, 0), type = sh(i, 4), flags = sh(i, 8), size = sh(i, 20);
    if (name >= str_size) throw Error(ErrorCode::format, "ELF section name out of bounds", path);
    const char* nm = b.data() + str_off + name;
    const std::string sec(nm, strnlen(nm, str_size - name));
    if (!(flags & kAlloc) || size == 0) continue;
    if (sec == ".model_image") s.model_image += size;
    else if (sec == ".stack") s.stack += size;
    else if (type == kNobits) s.bss += size;
    else if (flags & kWrite) s.data += size;
    else if (type == kProgbits || type >= 0x70000000u) s.text += size;  // incl. ARM_EXIDX
  }
  return s;
}

// ----------------------------------------------------------------------------------------- run

std::string qemu_tools_missing() {
  std::vector<std::string> missing;
  const std::string gcc = find_program("arm-none-eabi-gcc");
  if (gcc.empty()) {
    missing.push_back("arm-none-eabi-gcc");
  } else {
    // Without newlib the compiler exists but the firmware cannot link: gcc prints the bare name
    // when it does not find the specs file.
    char tmpl[] = "/tmp/flynet-gcc-XXXXXX";
    int fd = ::mkstemp(tmpl);
    if (fd >= 0) {
      ::close(fd);
      ProcResult r = run_process({gcc, "-print-file-name=nano.specs"}, {}, tmpl, 30);
      std::string out = slurp(tmpl);
      ::unlink(tmpl);
      if (r.exit_status != 0 || out.find('/') == std::string::npos) missing.push_back("newlib for arm-none-eabi");
    }
  }
  if (find_program("qemu-system-arm").empty()) missing.push_back("qemu-system-arm");
  if (find_program("cmake").empty()) missing.push_back("cmake");
  if (missing.empty()) return {};
  std::string m;
  for (const std::string& x : missing) m += (m.empty() ? "" : ", ") + x;
  const bool no_cmake = missing.back() == "cmake";
  return "running on an emulated Cortex-M needs " + m + ", which " + (missing.size() == 1 ? "is" : "are") +
         " not installed: install " + kPackages + (no_cmake ? " cmake" : "") + " (Debian packages)";
}

QemuRunResult run_on_qemu(std::string_view model, std::span<const int8_t> inputs, int n,
                          const QemuTargetOptions& opt) {
  QemuRunResult res;
  res.board = qemu_board(opt.board);
  if (n <= 0 || inputs.empty() || inputs.size() % size_t(n) != 0)
    throw Error(ErrorCode::shape, "target run: " + std::to_string(inputs.size()) + " input bytes are not " +
                                      std::to_string(n) + " input tensors");
  if (std::string missing = qemu_tools_missing(); !missing.empty()) throw Error(ErrorCode::unsupported, missing);

  const fs::path src = opt.source_dir.empty() ? fs::path(installed_firmware_dir()) : fs::path(opt.source_dir);
  const fs::path fw_src = src / "examples" / "cortex-m" / "model";
  if (src.empty())
    throw Error(ErrorCode::io, "the firmware sources installed with flynet were not found (share/flynet/firmware "
                               "beside the binary): reinstall, or pass --source with a flynet source tree");
  if (!fs::exists(fw_src / "CMakeLists.txt") || !fs::exists(src / "quant" / "ref" / "CMakeLists.txt"))
    throw Error(ErrorCode::io, "firmware sources not found (examples/cortex-m/model and quant/ref needed)",
                src.string());

  // Memory configuration: the model's own arena and tables; the model capacity rounded up so
  // re-exports of a similar model reuse the build.
  const ModelNeeds needs = model_needs(model);
  if (needs.input_bytes * uint64_t(n) != inputs.size())
    throw Error(ErrorCode::shape, "target run: the model's input tensor has " + std::to_string(needs.input_bytes) +
                                      " bytes, the inputs " + std::to_string(inputs.size() / size_t(n)));
  const uint64_t arena = std::max<uint64_t>(16, round_up(opt.arena_size ? opt.arena_size : needs.arena, 16));
  const uint64_t tables = round_up(std::max<uint64_t>(needs.tables, 1), 4096);
  const uint64_t capacity = round_up(std::max<uint64_t>(model.size(), 1), 64u << 10);
  const uint64_t stack = round_up(std::max<uint64_t>(opt.stack_size, 1024), 8);
  if (capacity + kCodeMargin > kBoardMemory)
    throw Error(ErrorCode::unsupported, "the model (" + std::to_string(model.size()) +
                                            " bytes) does not fit the emulated board's 4 MB code memory");
  if (arena + tables + stack + kRamMargin > kBoardMemory)
    throw Error(ErrorCode::unsupported, "the model's arena (" + std::to_string(arena) +
                                            " bytes) does not fit the emulated board's 4 MB of RAM");
  res.model_bytes = model.size();
  res.arena_size = arena;

  const fs::path cache = opt.cache_dir.empty() ? fs::path(default_cache_dir()) : fs::path(opt.cache_dir);
  std::error_code ec;
  fs::create_directories(cache, ec);
  if (ec) throw Error(ErrorCode::io, "cannot create the firmware cache: " + ec.message(), cache.string());
  const std::string src_abs = fs::weakly_canonical(fs::absolute(src)).string();
  char key[160];
  std::snprintf(key, sizeof key, "%s-a%llu-m%llu-t%llu-s%llu-%08x", res.board.mps2.c_str(),
                (unsigned long long)arena, (unsigned long long)capacity, (unsigned long long)tables,
                (unsigned long long)stack, fnv1a(src_abs));
  const fs::path build = cache / key;
  const std::string cmake = find_program("cmake");
  const std::string build_log = (cache / (std::string(key) + ".log")).string();

  fs::path run, elf;
  {
    FileLock lock((cache / (std::string(key) + ".lock")).string());
    // Configure once; the build itself runs every time (incremental), so an edited flyref
    // source is never run stale.
    if (!fs::exists(build / "CMakeCache.txt")) {
      std::vector<std::string> cfg = {
          cmake,
          "-S", fw_src.string(),
          "-B", build.string(),
          "-DCMAKE_TOOLCHAIN_FILE=" + (src / "examples" / "cortex-m" / "fw" / "arm-none-eabi.cmake").string(),
          "-DCMAKE_BUILD_TYPE=Release",
          "-DFLYREF_MPS2_MACHINE=" + res.board.mps2,
          "-DFLYREF_DIR=" + (src / "quant" / "ref").string(),
          "-DFLYREF_ARENA_SIZE=" + std::to_string(arena),
          "-DFLYREF_MODEL_CAPACITY=" + std::to_string(capacity),
          "-DFLYREF_TABLE_BYTES=" + std::to_string(tables),
          "-DFLYREF_STACK_SIZE=" + std::to_string(stack)};
      ProcResult r = run_process(cfg, {}, build_log, 600);
      if (r.exit_status != 0) {
        fs::remove_all(build, ec);
        throw Error(ErrorCode::io, "configuring the " + res.board.name + " firmware failed (see the log)", build_log);
      }
    }
    const unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
    ProcResult r = run_process({cmake, "--build", build.string(), "--parallel", std::to_string(jobs)}, {},
                               build_log, 1800);
    if (r.exit_status != 0 || r.timed_out)
      throw Error(ErrorCode::io, "building the " + res.board.name + " firmware failed (see the log)", build_log);
    // The run uses its own copy, so another process may rebuild the cache meanwhile. The run
    // directory holds the fixed file names the firmware opens; it is qemu's working directory.
    std::string run_tmpl = (fs::temp_directory_path() / "flynet-qemu-XXXXXX").string();
    if (!::mkdtemp(run_tmpl.data())) throw Error(ErrorCode::io, "cannot create a temporary directory", run_tmpl);
    run = run_tmpl;
    elf = run / "model.elf";
    fs::copy_file(build / "model.elf", elf, fs::copy_options::overwrite_existing, ec);
    if (ec) throw Error(ErrorCode::io, "cannot copy the firmware: " + ec.message(), (build / "model.elf").string());
  }
  res.sizes = elf_firmware_sizes(elf.string());
  res.flash_bytes = res.sizes.flash() + res.model_bytes;
  res.ram_bytes = res.sizes.ram();

  write_bytes_atomically((run / "model.fly").string(), model);
  if (opt.profile) write_bytes_atomically((run / "profile.on").string(), "1\n");
  write_bytes_atomically((run / "input.bin").string(),
                         std::string_view(reinterpret_cast<const char*>(inputs.data()), inputs.size()));
  const std::string transcript_path = (run / "transcript.txt").string();
  ProcResult q = run_process({find_program("qemu-system-arm"), "-M", res.board.machine, "-nodefaults", "-net",
                              "none", "-display", "none", "-semihosting-config", "enable=on,target=native",
                              "-icount", "shift=0", "-kernel", elf.string()},
                             run.string(), transcript_path, opt.timeout_seconds);
  res.transcript = slurp(transcript_path);
  res.elf_path = (build / "model.elf").string();
  auto fail = [&](const std::string& what) {
    throw Error(ErrorCode::internal, "the " + res.board.name + " firmware " + what + "; last lines:\n" +
                                         tail_lines(res.transcript, 8),
                run.string());
  };
  if (q.timed_out) fail("did not finish within " + std::to_string(opt.timeout_seconds) + " s");
  if (q.exit_status != 0) fail("exited with status " + std::to_string(q.exit_status));
  const Transcript t = parse_transcript(res.transcript);
  if (!t.done || t.samples != uint64_t(n) || t.ticks.size() != size_t(n))
    fail("ran " + std::to_string(t.samples) + " inputs instead of " + std::to_string(n));
  if (t.input_bytes != needs.input_bytes || t.output_bytes != needs.output_bytes)
    fail("read the model's tensors as " + std::to_string(t.input_bytes) + " input and " +
         std::to_string(t.output_bytes) + " output bytes, the host as " + std::to_string(needs.input_bytes) +
         " and " + std::to_string(needs.output_bytes));
  res.input_bytes = t.input_bytes;
  res.output_bytes = t.output_bytes;
  res.stack_used = t.stack_used;
  res.table_bytes = t.table_bytes;
  const std::string out = slurp((run / "output.bin").string());
  if (out.size() != t.output_bytes * uint64_t(n)) fail("wrote " + std::to_string(out.size()) + " output bytes");
  res.outputs.assign(out.begin(), out.end());
  // The calibration must give the board's factor (to 0.1 %); if it does not, qemu's clock did
  // not follow -icount and no instruction count is reported rather than a wrong one.
  res.instructions_per_tick = double(t.ipt_x1000) / 1000.0;
  const double expect = res.board.instructions_per_tick;
  if (std::abs(res.instructions_per_tick - expect) <= 0.001 * expect)
    for (uint64_t ticks : t.ticks) res.instructions.push_back(uint64_t(std::llround(double(ticks) * expect)));
  if (opt.profile) {
    // The node-by-node runs must compute what the whole runs did.
    if (slurp((run / "output_profile.bin").string()) != out) fail("gave other outputs when run node by node");
    if (res.instructions_measured()) {
      try {
        res.profile = parse_target_profile(res.transcript, model, expect, res.instructions);
      } catch (const Error& e) {
        fail(e.message());
      }
    }
  }
  if (!opt.keep_run_dir) fs::remove_all(run, ec);
  return res;
}

}  // namespace flynet
