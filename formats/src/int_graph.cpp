#include "flynet/formats/int_graph.hpp"

#include <sstream>

#include "flynet/formats/error.hpp"
#include "flynet/formats/limits.hpp"

namespace flynet {

namespace {

// Encoding inside a ModelRecord: every per-tensor and per-op field becomes one flat array
// (variable-length lists with an offsets array beside them); names are newline-joined meta
// strings; each constant's bytes are the tensor "const.<index>".
TensorRecord i32_record(const std::string& name, const std::vector<int32_t>& v) {
  TensorRecord t{name, DType::i32, {int64_t(v.size())}, {}};
  t.data.resize(v.size() * 4);
  if (!v.empty()) std::memcpy(t.data.data(), v.data(), t.data.size());
  return t;
}

std::vector<int32_t> i32_values(const ModelRecord& r, const std::string& name, const std::string& file) {
  const TensorRecord* t = r.find(name);
  if (!t || t->dtype != DType::i32 || t->shape.size() != 1 || t->data.size() != size_t(t->numel()) * 4)
    throw Error(ErrorCode::format, "int8 graph: missing or malformed '" + name + "'", file);
  std::vector<int32_t> v(size_t(t->numel()));
  if (!v.empty()) std::memcpy(v.data(), t->data.data(), t->data.size());
  return v;
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i ? "\n" : "") + names[i];
  return s;
}

std::vector<std::string> split(const std::string& s, size_t n) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  if (out.size() < n) out.resize(n);  // trailing empty names
  return out;
}

void push_list(std::vector<int32_t>& flat, std::vector<int32_t>& offsets, const std::vector<int32_t>& items) {
  flat.insert(flat.end(), items.begin(), items.end());
  offsets.push_back(int32_t(flat.size()));
}

std::vector<int32_t> list_at(const std::vector<int32_t>& flat, const std::vector<int32_t>& off, size_t i,
                             const std::string& what, const std::string& file) {
  if (i + 1 >= off.size() || off[i] < 0 || off[i] > off[i + 1] || size_t(off[i + 1]) > flat.size())
    throw Error(ErrorCode::format, "int8 graph: bad " + what + " offsets", file);
  return std::vector<int32_t>(flat.begin() + off[i], flat.begin() + off[i + 1]);
}

// Scales are doubles; DType has no f64, so they travel as pairs of int32 words.
std::vector<int32_t> doubles_to_words(const std::vector<double>& d) {
  std::vector<int32_t> w(d.size() * 2);
  if (!d.empty()) std::memcpy(w.data(), d.data(), d.size() * 8);
  return w;
}
std::vector<double> words_to_doubles(const std::vector<int32_t>& w) {
  std::vector<double> d(w.size() / 2);
  if (!d.empty()) std::memcpy(d.data(), w.data(), d.size() * 8);
  return d;
}

}  // namespace

bool is_int_graph(const ModelRecord& r) {
  auto it = r.meta.find("kind");
  return it != r.meta.end() && it->second == "int8-graph";
}

ModelRecord int_graph_to_record(const IntGraph& g) {
  ModelRecord r;
  r.meta = g.meta;
  r.meta["kind"] = "int8-graph";
  std::vector<std::string> tnames, onames;
  std::vector<int32_t> info, scales_flat, scales_off{0}, codes, io_flat, io_off{0}, par_flat, par_off{0};
  std::vector<double> scales;
  for (size_t i = 0; i < g.tensors.size(); ++i) {
    const IntTensor& t = g.tensors[i];
    tnames.push_back(t.name);
    info.insert(info.end(), {t.type, t.dims[0], t.dims[1], t.dims[2], t.dims[3], t.zero_point, t.levels,
                             int32_t(t.data.size())});
    scales.push_back(t.scale);
    push_list(scales_flat, scales_off, doubles_to_words(t.channel_scales));
    if (!t.data.empty())
      r.tensors.push_back(TensorRecord{"const." + std::to_string(i), DType::u8, {int64_t(t.data.size())}, t.data});
  }
  for (const IntOp& o : g.ops) {
    onames.push_back(o.name);
    codes.insert(codes.end(), {o.op, int32_t(o.inputs.size()), int32_t(o.outputs.size())});
    std::vector<int32_t> io = o.inputs;
    io.insert(io.end(), o.outputs.begin(), o.outputs.end());
    push_list(io_flat, io_off, io);
    push_list(par_flat, par_off, o.params);
  }
  r.meta["graph.tensor_names"] = join(tnames);
  r.meta["graph.op_names"] = join(onames);
  r.meta["graph.input"] = std::to_string(g.input);
  r.meta["graph.output"] = std::to_string(g.output);
  r.tensors.push_back(i32_record("graph.tensor_info", info));
  r.tensors.push_back(i32_record("graph.tensor_scale", doubles_to_words(scales)));
  r.tensors.push_back(i32_record("graph.channel_scales", scales_flat));
  r.tensors.push_back(i32_record("graph.channel_scales_offsets", scales_off));
  r.tensors.push_back(i32_record("graph.op_codes", codes));
  r.tensors.push_back(i32_record("graph.op_io", io_flat));
  r.tensors.push_back(i32_record("graph.op_io_offsets", io_off));
  r.tensors.push_back(i32_record("graph.op_params", par_flat));
  r.tensors.push_back(i32_record("graph.op_params_offsets", par_off));
  return r;
}

IntGraph int_graph_from_record(const ModelRecord& r, const std::string& file) {
  if (!is_int_graph(r)) throw Error(ErrorCode::format, "not a quantized (int8) model", file);
  IntGraph g;
  g.source = file;
  g.meta = r.meta;
  g.meta.erase("kind");
  const auto info = i32_values(r, "graph.tensor_info", file);
  const auto scales = words_to_doubles(i32_values(r, "graph.tensor_scale", file));
  const auto cs_flat = i32_values(r, "graph.channel_scales", file);
  const auto cs_off = i32_values(r, "graph.channel_scales_offsets", file);
  const auto codes = i32_values(r, "graph.op_codes", file);
  const auto io_flat = i32_values(r, "graph.op_io", file);
  const auto io_off = i32_values(r, "graph.op_io_offsets", file);
  const auto par_flat = i32_values(r, "graph.op_params", file);
  const auto par_off = i32_values(r, "graph.op_params_offsets", file);
  if (info.size() % 8 || scales.size() != info.size() / 8 || codes.size() % 3)
    throw Error(ErrorCode::format, "int8 graph: tensor or op tables of inconsistent sizes", file);
  const size_t nt = info.size() / 8, no = codes.size() / 3;
  const auto tnames = split(g.meta["graph.tensor_names"], nt);
  const auto onames = split(g.meta["graph.op_names"], no);
  for (const char* k : {"graph.tensor_names", "graph.op_names", "graph.input", "graph.output"}) g.meta.erase(k);
  for (size_t i = 0; i < nt; ++i) {
    IntTensor t;
    t.name = tnames[i];
    t.type = info[i * 8];
    for (int d = 0; d < 4; ++d) t.dims[size_t(d)] = info[i * 8 + 1 + size_t(d)];
    t.zero_point = info[i * 8 + 5];
    t.levels = info[i * 8 + 6];
    t.scale = scales[i];
    t.channel_scales = words_to_doubles(list_at(cs_flat, cs_off, i, "channel scale", file));
    if (t.type != 1 && t.type != 2) throw Error(ErrorCode::format, "int8 graph: tensor '" + t.name + "' has an unknown type", file);
    for (int32_t d : t.dims)
      if (d < 1) throw Error(ErrorCode::format, "int8 graph: tensor '" + t.name + "' has a non-positive dimension", file);
    limits::check("int8 graph: tensor '" + t.name + "'", limits::mul_sat(uint64_t(t.numel()), t.type == 2 ? 4 : 1),
                  limits::kModelTensorBytes, "bytes", file);
    const int32_t nbytes = info[i * 8 + 7];
    if (nbytes) {
      const TensorRecord* c = r.find("const." + std::to_string(i));
      if (!c || c->data.size() != size_t(nbytes) || size_t(nbytes) != t.bytes())
        throw Error(ErrorCode::format, "int8 graph: constant '" + t.name + "' is missing or of the wrong size", file);
      t.data = c->data;
    }
    g.tensors.push_back(std::move(t));
  }
  for (size_t i = 0; i < no; ++i) {
    IntOp o;
    o.name = onames[i];
    o.op = codes[i * 3];
    const int32_t nin = codes[i * 3 + 1], nout = codes[i * 3 + 2];
    const auto io = list_at(io_flat, io_off, i, "op input/output", file);
    if (nin < 0 || nout < 0 || io.size() != size_t(nin + nout))
      throw Error(ErrorCode::format, "int8 graph: op '" + o.name + "' has a malformed input list", file);
    o.inputs.assign(io.begin(), io.begin() + nin);
    o.outputs.assign(io.begin() + nin, io.end());
    for (int32_t t : io)
      if (t < -1 || t >= int32_t(nt)) throw Error(ErrorCode::format, "int8 graph: op '" + o.name + "' names a tensor out of range", file);
    o.params = list_at(par_flat, par_off, i, "op parameter", file);
    g.ops.push_back(std::move(o));
  }
  auto index = [&](const char* key) {
    auto it = r.meta.find(key);
    try {
      if (it != r.meta.end()) return std::stoi(it->second);
    } catch (const std::exception&) {
    }
    throw Error(ErrorCode::format, std::string("int8 graph: missing or malformed '") + key + "'", file);
  };
  g.input = index("graph.input");
  g.output = index("graph.output");
  if (g.input < 0 || g.input >= int32_t(nt) || g.output < 0 || g.output >= int32_t(nt))
    throw Error(ErrorCode::format, "int8 graph: input or output tensor out of range", file);
  return g;
}

}  // namespace flynet
