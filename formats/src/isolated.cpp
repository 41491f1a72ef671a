// The child process of run_isolated (isolated.hpp): fork, a pipe, and the result or Error of
// the work encoded across it.
#include "flynet/formats/isolated.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <vector>

#include "flynet/formats/error.hpp"

namespace flynet {
namespace {

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t r = write(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= size_t(r);
  }
  return true;
}

std::string read_all(int fd) {
  std::string out;
  std::vector<char> buf(size_t(1) << 20);
  for (;;) {
    const ssize_t r = read(fd, buf.data(), buf.size());
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    out.append(buf.data(), size_t(r));
  }
  return out;
}

// What `work` gives, as it crosses the pipe: 'R' and the result, or 'E', the error's code,
// message and file.
std::string outcome(const std::function<std::string()>& work) {
  ByteWriter out;
  try {
    const std::string r = work();
    out.u64('R');
    out.str(r);
  } catch (const Error& e) {
    out.u64('E');
    out.u64(uint64_t(e.code()));
    out.str(e.what());
    out.str(e.file());
  }
  return out.take();
}

[[noreturn]] void child(const std::function<std::string()>& work, int fd) {
  // A crash must end this child quietly: no sanitizer or fuzzer handler reports it, nothing
  // reaches the terminal but the parent's one line.
  for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) std::signal(sig, SIG_DFL);
  const int null = open("/dev/null", O_WRONLY);
  if (null >= 0) dup2(null, STDERR_FILENO);
  std::string b;
  try {
    b = outcome(work);
  } catch (const std::bad_alloc&) {
    _exit(3);
  }
  _exit(write_all(fd, b.data(), b.size()) ? 0 : 2);
}

// The result of `outcome`, or its Error thrown again.
std::string result_of(const std::string& bytes, const std::string& file) {
  ByteReader in(bytes, file);
  if (in.u64() == 'R') return in.str();
  const auto code = ErrorCode(in.u64());
  std::string what = in.str();
  std::string where = in.str();
  throw Error(code, what, where);
}

bool isolated = true;

}  // namespace

void ByteWriter::u64(uint64_t v) { b_.append(reinterpret_cast<const char*>(&v), 8); }

void ByteWriter::str(std::string_view s) {
  u64(s.size());
  b_.append(s);
}

uint64_t ByteReader::u64() {
  if (b_.size() - at_ < 8) throw Error(ErrorCode::internal, "the isolated reader's result is cut short", file_);
  uint64_t v = 0;
  std::memcpy(&v, b_.data() + at_, 8);
  at_ += 8;
  return v;
}

std::string ByteReader::str() {
  const uint64_t n = u64();
  if (n > b_.size() - at_) throw Error(ErrorCode::internal, "the isolated reader's result is cut short", file_);
  std::string s(b_.substr(at_, size_t(n)));
  at_ += size_t(n);
  return s;
}

void set_isolation_for_fuzzing(bool on) { isolated = on; }

std::string run_isolated(const std::function<std::string()>& work, const std::string& file, std::string_view format,
                         std::string_view library) {
  const std::string damaged = "damaged " + std::string(format) + " file: ";
  if (!isolated) return result_of(outcome(work), file);
  int fds[2];
  if (pipe(fds) != 0) throw Error(ErrorCode::io, "cannot create a pipe for the " + std::string(format) + " reader", file);
  std::fflush(nullptr);  // the child must not write the parent's buffered output again
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    throw Error(ErrorCode::io, "cannot start the " + std::string(format) + " reader process", file);
  }
  if (pid == 0) {
    close(fds[0]);
    child(work, fds[1]);
  }
  close(fds[1]);
  const std::string bytes = read_all(fds[0]);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    throw Error(ErrorCode::format,
                damaged + std::string(library) + " stopped with signal " + std::to_string(WTERMSIG(status)) +
                    " while reading it",
                file);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
    throw Error(ErrorCode::format, damaged + "reading it ran out of memory", file);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || bytes.size() < 8)
    throw Error(ErrorCode::format, damaged + std::string(library) + " failed while reading it", file);
  return result_of(bytes, file);
}

}  // namespace flynet
