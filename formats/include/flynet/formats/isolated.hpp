// A third-party reader that can crash on a damaged file, run in a child process. Needs no
// library headers: the HDF5 model store and the ONNX importer both use it.
#ifndef FLYNET_FORMATS_ISOLATED_HPP_
#define FLYNET_FORMATS_ISOLATED_HPP_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace flynet {

/// Runs `work` in a child process and returns the bytes it returns; an Error thrown by `work`
/// is rethrown here as it was. A crash of the child becomes Error{format} "damaged <format>
/// file: <library> stopped with signal N while reading it" naming `file`. Output the parent has
/// buffered is flushed first; the child's stderr goes to /dev/null.
std::string run_isolated(const std::function<std::string()>& work, const std::string& file, std::string_view format,
                         std::string_view library);

/// For the libFuzzer targets only (the product never calls it): with `on` false, run_isolated
/// runs `work` in this process, through the same encoding of its result or Error. A fuzzer
/// needs that: it learns coverage only from its own process, and its sanitizers must see a
/// memory error in flynet's reading code itself, which the child would turn into a "damaged
/// ... file" line.
void set_isolation_for_fuzzing(bool on);

/// Length-prefixed little fields, for a result that crosses from run_isolated's child.
class ByteWriter {
 public:
  void u64(uint64_t v);
  void str(std::string_view s);
  std::string take() { return std::move(b_); }

 private:
  std::string b_;
};

class ByteReader {
 public:
  ByteReader(std::string_view b, std::string file) : b_(b), file_(std::move(file)) {}
  uint64_t u64();
  std::string str();
  bool done() const { return at_ == b_.size(); }

 private:
  std::string_view b_;
  size_t at_ = 0;
  std::string file_;
};

}  // namespace flynet

#endif  // FLYNET_FORMATS_ISOLATED_HPP_
