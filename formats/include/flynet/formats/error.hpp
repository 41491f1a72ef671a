// The one exception type of flynet's C++ libraries. Every library below the CLI throws it;
// cli/main.cpp catches it once and prints `flynet <cmd>: error: <what> (<file>)`.
// It lives in formats because formats is the bottom of the dependency chain.
#ifndef FLYNET_FORMATS_ERROR_HPP_
#define FLYNET_FORMATS_ERROR_HPP_

#include <stdexcept>
#include <string>

namespace flynet {

/// Error categories; each maps to a documented exit code (man/flynet.1, EXIT STATUS).
enum class ErrorCode {
  check = 1,        ///< a verification failed (verify's gates, golden dumps, target outputs)
  usage = 2,        ///< bad option value or combination
  io = 3,           ///< missing/unreadable/unwritable file
  format = 4,       ///< corrupt, truncated or mismatched file content
  shape = 5,        ///< tensor or architecture shapes do not fit
  unsupported = 6,  ///< a valid request flynet cannot serve (op, option)
  numeric = 7,      ///< NaN/Inf or overflow during a computation
  internal = 70,    ///< a broken invariant: a bug in flynet
};

class Error : public std::runtime_error {
 public:
  /// `what` is the message; `file` (optional) is printed in parentheses after it.
  Error(ErrorCode code, const std::string& what, std::string file = {})
      : std::runtime_error(what), code_(code), file_(std::move(file)) {}
  ErrorCode code() const noexcept { return code_; }
  const std::string& file() const noexcept { return file_; }
  /// "what (file)" or just "what".
  std::string message() const {
    return file_.empty() ? std::string(what()) : std::string(what()) + " (" + file_ + ")";
  }

 private:
  ErrorCode code_;
  std::string file_;
};

}  // namespace flynet

#endif  // FLYNET_FORMATS_ERROR_HPP_
