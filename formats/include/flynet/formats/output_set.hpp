// A command's outputs as one unit: declared before any work, checked (no output is an input or
// another output, each can be created), written to temporaries, and renamed into place together
// when the command succeeds; a command that fails leaves none of them.
//
//   OutputSet outs;                        // the active set of this process
//   outs.input("MODEL", model);
//   outs.output("--out", out);
//   outs.output("--json", json);           // empty paths are ignored
//   outs.check();                          // throws before any work
//   ... work: write_file_atomically(out, ...) now writes a temporary and waits ...
//   outs.commit();                         // all renamed; without it, the destructor discards
//
// While a set is active, write_file_atomically (atomic_file.hpp) defers the files it declares
// and writes every other file at once as before (scratch files a command reads back itself).
#ifndef FLYNET_FORMATS_OUTPUT_SET_HPP_
#define FLYNET_FORMATS_OUTPUT_SET_HPP_

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace flynet {

/// True when `a` and `b` name the same file: the same device and inode when both exist (hard
/// links, symlinks), the same absolute path with the existing part's links resolved otherwise.
bool same_file(const std::string& a, const std::string& b);

/// The temporary write_file_atomically writes `path` to: ".<name>.flynet-tmp.<pid>" in the same
/// directory (hidden, and named so that remove_stale_temporaries finds it after a kill -9).
std::string temporary_path(const std::string& path);

/// Removes the temporaries of processes that no longer run from `dir` (at most once per
/// directory per process; errors are ignored: it is housekeeping).
void remove_stale_temporaries(const std::string& dir);

class OutputSet {
 public:
  /// Becomes the process's active set; at most one exists at a time.
  OutputSet();
  ~OutputSet();
  OutputSet(const OutputSet&) = delete;
  OutputSet& operator=(const OutputSet&) = delete;

  /// A file or directory the command reads; `option` names it in errors. Empty: ignored.
  void input(std::string option, std::string path);
  /// A file written whole through write_file_atomically: deferred until commit().
  void output(std::string option, std::string path);
  /// A directory whose files are written through write_file_atomically: deferred until commit();
  /// created by the command, removed again on discard when it did not exist and stays empty.
  void output_dir(std::string option, std::string path);
  /// A file appended to (or started afresh) as the work goes, a log: on discard it gets back its
  /// bytes from before the command, or is removed when it did not exist.
  void log(std::string option, std::string path);
  /// A file written in place as the work goes and kept even when the command fails (a
  /// checkpoint to resume from); checked like the others, never deferred nor removed.
  void kept(std::string option, std::string path);
  /// `a` and `b` may name the same file (an in-place update, a checkpoint resumed and rewritten).
  void allow_same(std::string a, std::string b);

  /// Before any work: throws Error{usage} naming both options when an output is an input or
  /// another output, and Error{io} naming the file when an output is a directory or cannot be
  /// created in its directory.
  void check() const;
  /// Renames every deferred file into place. Throws Error{io} naming the file on failure,
  /// after removing the outputs of this set already renamed.
  void commit();

  /// The temporary a deferred write of `path` goes to; nullopt when `path` is not deferred.
  /// (write_file_atomically's side of the set.)
  static std::optional<std::string> defer(const std::string& path);

 private:
  enum class Kind { input, output, dir, log, kept };
  struct Entry {
    Kind kind;
    std::string option, path, absolute;
    bool existed = false;
    std::string saved;  ///< a log's bytes before the command
  };
  void add(Kind kind, std::string option, std::string path);
  bool allowed(const Entry& a, const Entry& b) const;
  std::optional<std::string> defer_here(const std::string& path);
  void discard() noexcept;

  std::vector<Entry> entries_;
  std::vector<std::pair<std::string, std::string>> allowed_;
  std::vector<std::pair<std::string, std::string>> pending_;  ///< (temporary, final)
  bool committed_ = false;
};

}  // namespace flynet

#endif  // FLYNET_FORMATS_OUTPUT_SET_HPP_
