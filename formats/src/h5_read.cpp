#include "flynet/formats/h5_read.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "flynet/formats/error.hpp"
#include "flynet/formats/limits.hpp"

namespace flynet::h5 {

void Handle::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: break;
  }
  id_ = -1;
}

namespace {

herr_t innermost(unsigned n, const H5E_error2_t* e, void* out) {
  if (n == 0 && e->desc) *static_cast<std::string*>(out) = e->desc;
  return 0;
}

// libhdf5's message for the failed call: the most specific entry of its error stack, on one line.
std::string detail() {
  std::string d;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, &d);
  H5Eclear2(H5E_DEFAULT);
  std::replace(d.begin(), d.end(), '\n', ' ');
  return d;
}

std::string at(const Where& w, const std::string& name) {
  return w.object == "/" ? "/" + name : w.object + "/" + name;
}

[[noreturn]] void bad(const Where& w, const std::string& what) { throw Error(ErrorCode::format, what, w.file); }

hid_t checked(hid_t id, const Where& w, const std::string& what) {
  if (id < 0) fail(w, what);
  return id;
}

Handle attribute(hid_t obj, const std::string& name, const Where& w) {
  return Handle(checked(H5Aopen(obj, name.c_str(), H5P_DEFAULT), w, "cannot open attribute '" + name + "'"));
}

Handle type_of(const Handle& a, const std::string& name, const Where& w) {
  return Handle(checked(H5Aget_type(a.get()), w, "cannot read the type of attribute '" + name + "'"));
}

// Elements of a scalar or simple dataspace (-1: a null or broken dataspace).
int64_t points(hid_t space) {
  const H5S_class_t c = H5Sget_simple_extent_type(space);
  if (c == H5S_SCALAR) return 1;
  if (c != H5S_SIMPLE) return -1;
  return H5Sget_simple_extent_npoints(space);
}

// Checks a fixed-length string attribute of `count` x `size` bytes and reads it.
std::vector<char> fixed_string_bytes(hid_t obj, const std::string& name, uint64_t count_limit, uint64_t byte_limit,
                                     const Where& w, size_t& size) {
  Handle a = attribute(obj, name, w);
  Handle t = type_of(a, name, w);
  if (H5Tget_class(t.get()) != H5T_STRING || H5Tis_variable_str(t.get()) != 0)
    bad(w, "attribute '" + name + "' of " + w.object + " is not a fixed-length string");
  size = H5Tget_size(t.get());
  if (size == 0) fail(w, "cannot read the size of attribute '" + name + "'");
  limits::check("attribute '" + name + "' of " + w.object, size, byte_limit, "bytes", w.file);
  Handle s(checked(H5Aget_space(a.get()), w, "cannot read the extent of attribute '" + name + "'"));
  const int64_t n = points(s.get());
  if (n < 0) bad(w, "attribute '" + name + "' of " + w.object + " has no valid extent");
  limits::check("attribute '" + name + "' of " + w.object, uint64_t(n), count_limit, "strings", w.file);
  const uint64_t bytes = uint64_t(n) * size;
  if (H5Aget_storage_size(a.get()) != bytes)
    bad(w, "attribute '" + name + "' of " + w.object + " stores a size other than it declares");
  std::vector<char> buf(bytes);
  if (bytes && H5Aread(a.get(), t.get(), buf.data()) < 0) fail(w, "cannot read attribute '" + name + "'");
  return buf;
}

std::string trimmed(const char* p, size_t n) {
  std::string s(p, n);
  s.resize(std::min(s.size(), s.find('\0')));
  return s;
}

}  // namespace

void fail(const Where& w, const std::string& what) {
  const std::string d = detail();
  const std::string where = w.object.empty() || w.object == "/" ? "" : " at " + w.object;
  throw Error(ErrorCode::format, what + where + (d.empty() ? "" : ": " + d), w.file);
}

Handle open_file(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(st)) throw Error(ErrorCode::io, "no such file", path);
  if (!std::filesystem::is_regular_file(st)) throw Error(ErrorCode::io, "not a regular file", path);
  if (access(path.c_str(), R_OK) != 0) throw Error(ErrorCode::io, "cannot read file", path);
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw Error(ErrorCode::format, "not an HDF5 file", path);
  }
  return Handle(checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), {path, "/"}, "cannot open the file"));
}

uint64_t file_size(hid_t file, const Where& w) {
  hsize_t n = 0;
  if (H5Fget_filesize(file, &n) < 0) fail(w, "cannot read the file size");
  return n;
}

Handle open_group(hid_t parent, const std::string& name, const Where& w) {
  H5O_info_t oi{};
  if (!has_link(parent, name)) bad(w, "no group '" + name + "' at " + w.object);
  if (H5Oget_info_by_name2(parent, name.c_str(), &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
    fail(w, "cannot open '" + name + "'");
  if (oi.type != H5O_TYPE_GROUP) bad(w, "'" + name + "' at " + w.object + " is not a group");
  return Handle(checked(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), w, "cannot open group '" + name + "'"));
}

bool has_link(hid_t group, const std::string& name) {
  const htri_t r = H5Lexists(group, name.c_str(), H5P_DEFAULT);
  H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

namespace {

// The names of an object's `count` members or attributes, read by index with `get_name`
// (H5Lget_name_by_idx or H5Aget_name_by_idx): each length is checked before its buffer exists.
template <typename GetName>
std::vector<std::string> names_by_index(hsize_t count, const char* what, GetName get_name, const Where& w) {
  std::vector<std::string> names;
  for (hsize_t i = 0; i < count; ++i) {
    const std::string which = std::string(what) + " " + std::to_string(i);
    const ssize_t n = get_name(i, nullptr, 0);
    if (n < 0) fail(w, "cannot read the name of " + which);
    limits::check("name of " + which + " of " + w.object, uint64_t(n), limits::kNameBytes, "bytes", w.file);
    std::vector<char> buf(size_t(n) + 1);
    if (get_name(i, buf.data(), buf.size()) < 0) fail(w, "cannot read the name of " + which);
    names.emplace_back(buf.data());
  }
  return names;
}

}  // namespace

std::vector<std::string> link_names(hid_t group, uint64_t limit, const Where& w) {
  H5G_info_t gi{};
  if (H5Gget_info(group, &gi) < 0) fail(w, "cannot list the group");
  limits::check("group " + w.object, gi.nlinks, limit, "members", w.file);
  return names_by_index(gi.nlinks, "member", [&](hsize_t i, char* buf, size_t size) {
    return H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, size, H5P_DEFAULT);
  }, w);
}

std::vector<std::string> attribute_names(hid_t obj, uint64_t limit, const Where& w) {
  H5O_info_t oi{};
  if (H5Oget_info2(obj, &oi, H5O_INFO_NUM_ATTRS) < 0) fail(w, "cannot count the attributes");
  limits::check("attribute count of " + w.object, oi.num_attrs, limit, "attributes", w.file);
  return names_by_index(oi.num_attrs, "attribute", [&](hsize_t i, char* buf, size_t size) {
    return H5Aget_name_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, size, H5P_DEFAULT);
  }, w);
}

bool is_variable_string(hid_t obj, const std::string& name, const Where& w) {
  Handle a = attribute(obj, name, w);
  Handle t = type_of(a, name, w);
  return H5Tget_class(t.get()) == H5T_STRING && H5Tis_variable_str(t.get()) > 0;
}

std::string read_fixed_string(hid_t obj, const std::string& name, uint64_t limit, const Where& w) {
  size_t size = 0;
  const std::vector<char> buf = fixed_string_bytes(obj, name, 1, limit, w, size);
  return trimmed(buf.data(), size);
}

std::vector<std::string> read_fixed_strings(hid_t obj, const std::string& name, uint64_t count_limit,
                                            const Where& w) {
  size_t size = 0;
  const std::vector<char> buf = fixed_string_bytes(obj, name, count_limit, limits::kModelStringBytes, w, size);
  std::vector<std::string> out;
  for (size_t at = 0; at < buf.size(); at += size) out.push_back(trimmed(buf.data() + at, size));
  return out;
}

int64_t read_int(hid_t obj, const std::string& name, const Where& w) {
  Handle a = attribute(obj, name, w);
  Handle t = type_of(a, name, w);
  Handle s(checked(H5Aget_space(a.get()), w, "cannot read the extent of attribute '" + name + "'"));
  if (H5Tget_class(t.get()) != H5T_INTEGER || points(s.get()) != 1 || H5Tget_size(t.get()) > 8)
    bad(w, "attribute '" + name + "' of " + w.object + " is not one integer");
  int64_t v = 0;
  if (H5Aread(a.get(), H5T_NATIVE_INT64, &v) < 0) fail(w, "cannot read attribute '" + name + "'");
  return v;
}

Dataset open_dataset(hid_t parent, const std::string& name, int max_rank, size_t mem_size, uint64_t byte_limit,
                     uint64_t file_bytes, const Where& w) {
  const std::string obj = at(w, name);
  H5O_info_t oi{};
  if (H5Oget_info_by_name2(parent, name.c_str(), &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
    fail(w, "cannot open '" + obj + "'");
  if (oi.type != H5O_TYPE_DATASET) bad(w, "'" + obj + "' is not a dataset");
  Dataset d;
  d.id = Handle(checked(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), w, "cannot open dataset '" + obj + "'"));
  Handle t(checked(H5Dget_type(d.id.get()), w, "cannot read the type of '" + obj + "'"));
  d.type_class = H5Tget_class(t.get());
  d.type_size = H5Tget_size(t.get());
  d.is_signed = d.type_class == H5T_INTEGER && H5Tget_sign(t.get()) != H5T_SGN_NONE;
  Handle s(checked(H5Dget_space(d.id.get()), w, "cannot read the extent of '" + obj + "'"));
  const H5S_class_t sc = H5Sget_simple_extent_type(s.get());
  const int rank = sc == H5S_SCALAR ? 0 : H5Sget_simple_extent_ndims(s.get());
  if ((sc != H5S_SCALAR && sc != H5S_SIMPLE) || rank < 0 || rank > max_rank)
    bad(w, "'" + obj + "' has an extent other than a scalar or up to " + std::to_string(max_rank) + " dimensions");
  std::vector<hsize_t> dims(size_t(rank), 0);
  if (rank > 0 && H5Sget_simple_extent_dims(s.get(), dims.data(), nullptr) < 0)
    fail(w, "cannot read the extent of '" + obj + "'");
  d.dims.assign(dims.begin(), dims.end());
  d.elements = 1;
  for (uint64_t x : d.dims) d.elements = limits::mul_sat(d.elements, x);
  const uint64_t per = mem_size ? mem_size : d.type_size;
  limits::check("'" + obj + "'", limits::mul_sat(d.elements, per), byte_limit, "bytes", w.file);
  const uint64_t stored = limits::mul_sat(d.elements, d.type_size);
  Handle plist(checked(H5Dget_create_plist(d.id.get()), w, "cannot read the layout of '" + obj + "'"));
  const H5D_layout_t layout = H5Pget_layout(plist.get());
  const bool filtered = H5Pget_nfilters(plist.get()) != 0;
  if (layout == H5D_CONTIGUOUS && stored > 0) {
    // Raw bytes lie at one offset: they must be inside the file.
    const haddr_t off = H5Dget_offset(d.id.get());
    H5Eclear2(H5E_DEFAULT);
    if (off == HADDR_UNDEF || off > file_bytes || stored > file_bytes - off)
      bad(w, "'" + obj + "' declares " + std::to_string(stored) + " bytes that are not inside the file (" +
                 std::to_string(file_bytes) + " bytes)");
  } else if (layout != H5D_CONTIGUOUS && !filtered && H5Dget_storage_size(d.id.get()) > file_bytes) {
    bad(w, "'" + obj + "' stores more bytes than the file holds");
  }
  return d;
}

void read_dataset(const Dataset& d, hid_t mem_type, void* dst, const Where& w) {
  if (d.elements == 0) return;
  if (H5Dread(d.id.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0) fail(w, "cannot read the data");
}

std::string run_isolated(const std::function<std::string()>& work, const std::string& file) {
  return flynet::run_isolated(work, file, "HDF5", "libhdf5");
}

std::vector<std::string> read_variable_strings(hid_t obj, const std::string& name, uint64_t count_limit,
                                               const Where& w) {
  Handle a = attribute(obj, name, w);
  Handle t = type_of(a, name, w);
  Handle s(checked(H5Aget_space(a.get()), w, "cannot read the extent of attribute '" + name + "'"));
  if (H5Tis_variable_str(t.get()) <= 0) bad(w, "attribute '" + name + "' of " + w.object + " is not a string");
  const int64_t n = points(s.get());
  if (n < 0) bad(w, "attribute '" + name + "' of " + w.object + " has no valid extent");
  limits::check("attribute '" + name + "' of " + w.object, uint64_t(n), count_limit, "strings", w.file);
  // The file's own string type as the memory type: same character set, no conversion.
  std::vector<char*> p(size_t(n), nullptr);
  if (n > 0 && H5Aread(a.get(), t.get(), p.data()) < 0) fail(w, "cannot read attribute '" + name + "'");
  std::vector<std::string> out;
  bool over = false;
  for (char* str : p) {
    const size_t len = str ? strnlen(str, limits::kModelStringBytes + 1) : 0;
    over = over || len > limits::kModelStringBytes;
    out.emplace_back(str ? str : "", std::min<size_t>(len, limits::kModelStringBytes));
  }
  H5Dvlen_reclaim(t.get(), s.get(), H5P_DEFAULT, p.data());
  if (over) limits::exceeded("attribute '" + name + "' of " + w.object, limits::kModelStringBytes + 1,
                             limits::kModelStringBytes, "bytes", w.file);
  return out;
}

}  // namespace flynet::h5
