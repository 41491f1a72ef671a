// One progress line on stderr for the long-running loops of calibrate, quantize and verify:
// redrawn in place on a terminal, a few plain lines otherwise (logs stay readable).
#ifndef FLYNET_CLI_PROGRESS_HPP_
#define FLYNET_CLI_PROGRESS_HPP_

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace flynet::cli {

class ProgressLine {
 public:
  explicit ProgressLine(std::string what) : what_(std::move(what)), tty_(isatty(STDERR_FILENO) == 1) {}
  void operator()(int64_t done, int64_t total) {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - start_).count();
    const double rate = s > 0 ? double(done) / s : 0;
    const double eta = rate > 0 ? double(total - done) / rate : 0;
    if (tty_) {
      if (done != total && now - last_ < std::chrono::milliseconds(200)) return;
      last_ = now;
      std::fprintf(stderr, "\r%s %lld/%lld  %.0f img/s  ETA %.0fs   ", what_.c_str(), (long long)done, (long long)total,
                   rate, eta);
      if (done == total) std::fprintf(stderr, "\n");
    } else {
      const int64_t step = total >= 10 ? total / 4 : 1;
      if (done / step == shown_ && done != total) return;
      shown_ = done / step;
      std::fprintf(stderr, "%s %lld/%lld  %.0f img/s\n", what_.c_str(), (long long)done, (long long)total, rate);
    }
  }

 private:
  std::string what_;
  bool tty_;
  int64_t shown_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_{};
};

}  // namespace flynet::cli

#endif  // FLYNET_CLI_PROGRESS_HPP_
