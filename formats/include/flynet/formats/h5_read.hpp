// Checked reading of HDF5 files through the C API, shared by the model store and the HDF5 data
// set reader. Include only where the HDF5 headers are on the include path.
//
// Why not the C++ API: its exceptions are not std::exceptions, and reading a variable-length
// string follows a pointer into the file's global heap, which libhdf5 does not validate (a
// flipped byte there crashes inside H5HG_read). Here every call's status is checked and turned
// into flynet's Error naming the file and the object, and every size the file declares (rank,
// extent, element type, string length, where the bytes lie) is checked before anything is read.
#ifndef FLYNET_FORMATS_H5_READ_HPP_
#define FLYNET_FORMATS_H5_READ_HPP_

#include <hdf5.h>

#include "flynet/formats/isolated.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace flynet::h5 {

/// Runs `work` (which reads an HDF5 file) in a child process and returns the bytes it returns.
/// libhdf5 1.10 has memory errors on damaged files that no check before a call can rule out
/// (fuzzing found a heap overflow decoding attribute messages, in H5Aexists); in the child such
/// an error ends only the child and becomes Error{format} "damaged HDF5 file: ..." naming
/// `file`. An Error thrown by `work` is rethrown here as it was. Output the parent has buffered
/// is flushed first; the child's stderr goes to /dev/null.
std::string run_isolated(const std::function<std::string()>& work, const std::string& file);


// The crash fence's pieces, under the names the HDF5 readers have always used.
using flynet::ByteReader;
using flynet::ByteWriter;
using flynet::set_isolation_for_fuzzing;

/// An open HDF5 identifier, closed with the matching H5*close when it goes out of scope.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      o.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }

 private:
  void reset();
  hid_t id_ = -1;
};

/// Where errors point: the file and the object inside it ("/tensors/fc.weight").
struct Where {
  std::string file;
  std::string object;
};

/// Throws Error{format} "`what` at OBJECT: <innermost libhdf5 message>" naming the file.
[[noreturn]] void fail(const Where& w, const std::string& what);

/// Opens `path` read-only after checking it is a regular HDF5 file; Error{io} if it cannot be
/// read, Error{format} "not an HDF5 file". Silences libhdf5's own error printing.
Handle open_file(const std::string& path);
/// The file's size on disk, for checks of where datasets lie.
uint64_t file_size(hid_t file, const Where& w);

Handle open_group(hid_t parent, const std::string& name, const Where& w);
bool has_link(hid_t group, const std::string& name);
/// Names of a group's links, in name order; at most `limit` of them.
std::vector<std::string> link_names(hid_t group, uint64_t limit, const Where& w);
/// Names of a group's (or dataset's) attributes, in name order; at most `limit` of them.
std::vector<std::string> attribute_names(hid_t obj, uint64_t limit, const Where& w);

/// The attribute's type is a variable-length string (flynet model version 1).
bool is_variable_string(hid_t obj, const std::string& name, const Where& w);
/// The strings of a variable-length string attribute (models of version 1, data sets written by
/// h5py): at most `count_limit` strings of kModelStringBytes each. libhdf5 follows their
/// pointers into the global heap without checking it: call it inside run_isolated only.
std::vector<std::string> read_variable_strings(hid_t obj, const std::string& name, uint64_t count_limit,
                                               const Where& w);
/// A scalar fixed-length string attribute of at most `limit` bytes (NULs at the end dropped).
std::string read_fixed_string(hid_t obj, const std::string& name, uint64_t limit, const Where& w);
/// Fixed-length strings of a one-dimensional attribute with at most `count_limit` entries.
std::vector<std::string> read_fixed_strings(hid_t obj, const std::string& name, uint64_t count_limit,
                                            const Where& w);
/// A scalar or one-element integer attribute.
int64_t read_int(hid_t obj, const std::string& name, const Where& w);

/// A dataset opened with its type and extent checked.
struct Dataset {
  Handle id;
  H5T_class_t type_class = H5T_NO_CLASS;
  size_t type_size = 0;
  bool is_signed = false;
  std::vector<uint64_t> dims;
  uint64_t elements = 0;
};

/// Opens a dataset, requires a simple extent of rank <= max_rank, and checks elements x
/// `mem_size` (0: the stored element size) <= `byte_limit` and that a contiguous or unfiltered layout lies inside the file.
Dataset open_dataset(hid_t parent, const std::string& name, int max_rank, size_t mem_size, uint64_t byte_limit,
                     uint64_t file_bytes, const Where& w);
/// Reads all of `d` converted to `mem_type` into `dst` (elements x H5Tget_size(mem_type) bytes).
void read_dataset(const Dataset& d, hid_t mem_type, void* dst, const Where& w);

}  // namespace flynet::h5

#endif  // FLYNET_FORMATS_H5_READ_HPP_
