#include "flynet/formats/output_set.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {

namespace fs = std::filesystem;

namespace {

constexpr const char* kTmpMark = ".flynet-tmp.";

// The active set and the directories already swept; writes may come from worker threads.
std::mutex g_mutex;
OutputSet* g_active = nullptr;

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  return (ec ? fs::absolute(path).lexically_normal() : p).string();
}

std::string parent_dir(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// The pid of a temporary's name ("<...>.flynet-tmp.<pid>"), or 0 when it is not one.
pid_t temporary_owner(const std::string& name) {
  const size_t at = name.rfind(kTmpMark);
  if (name.empty() || name[0] != '.' || at == std::string::npos) return 0;
  const std::string digits = name.substr(at + std::strlen(kTmpMark));
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  return pid_t(std::stol(digits));
}

bool process_gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// Creates and removes `path`'s temporary: the one sure test that the file can be written there
// (access() says yes to root on /proc and read-only mounts alike).
void probe_writable(const std::string& option, const std::string& path) {
  const std::string dir = parent_dir(path);
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(ErrorCode::io, "cannot write " + option + ": no such directory " + dir, path);
  const std::string tmp = temporary_path(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) throw Error(ErrorCode::io, "cannot write " + option + ": " + std::strerror(errno), path);
  ::close(fd);
  ::unlink(tmp.c_str());
}

// The nearest existing directory at or above `path` (where a missing directory is created).
std::string existing_ancestor(const std::string& path) {
  fs::path p = fs::absolute(path);
  std::error_code ec;
  while (!fs::exists(p, ec) && p.has_parent_path() && p.parent_path() != p) p = p.parent_path();
  return p.string();
}

}  // namespace

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  if (::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0)
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  return absolute_path(a) == absolute_path(b);
}

std::string temporary_path(const std::string& path) {
  const fs::path p(path);
  return (p.parent_path() / ("." + p.filename().string() + kTmpMark + std::to_string(::getpid()))).string();
}

void remove_stale_temporaries(const std::string& dir) {
  {
    static std::set<std::string> swept;
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!swept.insert(absolute_path(dir)).second) return;
  }
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const pid_t pid = temporary_owner(it->path().filename().string());
    if (pid > 0 && pid != ::getpid() && process_gone(pid)) fs::remove(it->path(), ec);
  }
}

OutputSet::OutputSet() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_active) throw Error(ErrorCode::internal, "two output sets at once");
  g_active = this;
}

OutputSet::~OutputSet() {
  if (!committed_) discard();
  std::lock_guard<std::mutex> lock(g_mutex);
  g_active = nullptr;
}

void OutputSet::add(Kind kind, std::string option, std::string path) {
  if (path.empty()) return;
  Entry e{kind, std::move(option), path, absolute_path(path), false, {}};
  struct stat st {};
  e.existed = ::stat(path.c_str(), &st) == 0;
  // A log is small (a line per epoch) and a fresh run truncates it: keep its bytes to put back.
  if (kind == Kind::log && e.existed) e.saved = read_file_bytes(path);
  entries_.push_back(std::move(e));
}

void OutputSet::input(std::string option, std::string path) { add(Kind::input, std::move(option), std::move(path)); }
void OutputSet::output(std::string option, std::string path) { add(Kind::output, std::move(option), std::move(path)); }
void OutputSet::output_dir(std::string option, std::string path) { add(Kind::dir, std::move(option), std::move(path)); }
void OutputSet::log(std::string option, std::string path) { add(Kind::log, std::move(option), std::move(path)); }
void OutputSet::kept(std::string option, std::string path) { add(Kind::kept, std::move(option), std::move(path)); }
void OutputSet::allow_same(std::string a, std::string b) { allowed_.emplace_back(std::move(a), std::move(b)); }

bool OutputSet::allowed(const Entry& a, const Entry& b) const {
  for (const auto& [x, y] : allowed_)
    if ((x == a.option && y == b.option) || (x == b.option && y == a.option)) return true;
  return false;
}

void OutputSet::check() const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& out = entries_[i];
    if (out.kind == Kind::input) continue;
    for (size_t j = 0; j < entries_.size(); ++j) {
      const Entry& other = entries_[j];
      // Each pair of outputs once; an output against every input.
      if (j == i || (other.kind != Kind::input && j < i) || allowed(out, other)) continue;
      if (same_file(out.path, other.path))
        throw Error(ErrorCode::usage, out.option + " is the same file as " +
                                          (other.kind == Kind::input ? "the input " : "") + other.option,
                    out.path);
    }
    std::error_code ec;
    const bool is_dir = fs::is_directory(out.path, ec);
    if (out.kind == Kind::dir) {
      if (fs::exists(out.path, ec) && !is_dir)
        throw Error(ErrorCode::io, "cannot write " + out.option + ": not a directory", out.path);
      probe_writable(out.option, (fs::path(existing_ancestor(out.path)) / "probe").string());
    } else {
      if (is_dir) throw Error(ErrorCode::io, "cannot write " + out.option + ": it is a directory", out.path);
      probe_writable(out.option, out.path);
    }
  }
}

std::optional<std::string> OutputSet::defer(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_active ? g_active->defer_here(path) : std::nullopt;
}

std::optional<std::string> OutputSet::defer_here(const std::string& path) {
  const std::string abs = absolute_path(path);
  for (const Entry& e : entries_) {
    const bool mine = (e.kind == Kind::output && e.absolute == abs) ||
                      (e.kind == Kind::dir && abs.rfind(e.absolute + "/", 0) == 0);
    if (!mine) continue;
    std::string tmp = temporary_path(path);
    for (const auto& p : pending_)
      if (p.first == tmp) return tmp;  // written again: the same temporary
    pending_.emplace_back(tmp, path);
    return tmp;
  }
  return std::nullopt;
}

void OutputSet::commit() {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (size_t k = 0; k < pending_.size(); ++k) {
    if (std::rename(pending_[k].first.c_str(), pending_[k].second.c_str()) == 0) continue;
    const std::string why = std::strerror(errno), file = pending_[k].second;
    for (size_t d = 0; d < k; ++d) std::remove(pending_[d].second.c_str());
    pending_.erase(pending_.begin(), pending_.begin() + ptrdiff_t(k));
    throw Error(ErrorCode::io, "cannot write file: " + why, file);
  }
  pending_.clear();
  committed_ = true;
}

void OutputSet::discard() noexcept {
  std::error_code ec;
  for (const auto& p : pending_) fs::remove(p.first, ec);
  for (const Entry& e : entries_) {
    if (e.kind == Kind::log && e.existed) {
      std::ofstream back(e.path, std::ios::binary | std::ios::trunc);
      back.write(e.saved.data(), std::streamsize(e.saved.size()));
    }
    if (e.kind == Kind::log && !e.existed) fs::remove(e.path, ec);
    if (e.kind == Kind::dir && !e.existed) fs::remove(e.path, ec);  // only when empty
  }
}

}  // namespace flynet
