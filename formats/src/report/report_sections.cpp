// The sections of the report page: each turns the JSON of one or more commands into tables and
// charts (svg_chart.hpp). Field names are those the commands write (cli/cmd_*.cpp); nothing is
// recomputed here beyond sums, shares and sorting.
#include "report_sections.hpp"

#include <algorithm>
#include <cmath>
#include <cctype>
#include <cstdio>
#include <map>
#include <numeric>

#include "flynet/formats/svg_chart.hpp"

namespace flynet::report {

using chart::escape;
using chart::human;

namespace {

std::string h3(const std::string& s) { return "<h3>" + escape(s) + "</h3>\n"; }
std::string para(const std::string& s, const char* cls = "") {
  return std::string("<p") + (*cls ? std::string(" class=\"") + cls + "\"" : "") + ">" + s + "</p>\n";
}
std::string figure(const std::string& svg, const std::string& caption) {
  return "<figure>" + svg + "<figcaption>" + caption + "</figcaption></figure>\n";
}
// Two blocks in the two columns of .pair (one column on phones); nothing when both are empty.
std::string side_by_side(const std::string& a, const std::string& b) {
  return a.empty() && b.empty() ? "" : "<div class=\"pair\"><div>" + a + "</div><div>" + b + "</div></div>\n";
}
std::string file_tag(const std::string& path) { return "<code>" + escape(path) + "</code>"; }

double number_or(const json& j, const char* key, double otherwise) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : otherwise;
}

// --- Training --------------------------------------------------------------------------------

struct RunLine {
  double epoch, loss, accuracy, lr, temperature, top1, top5, test_loss;
};

// One metrics file as lines on the shared epoch axis, starting after `offset` epochs.
std::vector<RunLine> run_lines(const Input& run, double offset) {
  std::vector<RunLine> lines;
  for (const json& e : run.data)
    lines.push_back({offset + e.at("epoch").get<double>(), e.at("loss").get<double>(), e.at("accuracy").get<double>(),
                     e.at("lr").get<double>(), e.at("temperature").get<double>(), number_or(e, "test_top1", NAN),
                     number_or(e, "test_top5", NAN), number_or(e, "test_loss", NAN)});
  return lines;
}

bool is_qat(const Input& run) {
  return !run.data.empty() && (run.data[0].contains("act_bits") || run.data[0].contains("weight_levels"));
}

std::string qat_label(const Input& run) {
  const json& e = run.data[0];
  std::string s = "QAT";
  if (e.contains("weight_levels")) s += " " + std::to_string(e.at("weight_levels").get<int>()) + " levels";
  if (e.contains("act_bits")) s += ", int" + std::to_string(e.at("act_bits").get<int>()) + " activations";
  return s;
}

chart::LineChart epoch_chart(const std::string& title, const chart::AxisSpec& y, double width) {
  chart::LineChart c;
  c.title = title;
  c.x = {"epoch", ""};
  c.y = y;
  c.frame.width = width;
  return c;
}

void add_series(chart::LineChart& c, const std::string& name, const std::vector<RunLine>& lines,
                double (*get)(const RunLine&)) {
  chart::Series s{name, {}, {}};
  for (const RunLine& l : lines)
    if (std::isfinite(get(l))) s.x.push_back(l.epoch), s.y.push_back(get(l));
  if (!s.x.empty()) c.series.push_back(std::move(s));
}

}  // namespace

void Notes::guard(const std::string& what, const std::string& path, const std::function<void()>& part) {
  try {
    part();
  } catch (const std::exception& e) {
    lines.push_back(what + " left out: " + e.what() + " (" + path + ")");
  }
}

// A cell that reads as a number ("12.5", "-3", "1.2M", "421,656 B", "–") is right-aligned.
bool numeric(const std::string& cell) {
  const std::string c = cell.rfind("<b>", 0) == 0 ? cell.substr(3) : cell;
  return !c.empty() && (std::isdigit(static_cast<unsigned char>(c[0])) || c[0] == '-' || c.rfind("–", 0) == 0);
}

std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows,
                  const std::string& css_class) {
  std::string t = "<div class=\"scroll\"><table" + (css_class.empty() ? "" : " class=\"" + css_class + "\"") + ">\n<tr>";
  for (const std::string& h : head) t += "<th>" + escape(h) + "</th>";
  t += "</tr>\n";
  for (const auto& r : rows) {
    t += "<tr>";
    for (const std::string& c : r) t += (numeric(c) ? "<td class=\"r\">" : "<td>") + c + "</td>";
    t += "</tr>\n";
  }
  return t + "</table></div>\n";
}

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "–";
  char b[48];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

std::string pct(double share, int digits) { return std::isfinite(share) ? fixed(100 * share, digits) + "%" : "–"; }

std::string bytes_text(double v) {
  std::string s = std::to_string(int64_t(std::llround(v)));
  for (int i = int(s.size()) - 3; i > (s[0] == '-' ? 1 : 0); i -= 3) s.insert(size_t(i), ",");
  return s + " B";
}

Section training_section(const Inputs& in, Notes& notes) {
  Section s{"training", "Training", ""};
  std::vector<RunLine> all;
  std::vector<chart::LineChart::Band> bands;
  std::vector<std::vector<std::string>> rows;
  for (const Input& run : in.train)
    notes.guard("training run", run.path, [&] {
      const double offset = all.empty() ? 0 : all.back().epoch;
      std::vector<RunLine> lines = run_lines(run, offset);
      if (lines.empty()) throw std::runtime_error("no epoch lines");
      const bool qat = is_qat(run);
      if (qat) bands.push_back({offset, lines.back().epoch, "QAT"});
      const RunLine& last = lines.back();
      rows.push_back({file_tag(run.path), qat ? escape(qat_label(run)) : "float", std::to_string(lines.size()),
                      fixed(last.loss, 4), pct(last.accuracy), pct(last.top1), pct(last.top5)});
      all.insert(all.end(), lines.begin(), lines.end());
    });
  if (all.empty()) return s;
  chart::LineChart loss = epoch_chart("Loss", {"cross-entropy", ""}, 760);
  add_series(loss, "train loss", all, [](const RunLine& l) { return l.loss; });
  add_series(loss, "test loss", all, [](const RunLine& l) { return l.test_loss; });
  chart::LineChart acc = epoch_chart("Accuracy", {"top-1 / top-5", "%"}, 760);
  add_series(acc, "train top-1", all, [](const RunLine& l) { return 100 * l.accuracy; });
  add_series(acc, "test top-1", all, [](const RunLine& l) { return 100 * l.top1; });
  add_series(acc, "test top-5", all, [](const RunLine& l) { return 100 * l.top5; });
  chart::LineChart lr = epoch_chart("Learning rate", {"learning rate", ""}, 380);
  add_series(lr, "lr", all, [](const RunLine& l) { return l.lr; });
  chart::LineChart temp = epoch_chart("VA-ECA temperature", {"T", ""}, 380);
  add_series(temp, "T", all, [](const RunLine& l) { return l.temperature; });
  for (chart::LineChart* c : {&loss, &acc, &lr, &temp}) c->bands = bands;
  for (chart::LineChart* c : {&lr, &temp}) c->frame.left = 60;
  s.html = table({"run", "kind", "epochs", "final loss", "train top-1", "test top-1", "test top-5"}, rows) +
           figure(chart::line_chart(loss), "Training and test loss per epoch (the values logged at each epoch's end).") +
           figure(chart::line_chart(acc), "Top-1 on the training batches, top-1 and top-5 on the test split. flynet train "
                                          "evaluates a run's last epoch as the model is used (BN statistics recomputed, "
                                          "T = 1), earlier epochs with running statistics at their temperature.") +
           "<div class=\"pair\">" + figure(chart::line_chart(lr), "Learning rate at each epoch's end.") +
           figure(chart::line_chart(temp), "VA-ECA softmax temperature (annealed; stored models use T = 1).") +
           "</div>\n" +
           (bands.empty() ? "" : para("Hatched: quantization-aware training epochs. Runs follow each other on the "
                                      "epoch axis in the order given.", "note"));
  return s;
}

// --- Calibration -----------------------------------------------------------------------------

namespace {

struct CalTensor {
  std::string name;
  double lo, hi, clipped, sqnr;
};

std::vector<CalTensor> cal_tensors(const Input& in) {
  std::vector<CalTensor> r;
  for (const json& t : in.data.at("tensors"))
    r.push_back({t.at("name").get<std::string>(), t.at("range").at(0).get<double>(), t.at("range").at(1).get<double>(),
                 t.at("clipped_fraction").get<double>(), number_or(t, "sqnr_db", NAN)});
  if (r.empty()) throw std::runtime_error("no tensors");
  return r;
}

std::string cal_histograms(const Input& in) {
  // The worst tensors by SQNR, their histograms with the chosen range.
  std::vector<const json*> ts;
  for (const json& t : in.data.at("tensors"))
    if (t.contains("histogram")) ts.push_back(&t);
  std::sort(ts.begin(), ts.end(), [](const json* a, const json* b) {
    return number_or(*a, "sqnr_db", 1e9) < number_or(*b, "sqnr_db", 1e9);
  });
  if (ts.size() > 6) ts.resize(6);
  std::string grid = "<div class=\"grid\">";
  for (const json* t : ts) {
    chart::Histogram h;
    h.title = t->at("name").get<std::string>() + " · " + fixed(number_or(*t, "sqnr_db", NAN), 1) + " dB";
    h.x = {"value", ""};
    h.y = {"log10(1+count)", ""};
    const json& hist = t->at("histogram");
    h.lo = hist.at("range").at(0).get<double>();
    h.hi = hist.at("range").at(1).get<double>();
    h.counts = hist.at("counts").get<std::vector<double>>();
    h.range_lo = t->at("range").at(0).get<double>();
    h.range_hi = t->at("range").at(1).get<double>();
    grid += figure(chart::histogram(h), "clipped " + pct(t->at("clipped_fraction").get<double>(), 3));
  }
  if (ts.empty()) return "";
  return h3("Histograms of the lowest-SQNR tensors (" + in.data.at("method").get<std::string>() + ")") + grid +
         "</div>\n" +
         para("Bars: the observed values (log scale); vertical lines: the chosen range; hatched: clipped.", "note");
}

}  // namespace

Section calibration_section(const Inputs& in, Notes& notes) {
  Section s{"calibration", "Calibration", ""};
  std::vector<std::pair<const Input*, std::vector<CalTensor>>> runs;
  for (const Input& c : in.calibration) notes.guard("calibration", c.path, [&] { runs.push_back({&c, cal_tensors(c)}); });
  if (runs.empty()) return s;
  std::vector<std::vector<std::string>> rows;
  chart::LineChart sq;
  sq.title = "SQNR per tensor";
  sq.x = {"tensor (graph order)", ""};
  sq.y = {"SQNR", "dB"};
  std::map<std::string, size_t> order;
  for (size_t i = 0; i < runs.front().second.size(); ++i) order[runs.front().second[i].name] = i;
  for (const auto& [input, ts] : runs) {
    const std::string method = input->data.at("method").get<std::string>();
    double sum = 0, clip = 0;
    const CalTensor* worst = &ts.front();
    chart::Series se{method, {}, {}};
    for (const CalTensor& t : ts) {
      sum += t.sqnr, clip += t.clipped;
      if (t.sqnr < worst->sqnr) worst = &t;
      if (auto it = order.find(t.name); it != order.end()) se.x.push_back(double(it->second)), se.y.push_back(t.sqnr);
    }
    sq.series.push_back(std::move(se));
    rows.push_back({escape(method), file_tag(input->path), std::to_string(input->data.at("samples").get<int64_t>()),
                    std::to_string(ts.size()), fixed(sum / double(ts.size()), 1), escape(worst->name) + " " +
                    fixed(worst->sqnr, 1), pct(clip / double(ts.size()), 3)});
  }
  s.html = table({"method", "file", "images", "tensors", "mean SQNR dB", "lowest SQNR dB", "mean clipped"}, rows) +
           figure(chart::line_chart(sq), "Each tensor's SQNR between its float values and their int8 grid, one line "
                                         "per calibration method.");
  notes.guard("calibration histograms", runs.front().first->path, [&] { s.html += cal_histograms(*runs.front().first); });
  std::vector<std::vector<std::string>> all;
  for (const CalTensor& t : runs.front().second)
    all.push_back({escape(t.name), fixed(t.lo, 4), fixed(t.hi, 4), pct(t.clipped, 4), fixed(t.sqnr, 1)});
  s.html += "<details><summary>All " + std::to_string(all.size()) + " tensors (" +
            escape(runs.front().first->data.at("method").get<std::string>()) + ")</summary>" +
            table({"tensor", "min", "max", "clipped", "SQNR dB"}, all, "num") + "</details>\n";
  return s;
}

// --- Quantization and verify ------------------------------------------------------------------

namespace {

void accuracy_rows(const Inputs& in, Notes& notes, std::vector<std::vector<std::string>>& rows) {
  static const std::pair<const char*, const char*> kModels[] = {
      {"float", "float"}, {"fake_quant", "fake-quant"}, {"fake_quant_ideal", "ideal fake-quant"}, {"int8", "int8"}};
  for (const Input& q : in.quantize)
    notes.guard("quantize accuracy", q.path, [&] {
      const json& t = q.data.at("top1");
      const std::string n = std::to_string(q.data.at("count").get<int64_t>());
      // A model quantize did not run (no simulation) is null: no row.
      for (const auto& [key, name] : kModels)
        if (std::isfinite(number_or(t, key, NAN)))
          rows.push_back({name, pct(t.at(key).get<double>()), "–", n, file_tag(q.path)});
    });
  for (const Input& v : in.verify)
    notes.guard("verify accuracy", v.path, [&] {
      const std::string n = std::to_string(v.data.at("count").get<int64_t>());
      if (v.data.contains("float"))
        rows.push_back({"float", pct(v.data.at("float").at("top1").get<double>()),
                        pct(v.data.at("float").at("top5").get<double>()), n, file_tag(v.path)});
      if (v.data.contains("simulation") && v.data["simulation"].contains("top1_fake_quant"))
        rows.push_back({"fake-quant", pct(v.data["simulation"].at("top1_fake_quant").get<double>()), "–",
                        std::to_string(v.data["simulation"].at("count").get<int64_t>()), file_tag(v.path)});
      rows.push_back({"int8 (.fly)", pct(v.data.at("int8").at("top1").get<double>()),
                      pct(v.data.at("int8").at("top5").get<double>()), n, file_tag(v.path)});
    });
}

void agreement_rows(const Inputs& in, std::vector<std::vector<std::string>>& rows) {
  static const std::map<std::string, std::string> kNames = {
      {"int8_float", "int8 / float"},
      {"int8_fake_quant", "int8 / fake-quant"},
      {"fake_quant_float", "fake-quant / float"},
      {"int8_fake_quant_ideal", "int8 / ideal fake-quant"},
      {"fake_quant_ideal_float", "ideal fake-quant / float"},
      {"agreement_int8_fake_quant", "int8 / fake-quant"},
      {"agreement_fake_quant_float", "fake-quant / float"}};
  auto add = [&](const json* obj, const std::string& path) {
    if (!obj || !obj->is_object()) return;
    for (const auto& [k, v] : obj->items())
      if (v.is_number() && kNames.count(k)) rows.push_back({kNames.at(k), pct(v.get<double>()), file_tag(path)});
  };
  for (const Input& q : in.quantize) add(q.data.contains("agreement") ? &q.data["agreement"] : nullptr, q.path);
  for (const Input& v : in.verify) {
    add(v.data.contains("agreement") ? &v.data["agreement"] : nullptr, v.path);
    add(v.data.contains("simulation") ? &v.data["simulation"] : nullptr, v.path);
  }
}

// The verify run over the most images: its confusion matrix, error metrics and headline figures
// stand for the model (a target run checks a few images only).
const Input* main_verify(const Inputs& in) {
  const Input* best = nullptr;
  for (const Input& v : in.verify)
    if (!best || number_or(v.data, "count", 0) > number_or(best->data, "count", 0)) best = &v;
  return best;
}

std::string confusion(const Input& v) {
  const json& c = v.data.at("int8").at("confusion");
  chart::HeatMap h;
  h.title = "Confusion matrix, int8 (" + std::to_string(v.data.at("count").get<int64_t>()) + " images)";
  h.row_axis = "true class";
  h.column_axis = "predicted class";
  h.cells = c.get<std::vector<std::vector<double>>>();
  if (v.data.contains("classes")) h.labels = v.data["classes"].get<std::vector<std::string>>();
  for (size_t i = h.labels.size(); i < h.cells.size(); ++i) h.labels.push_back(std::to_string(i));
  h.labels.resize(h.cells.size());
  h.cell = h.cells.size() > 12 ? 24 : 40;
  return figure(chart::heat_map(h), "Rows: the label; columns: the int8 model's prediction. Darker: a larger share "
                                    "of the row. " + file_tag(v.path));
}

// Per-layer SQNR in graph order: verify's simulation, else quantize's layers.
std::vector<chart::Bar> layer_sqnr(const Inputs& in, std::string& source) {
  std::vector<chart::Bar> bars;
  for (const Input& v : in.verify)
    if (v.data.contains("simulation") && bars.empty()) {
      for (const json& l : v.data["simulation"].at("layers"))
        bars.push_back({l.at("tensor").get<std::string>(), number_or(l, "sqnr_int8_vs_float_db", NAN), false});
      source = v.path;
    }
  for (const Input& q : in.quantize)
    if (q.data.contains("layers") && bars.empty()) {
      for (const json& l : q.data["layers"])
        bars.push_back({l.at("tensor").get<std::string>(), number_or(l, "int8_sqnr_db", NAN), false});
      source = q.path;
    }
  bars.erase(std::remove_if(bars.begin(), bars.end(), [](const chart::Bar& b) { return !std::isfinite(b.value); }),
             bars.end());
  return bars;
}

std::string sqnr_part(std::vector<chart::Bar> bars, const std::string& source) {
  std::vector<size_t> idx(bars.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return bars[a].value < bars[b].value; });
  idx.resize(std::min<size_t>(idx.size(), 5));
  std::vector<std::vector<std::string>> worst;
  for (size_t i : idx) {
    bars[i].highlight = true;
    bars[i].tag = std::to_string(worst.size() + 1);
    worst.push_back({bars[i].tag, std::to_string(i), escape(bars[i].label), fixed(bars[i].value, 1)});
  }
  chart::BarChart c;
  c.title = "Per-layer SQNR, int8 vs float";
  c.x = {"layer (graph order)", ""};
  c.y = {"SQNR", "dB"};
  c.bars = std::move(bars);
  c.legend_normal = "layer";
  c.legend_highlight = "five lowest";
  return figure(chart::bar_chart(c), "Signal-to-quantization-noise ratio of each layer's int8 output against the "
                                     "float model's, in graph order. " + file_tag(source)) +
         h3("Worst layers") + table({"rank", "position", "tensor", "SQNR dB"}, worst, "num");
}

}  // namespace

Section accuracy_section(const Inputs& in, Notes& notes) {
  Section s{"accuracy", "Quantization and verify", ""};
  std::vector<std::vector<std::string>> acc, agree;
  accuracy_rows(in, notes, acc);
  agreement_rows(in, agree);
  // Side by side on wide screens: the two tables, then the matrix and the error metrics.
  std::string matrix, metrics;
  if (const Input* main = main_verify(in)) {
    const Input& v = *main;
    notes.guard("confusion matrix", v.path, [&] {
      if (v.data.at("int8").contains("confusion")) matrix = confusion(v);
    });
    notes.guard("error metrics", v.path, [&] {
      if (!v.data.contains("metrics")) return;
      std::vector<std::vector<std::string>> m;
      for (const auto& [k, val] : v.data["metrics"].at("int8_vs_float").items())
        m.push_back({escape(k), val.is_number() ? fixed(val.get<double>(), k == "values" ? 0 : 5) : "–"});
      metrics = h3("Error metrics, int8 vs float logits") + table({"metric", "value"}, m, "num");
    });
  }
  s.html = side_by_side(acc.empty() ? "" : h3("Top-1 and top-5") + table({"model", "top-1", "top-5", "images", "from"}, acc, "num"),
                        agree.empty() ? "" : h3("Top-1 agreement") + table({"pair", "agreement", "from"}, agree, "num")) +
           side_by_side(matrix, metrics);
  std::string source;
  std::vector<chart::Bar> bars;
  notes.guard("per-layer SQNR", "quantize/verify JSON", [&] { bars = layer_sqnr(in, source); });
  if (!bars.empty()) s.html += sqnr_part(std::move(bars), source);
  return s;
}

// --- Memory ----------------------------------------------------------------------------------

namespace {

std::string arena_part(const Input& f) {
  const json& plan = f.data.at("plan");
  chart::BoxChart c;
  c.title = "Arena plan";
  c.x = {"op index", ""};
  c.y = {"arena offset", "bytes"};
  c.kinds = {"activation", "scratch", "decoded weights"};
  c.ops = int(f.data.at("ops").size());
  c.peak = f.data.at("arena_bytes").get<double>();
  c.lower_bound = f.data.at("arena_lower_bound").get<double>();
  static const std::map<std::string, int> kKinds = {{"tensor", 0}, {"scratch", 1}, {"decode", 2}};
  for (const json& b : plan.at("buffers"))
    c.boxes.push_back({b.at("name").get<std::string>(), b.at("first").get<int>(), b.at("last").get<int>(),
                       b.at("offset").get<double>(), b.at("size").get<double>(),
                       kKinds.at(b.at("kind").get<std::string>())});
  return figure(chart::box_chart(c), "One box per buffer: from the op that writes it to the last op that reads it "
                                     "(x), at its planned offset (y). Solid line: the arena; dashed: the lower bound "
                                     "(the most bytes alive at one op). " + file_tag(f.path));
}

std::string ram_part(const Input& f) {
  chart::BarChart c;
  c.title = "RAM alive per op";
  c.x = {"op index", ""};
  c.y = {"RAM", "bytes"};
  double peak = 0;
  for (const json& o : f.data.at("ops")) peak = std::max(peak, o.at("ram_bytes").get<double>());
  for (const json& o : f.data.at("ops")) {
    const double v = o.at("ram_bytes").get<double>();
    c.bars.push_back({o.at("name").get<std::string>(), v, v == peak});
  }
  c.legend_normal = "op";
  c.legend_highlight = "peak";
  return figure(chart::bar_chart(c), "Activations alive while each op runs, plus its scratch and decode regions.");
}

std::string flash_part(const Input& f) {
  const json& fl = f.data.at("flash");
  chart::StackedBar c;
  c.title = "Flash: where the bytes of the .fly file go";
  c.x = {"bytes on the device", "B"};
  if (fl.contains("weights_by_bits"))
    for (const auto& [bits, v] : fl["weights_by_bits"].items())
      c.segments.push_back({"weights " + bits + "-bit", v.get<double>()});
  else
    c.segments.push_back({"weights", fl.at("weights").get<double>()});
  const std::pair<const char*, const char*> parts[] = {{"channel_params", "per-channel data"},
                                                       {"other_constants", "other constants"},
                                                       {"graph", "graph"},
                                                       {"plan", "plan"},
                                                       {"header", "header"},
                                                       {"padding", "padding"}};
  for (const auto& [key, label] : parts) c.segments.push_back({label, fl.at(key).get<double>()});
  const double bound = f.data.at("lower_bound").get<double>();
  c.marks = {{bound, "lower bound"}, {std::floor(1.05 * bound) + 4096, "budget"}};
  std::vector<std::vector<std::string>> rows;
  for (const chart::Segment& g : c.segments) rows.push_back({escape(g.label), bytes_text(g.value)});
  rows.push_back({"<b>on the device</b>", "<b>" + bytes_text(f.data.at("file_bytes").get<double>() -
                                                              number_or(fl, "host_info", 0)) + "</b>"});
  if (number_or(fl, "host_info", 0) > 0) rows.push_back({"host info (not read by the device)", bytes_text(fl["host_info"].get<double>())});
  rows.push_back({"lower bound", bytes_text(bound)});
  return figure(chart::stacked_bar(c), "Weights by stored bit width, then per-channel bias/multiplier/shift, the graph "
                                       "records, the arena plan and the header. Marks: the flash lower bound and the "
                                       "budget 1.05 × bound + 4 KB.") +
         table({"part", "bytes"}, rows, "num");
}

}  // namespace

Section memory_section(const Inputs& in, Notes& notes) {
  Section s{"memory", "Memory", ""};
  for (const Input& f : in.fly) {
    const std::string source = f.data.value("source", f.path);
    s.html += h3(source.substr(source.find_last_of('/') + 1));  // npos + 1 = 0: the whole name
    notes.guard("arena plan", f.path, [&] {
      if (!f.data.contains("plan")) throw std::runtime_error("no \"plan\": written by an older flynet info");
      s.html += arena_part(f);
    });
    notes.guard("RAM per op", f.path, [&] { s.html += ram_part(f); });
    notes.guard("flash", f.path, [&] { s.html += flash_part(f); });
  }
  for (const Input& q : in.int8)
    notes.guard("int8 model memory", q.path, [&] {
      s.html += table({"int8 model", "weights", "bias, multipliers, shifts", "arena (planned)", "arena lower bound"},
                      {{file_tag(q.path), bytes_text(q.data.at("weight_bytes").get<double>()),
                        bytes_text(q.data.at("param_bytes").get<double>()),
                        bytes_text(q.data.at("arena_bytes").get<double>()),
                        bytes_text(q.data.at("arena_lower_bound").get<double>())}},
                      "num");
    });
  return s;
}

// --- Target ----------------------------------------------------------------------------------

namespace {

std::string profile_part(const json& p, const std::string& board) {
  chart::BarChart nodes;
  nodes.title = "Instructions per op on " + board;
  nodes.x = {"node (graph order)", ""};
  nodes.y = {"instructions", "per inference"};
  const json& all = p.at("nodes");
  for (const json& n : all) nodes.bars.push_back({n.at("layer").get<std::string>(), n.at("instructions").get<double>()});
  std::vector<size_t> idx(all.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return nodes.bars[a].value > nodes.bars[b].value; });
  idx.resize(std::min<size_t>(idx.size(), 5));
  std::vector<std::vector<std::string>> top;
  for (size_t i : idx) {
    const json& n = all[i];
    nodes.bars[i].highlight = true;
    nodes.bars[i].tag = std::to_string(top.size() + 1);
    top.push_back({nodes.bars[i].tag, std::to_string(n.at("node").get<int64_t>()), escape(n.at("layer").get<std::string>()),
                   human(n.at("instructions").get<double>()), human(number_or(n, "macs", 0)),
                   number_or(n, "macs", 0) > 0 ? fixed(number_or(n, "instructions_per_mac", NAN), 2) : "–"});
  }
  nodes.legend_normal = "op";
  nodes.legend_highlight = "five most expensive";
  chart::BarChart kinds;
  kinds.title = "Instructions per op kind on " + board;
  kinds.y = {"instructions", "per inference"};
  std::vector<std::vector<std::string>> rows;
  for (const json& k : p.at("kinds")) {
    kinds.bars.push_back({k.at("kind").get<std::string>(), k.at("instructions").get<double>(), false});
    rows.push_back({escape(k.at("kind").get<std::string>()), std::to_string(k.at("nodes").get<int64_t>()),
                    human(k.at("instructions").get<double>()), human(number_or(k, "macs", 0)),
                    number_or(k, "macs", 0) > 0 ? fixed(number_or(k, "instructions_per_mac", NAN), 2) : "–"});
  }
  kinds.frame.bottom = 90;
  return figure(chart::bar_chart(nodes), "Instructions each node takes (SysTick under qemu -icount), in graph order.") +
         table({"rank", "node", "op", "instructions", "MACs", "instructions / MAC"}, top, "num") +
         figure(chart::bar_chart(kinds), "The same, summed per op kind.") +
         table({"op kind", "nodes", "instructions", "MACs", "instructions / MAC"}, rows, "num") +
         para("Whole model: " + human(p.at("instructions_per_inference").get<double>()) + " instructions per inference, " +
              fixed(number_or(p, "instructions_per_mac", NAN), 2) + " per MAC (" + human(number_or(p, "macs", 0)) +
              " MACs).");
}

}  // namespace

Section target_section(const Inputs& in, Notes& notes) {
  Section s{"target", "Target", ""};
  std::vector<std::vector<std::string>> rows;
  std::string profiles;
  for (const Input& v : in.verify)
    notes.guard("target", v.path, [&] {
      if (!v.data.contains("target")) return;
      const json& t = v.data["target"];
      const std::string board = t.at("board").get<std::string>();
      rows.push_back({escape(board), escape(t.at("cpu").get<std::string>()),
                      std::to_string(t.at("identical").get<int64_t>()) + " / " + std::to_string(t.at("images").get<int64_t>()),
                      bytes_text(t.at("flash_bytes").get<double>()), bytes_text(t.at("ram_bytes").get<double>()),
                      bytes_text(t.at("stack_used").get<double>()),
                      t.contains("instructions_per_inference") ? human(t["instructions_per_inference"].get<double>()) : "–"});
      if (t.contains("profile")) profiles += h3(board) + profile_part(t["profile"], board);
    });
  if (rows.empty()) return s;
  s.html = table({"board", "CPU", "bit-identical", "flash", "RAM", "stack used", "instructions / inference"}, rows, "num") +
           profiles;
  return s;
}

// --- The model -------------------------------------------------------------------------------

Section model_section(const Inputs& in, Notes& notes) {
  Section s{"model", "The model", ""};
  std::map<std::string, int> bits;
  for (const Input& f : in.fly)
    notes.guard("weight bits", f.path, [&] {
      for (const json& o : f.data.at("ops"))
        if (o.at("weight_bits").get<int>() > 0) bits[o.at("name").get<std::string>()] = o["weight_bits"].get<int>();
    });
  for (const Input& g : in.graph)
    notes.guard("the model", g.path, [&] {
      std::vector<std::vector<std::string>> rows;
      chart::BarChart macs;
      macs.title = "MACs per layer";
      macs.x = {"layer (graph order)", ""};
      macs.y = {"MACs", "strict"};
      int i = 0;
      for (const json& l : g.data.at("layers")) {
        const std::string name = l.at("name").get<std::string>();
        const json& o = l.at("output");
        const double m = l.at("madds_strict").get<double>();
        rows.push_back({std::to_string(i++), escape(name), escape(l.at("op").get<std::string>()),
                        escape(l.value("detail", "")),
                        std::to_string(o.at(0).get<int>()) + "×" + std::to_string(o.at(1).get<int>()) + "×" +
                            std::to_string(o.at(2).get<int>()),
                        std::to_string(l.at("params").get<int64_t>()), std::to_string(int64_t(m)),
                        bits.count(name) ? std::to_string(bits[name]) : ""});
        if (m > 0) macs.bars.push_back({name, m, false});
      }
      s.html += para(escape(g.data.value("summary", "")) + ": " + human(g.data.at("params").get<double>()) +
                     " parameters, " + human(g.data.at("madds_strict").get<double>()) + " MACs. " + file_tag(g.path)) +
                figure(chart::bar_chart(macs), "Multiply-accumulates of each conv, FC and VA-ECA layer, in graph order.") +
                "<details><summary>All " + std::to_string(rows.size()) + " layers</summary>" +
                table({"#", "layer", "op", "detail", "output", "params", "MACs", "weight bits"}, rows, "num") +
                "</details>\n";
    });
  return s;
}

// --- Key figures -----------------------------------------------------------------------------

std::vector<std::pair<std::string, std::string>> key_figures(const Inputs& in) {
  std::vector<std::pair<std::string, std::string>> k;
  auto safe = [&](const std::function<void()>& f) {
    try {
      f();
    } catch (const std::exception&) {  // a figure that is not there is simply not shown
    }
  };
  for (const Input& g : in.graph)
    safe([&] {
      k.push_back({"parameters", human(g.data.at("params").get<double>())});
      k.push_back({"MACs", human(g.data.at("madds_strict").get<double>())});
    });
  if (const Input* v = main_verify(in))
    safe([&] {
      if (v->data.contains("float")) k.push_back({"float top-1", pct(v->data["float"].at("top1").get<double>())});
      k.push_back({"int8 top-1", pct(v->data.at("int8").at("top1").get<double>())});
      if (v->data.contains("agreement")) k.push_back({"agreement", pct(v->data["agreement"].at("int8_float").get<double>())});
    });
  for (const Input& f : in.fly)
    safe([&] {
      k.push_back({"flash", bytes_text(f.data.at("file_bytes").get<double>() - number_or(f.data.at("flash"), "host_info", 0))});
      k.push_back({"arena", bytes_text(f.data.at("arena_bytes").get<double>())});
    });
  for (const Input& v : in.verify)
    safe([&] {
      const json& t = v.data.at("target");
      k.push_back({t.at("board").get<std::string>(), human(t.at("instructions_per_inference").get<double>()) + " instr."});
    });
  return k;
}

}  // namespace flynet::report
