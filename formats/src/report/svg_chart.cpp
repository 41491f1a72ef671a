// The SVG charts of flynet report (svg_chart.hpp). Each chart is drawn in its Frame's viewBox
// and scales to the page's width (CSS); text sizes are in viewBox units.
#include "flynet/formats/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace flynet::chart {

namespace {

// Colours ordered so that neighbours differ in lightness (about 25, 55, 75, 40, 85, 60 L*),
// and every odd entry also carries a pattern.
constexpr const char* kColours[] = {"#1f3d7a", "#c8702a", "#8fb4de", "#3f7f5f", "#e6c75c", "#8a5a9e"};
constexpr const char* kPatterns[] = {"", "url(#fp-hatch)", "", "url(#fp-dots)", "", "url(#fp-cross)"};
constexpr const char* kDashes[] = {"", "7 4", "2 3", "9 3 2 3", "4 4", "1 2"};
constexpr int kStyles = 6;

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  std::string s = b;
  // "12.50" -> "12.5", "3.00" -> "3": shorter SVG, same geometry.
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

// A linear map from data to viewBox coordinates.
struct Scale {
  double d0, d1, p0, p1;
  double operator()(double v) const { return d1 == d0 ? p0 : p0 + (v - d0) / (d1 - d0) * (p1 - p0); }
};

std::string axis_title(const AxisSpec& a) { return a.unit.empty() ? a.label : a.label + " (" + a.unit + ")"; }

std::string tick_text(double v, double step) {
  if (std::fabs(v) >= 1e4) return human(v);
  char b[32];
  const int digits = step >= 1 ? 0 : std::min(6, int(std::ceil(-std::log10(step) - 1e-9)));
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

class Svg {
 public:
  explicit Svg(const Frame& f, const std::string& title, const std::string& css_class = "chart") : f_(f) {
    // Wide charts keep a minimum width on narrow screens (and scroll) so their text stays legible.
    o_ << "<svg class=\"" << css_class << (f.width > 500 ? " wide" : "") << "\" viewBox=\"0 0 " << num(f.width) << ' ' << num(f.height)
       << "\" role=\"img\" aria-label=\"" << escape(title) << "\" xmlns=\"http://www.w3.org/2000/svg\">\n"
       << "<title>" << escape(title) << "</title>\n";
    if (!title.empty()) text(f.left, 16, title, "ttl", "start");
  }
  void text(double x, double y, const std::string& s, const char* cls = "", const char* anchor = "middle",
            double rotate = 0) {
    o_ << "<text x=\"" << num(x) << "\" y=\"" << num(y) << "\" text-anchor=\"" << anchor << '"';
    if (*cls) o_ << " class=\"" << cls << '"';
    if (rotate != 0) o_ << " transform=\"rotate(" << num(rotate) << ' ' << num(x) << ' ' << num(y) << ")\"";
    o_ << '>' << escape(s) << "</text>\n";
  }
  void line(double x0, double y0, double x1, double y1, const char* cls) {
    o_ << "<line class=\"" << cls << "\" x1=\"" << num(x0) << "\" y1=\"" << num(y0) << "\" x2=\"" << num(x1)
       << "\" y2=\"" << num(y1) << "\"/>\n";
  }
  // A filled rectangle; `tip` becomes its hover title.
  void rect(const char* cls, double x, double y, double w, double h, const std::string& fill, const std::string& tip,
            const std::string& pattern = "") {
    const std::string attrs = "x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(std::max(w, 0.0)) +
                              "\" height=\"" + num(std::max(h, 0.0)) + "\"";
    o_ << "<rect class=\"" << cls << "\" " << attrs << " fill=\"" << fill << "\"><title>" << escape(tip)
       << "</title></rect>\n";
    if (!pattern.empty()) o_ << "<rect class=\"pat\" " << attrs << " fill=\"" << pattern << "\"/>\n";
  }
  std::ostringstream& raw() { return o_; }
  // Horizontal grid lines and labels of a value axis on the left.
  void y_axis(const Ticks& t, const Scale& y, const AxisSpec& a) {
    for (double v = t.lo; v <= t.hi + t.step * 1e-6; v += t.step) {
      line(f_.left, y(v), f_.width - f_.right, y(v), std::fabs(v) < t.step * 1e-6 ? "axis" : "grid");
      text(f_.left - 6, y(v) + 4, tick_text(v, t.step), "tick", "end");
    }
    text(16, f_.top + f_.plot_height() / 2, axis_title(a), "lbl", "middle", -90);
  }
  void x_axis(const Ticks& t, const Scale& x, const AxisSpec& a, bool title = true) {
    const double base = f_.height - f_.bottom;
    line(f_.left, base, f_.width - f_.right, base, "axis");
    for (double v = t.lo; v <= t.hi + t.step * 1e-6; v += t.step) {
      line(x(v), base, x(v), base + 4, "axis");
      text(x(v), base + 16, tick_text(v, t.step), "tick");
    }
    if (title) x_title(a);
  }
  void x_title(const AxisSpec& a) { text(f_.left + f_.plot_width() / 2, f_.height - 8, axis_title(a), "lbl"); }
  // Legend entries in a row above the plot, right-aligned; `swatch(i, x, y)` draws entry i's key.
  template <class Swatch>
  void legend(const std::vector<std::string>& names, Swatch swatch) {
    double x = f_.width - f_.right;
    for (size_t k = names.size(); k-- > 0;) {
      x -= 7.0 * double(names[k].size()) + 30;
      swatch(int(k), x, 12.0);
      text(x + 22, 16, names[k], "leg", "start");
    }
  }
  std::string done() {
    o_ << "</svg>\n";
    return o_.str();
  }

 private:
  Frame f_;
  std::ostringstream o_;
};

void fill_swatch(Svg& s, int i, double x, double y) {
  s.rect("key", x, y - 6, 16, 10, kColours[i % kStyles], "", kPatterns[i % kStyles]);
}

std::string marker(int i, double x, double y) {
  const std::string X = num(x), Y = num(y), c = kColours[i % kStyles];
  switch (i % 4) {
    case 0: return "<circle cx=\"" + X + "\" cy=\"" + Y + "\" r=\"3\" fill=\"" + c + "\"/>";
    case 1: return "<rect x=\"" + num(x - 3) + "\" y=\"" + num(y - 3) + "\" width=\"6\" height=\"6\" fill=\"white\" stroke=\"" + c + "\"/>";
    case 2:
      return "<path d=\"M" + X + ' ' + num(y - 4) + "L" + num(x + 4) + ' ' + num(y + 3) + "L" + num(x - 4) + ' ' +
             num(y + 3) + "Z\" fill=\"" + c + "\"/>";
    default:
      return "<path d=\"M" + X + ' ' + num(y - 4) + "L" + num(x + 4) + ' ' + Y + "L" + X + ' ' + num(y + 4) + "L" +
             num(x - 4) + ' ' + Y + "Z\" fill=\"white\" stroke=\"" + c + "\"/>";
  }
}

void line_swatch(Svg& s, int i, double x, double y) {
  s.raw() << "<line class=\"series\" x1=\"" << num(x) << "\" y1=\"" << num(y - 1) << "\" x2=\"" << num(x + 18)
          << "\" y2=\"" << num(y - 1) << "\" stroke=\"" << kColours[i % kStyles] << "\" stroke-dasharray=\""
          << kDashes[i % kStyles] << "\"/>" << marker(i, x + 9, y - 1) << "\n";
}

std::pair<double, double> extent(const std::vector<Series>& ss, bool xs) {
  double lo = INFINITY, hi = -INFINITY;
  for (const Series& s : ss)
    for (double v : xs ? s.x : s.y)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!(lo <= hi)) return {0, 1};
  return {lo, hi};
}

// Log axis: decades from floor(log10 lo) to ceil(log10 hi).
Ticks log_ticks(double lo, double hi) {
  const double a = std::floor(std::log10(std::max(lo, 1e-30))), b = std::ceil(std::log10(std::max(hi, 1e-30)));
  return {a, std::max(b, a + 1), 1};
}

}  // namespace

Ticks nice_ticks(double lo, double hi) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / 6;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 5.0})
    if (m * mag >= raw * (1 - 1e-9)) {
      step = m * mag;
      break;
    }
  return {std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step, step};
}

std::string escape(const std::string& s) {
  std::string r;
  for (char c : s) switch (c) {
      case '&': r += "&amp;"; break;
      case '<': r += "&lt;"; break;
      case '>': r += "&gt;"; break;
      case '"': r += "&quot;"; break;
      default: r += c;
    }
  return r;
}

std::string human(double v) {
  char b[32];
  const double a = std::fabs(v);
  if (a >= 1e6) std::snprintf(b, sizeof b, "%.3gM", v / 1e6);
  else if (a >= 1e4) std::snprintf(b, sizeof b, "%.3gk", v / 1e3);
  else if (a >= 100) std::snprintf(b, sizeof b, "%.0f", v);
  else std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}

std::string pattern_defs() {
  return "<svg class=\"defs\" width=\"0\" height=\"0\" aria-hidden=\"true\"><defs>\n"
         "<pattern id=\"fp-hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
         "patternTransform=\"rotate(45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#fff\" "
         "stroke-width=\"2\"/></pattern>\n"
         "<pattern id=\"fp-dots\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\">"
         "<circle cx=\"2.5\" cy=\"2.5\" r=\"1.1\" fill=\"#fff\"/></pattern>\n"
         "<pattern id=\"fp-cross\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">"
         "<path d=\"M0 3H6M3 0V6\" stroke=\"#fff\" stroke-width=\"1.2\"/></pattern>\n"
         "<pattern id=\"fp-clip\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
         "patternTransform=\"rotate(-45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#555\" "
         "stroke-width=\"1\"/></pattern>\n"
         "</defs></svg>\n";
}

std::string fill_style(int i) { return kColours[i % kStyles]; }

std::string line_chart(const LineChart& c) {
  const Frame& f = c.frame;
  Svg s(f, c.title);
  auto [x0, x1] = extent(c.series, true);
  auto [y0, y1] = extent(c.series, false);
  const Ticks tx = nice_ticks(x0, x1);
  const Ticks ty = c.y.log ? log_ticks(y0, y1) : nice_ticks(std::min(0.0, y0), y1);
  const Scale X{tx.lo, tx.hi, f.left, f.width - f.right};
  const Scale Y{ty.lo, ty.hi, f.height - f.bottom, f.top};
  auto yv = [&](double v) { return c.y.log ? std::log10(std::max(v, 1e-30)) : v; };
  for (const LineChart::Band& b : c.bands) {
    s.rect("band", X(b.from), f.top, X(b.to) - X(b.from), f.plot_height(), "#eee", b.label, "url(#fp-clip)");
    s.text((X(b.from) + X(b.to)) / 2, f.top + 12, b.label, "note");
  }
  if (c.y.log) {
    for (double d = ty.lo; d <= ty.hi; d += 1) {
      s.line(f.left, Y(d), f.width - f.right, Y(d), "grid");
      s.text(f.left - 6, Y(d) + 4, human(std::pow(10.0, d)), "tick", "end");
    }
    s.text(16, f.top + f.plot_height() / 2, axis_title(c.y) + ", log scale", "lbl", "middle", -90);
  } else {
    s.y_axis(ty, Y, c.y);
  }
  s.x_axis(tx, X, c.x);
  for (size_t i = 0; i < c.series.size(); ++i) {
    const Series& se = c.series[i];
    std::string d, marks;
    for (size_t k = 0; k < std::min(se.x.size(), se.y.size()); ++k) {
      if (!std::isfinite(se.y[k]) || (c.y.log && se.y[k] <= 0)) continue;
      d += (d.empty() ? "M" : "L") + num(X(se.x[k])) + ' ' + num(Y(yv(se.y[k])));
      if (se.x.size() <= 60) marks += marker(int(i), X(se.x[k]), Y(yv(se.y[k])));
    }
    s.raw() << "<path class=\"series\" d=\"" << d << "\" stroke=\"" << kColours[i % kStyles]
            << "\" stroke-dasharray=\"" << kDashes[i % kStyles] << "\"><title>" << escape(se.name)
            << "</title></path>" << marks << "\n";
  }
  std::vector<std::string> names;
  for (const Series& se : c.series) names.push_back(se.name);
  s.legend(names, [&](int i, double x, double y) { line_swatch(s, i, x, y); });
  return s.done();
}

std::string bar_chart(const BarChart& c) {
  const Frame& f = c.frame;
  Svg s(f, c.title);
  double lo = 0, hi = 0;
  for (const Bar& b : c.bars) lo = std::min(lo, b.value), hi = std::max(hi, b.value);
  const Ticks t = nice_ticks(lo, hi);
  const Scale Y{t.lo, t.hi, f.height - f.bottom, f.top};
  s.y_axis(t, Y, c.y);
  const double slot = f.plot_width() / double(std::max<size_t>(c.bars.size(), 1));
  const double w = std::max(slot * 0.8, 0.5);
  const bool labels = c.bars.size() <= c.max_labels;
  for (size_t i = 0; i < c.bars.size(); ++i) {
    const Bar& b = c.bars[i];
    const double x = f.left + slot * double(i) + (slot - w) / 2;
    const double top = Y(std::max(b.value, 0.0)), bottom = Y(std::min(b.value, 0.0));
    s.rect("bar", x, top, w, bottom - top, b.highlight ? kColours[1] : kColours[0], b.label + ": " + human(b.value),
           b.highlight ? kPatterns[1] : "");
    if (labels)
      s.text(x + w / 2, f.height - f.bottom + 10, b.label, "tick", "end", -40);
    else if (b.highlight && !b.tag.empty())
      s.text(x + w / 2, top - 4, b.tag, "note");
  }
  if (!labels) s.x_title(c.x);
  std::vector<std::string> names;
  if (!c.legend_normal.empty()) names.push_back(c.legend_normal);
  if (!c.legend_highlight.empty()) names.push_back(c.legend_highlight);
  s.legend(names, [&](int i, double x, double y) { fill_swatch(s, i, x, y); });
  return s.done();
}

std::string stacked_bar(const StackedBar& c) {
  const Frame& f = c.frame;
  Svg s(f, c.title);
  double total = 0;
  for (const Segment& g : c.segments) total += g.value;
  for (const StackedBar::Mark& m : c.marks) total = std::max(total, m.at);
  const Ticks t = nice_ticks(0, total);
  const Scale X{t.lo, t.hi, f.left, f.width - f.right};
  s.x_axis(t, X, c.x, false);
  const double base = f.height - f.bottom;
  s.text(f.left + f.plot_width() / 2, base + 32, axis_title(c.x), "lbl");
  const double y = f.top + 8, h = f.plot_height() - 16;
  double at = 0;
  for (size_t i = 0; i < c.segments.size(); ++i) {
    const Segment& g = c.segments[i];
    s.rect("seg", X(at), y, X(at + g.value) - X(at), h, kColours[i % kStyles],
           g.label + ": " + human(g.value) + " " + c.x.unit, kPatterns[i % kStyles]);
    at += g.value;
  }
  // Mark labels alternate sides of their line so that close marks stay readable.
  for (size_t i = 0; i < c.marks.size(); ++i) {
    const StackedBar::Mark& m = c.marks[i];
    s.line(X(m.at), f.top, X(m.at), y + h + 4, "mark");
    s.text(X(m.at) + (i % 2 ? 3 : -3), f.top - 2, m.label, "note", i % 2 ? "start" : "end");
  }
  // The legend goes under the axis title: segments are too many for the title row.
  double lx = f.left, ly = base + 48;
  for (size_t i = 0; i < c.segments.size(); ++i) {
    const std::string name = c.segments[i].label + " " + human(c.segments[i].value);
    const double w = 7.0 * double(name.size()) + 30;
    if (lx + w > f.width) lx = f.left, ly += 16;
    fill_swatch(s, int(i), lx, ly + 2);
    s.text(lx + 20, ly + 6, name, "leg", "start");
    lx += w;
  }
  return s.done();
}

std::string heat_map(const HeatMap& c) {
  const size_t n = c.labels.size();
  const double margin = 110, top = 40;
  Frame f{margin + c.cell * double(n) + 20, top + c.cell * double(n) + margin, margin, 20, top, margin};
  Svg s(f, c.title, "chart heat");
  for (size_t r = 0; r < n && r < c.cells.size(); ++r) {
    double row = 0;
    for (double v : c.cells[r]) row += v;
    for (size_t k = 0; k < n && k < c.cells[r].size(); ++k) {
      const double share = row > 0 ? c.cells[r][k] / row : 0;
      // Lightness 97% (none) to 20% (all of the row): readable in greyscale by construction.
      const int light = int(std::lround(97 - 77 * share));
      const std::string fill = "hsl(215,45%," + std::to_string(light) + "%)";
      const double x = margin + c.cell * double(k), y = top + c.cell * double(r);
      s.rect("cell", x, y, c.cell, c.cell, fill,
             c.labels[r] + " as " + c.labels[k] + ": " + human(c.cells[r][k]));
      if (c.cells[r][k] != 0) s.text(x + c.cell / 2, y + c.cell / 2 + 4, human(c.cells[r][k]), light < 55 ? "inv" : "cnt");
    }
    s.text(margin - 6, top + c.cell * (double(r) + 0.5) + 4, c.labels[r], "tick", "end");
    s.text(margin + c.cell * (double(r) + 0.5), top + c.cell * double(n) + 10, c.labels[r], "tick", "end", -40);
  }
  s.text(14, top + c.cell * double(n) / 2, c.row_axis, "lbl", "middle", -90);
  s.text(margin + c.cell * double(n) / 2, f.height - 6, c.column_axis, "lbl");
  return s.done();
}

std::string box_chart(const BoxChart& c) {
  const Frame& f = c.frame;
  Svg s(f, c.title);
  double top = std::max(c.peak, c.lower_bound);
  for (const Box& b : c.boxes) top = std::max(top, b.offset + b.size);
  const Ticks ty = nice_ticks(0, top), tx = nice_ticks(0, std::max(c.ops, 1));
  const Scale X{0, double(std::max(c.ops, 1)), f.left, f.width - f.right};
  const Scale Y{ty.lo, ty.hi, f.height - f.bottom, f.top};
  s.y_axis(ty, Y, c.y);
  s.x_axis(Ticks{0, double(std::max(c.ops, 1)), tx.step}, X, c.x);
  for (const Box& b : c.boxes)
    s.rect("box", X(b.first), Y(b.offset + b.size), X(b.last + 1) - X(b.first), Y(b.offset) - Y(b.offset + b.size),
           kColours[b.kind % kStyles],
           b.label + ": ops " + std::to_string(b.first) + "-" + std::to_string(b.last) + ", offset " +
               human(b.offset) + ", " + human(b.size) + " B",
           kPatterns[b.kind % kStyles]);
  if (c.peak > 0) {
    s.line(f.left, Y(c.peak), f.width - f.right, Y(c.peak), "mark");
    s.text(f.width - f.right, Y(c.peak) - 4, "arena " + human(c.peak) + " B", "note", "end");
  }
  if (c.lower_bound > 0) {
    s.line(f.left, Y(c.lower_bound), f.width - f.right, Y(c.lower_bound), "bound");
    s.text(f.left + 4, Y(c.lower_bound) - 4, "lower bound " + human(c.lower_bound) + " B", "note", "start");
  }
  s.legend(c.kinds, [&](int i, double x, double y) { fill_swatch(s, i, x, y); });
  return s.done();
}

std::string histogram(const Histogram& c) {
  const Frame& f = c.frame;
  Svg s(f, c.title, "chart small");
  double peak = 1;
  for (double v : c.counts) peak = std::max(peak, v);
  // log10(1 + count): empty bins stay at 0, the tails stay visible beside the mode.
  const Ticks ty = nice_ticks(0, std::log10(1 + peak));
  const Ticks tx = nice_ticks(c.lo, c.hi);
  const Scale X{tx.lo, tx.hi, f.left, f.width - f.right};
  const Scale Y{ty.lo, ty.hi, f.height - f.bottom, f.top};
  s.y_axis(ty, Y, c.y);
  s.x_axis(tx, X, c.x);
  const double bin = (c.hi - c.lo) / double(std::max<size_t>(c.counts.size(), 1));
  for (size_t i = 0; i < c.counts.size(); ++i) {
    const double a = c.lo + bin * double(i), h = std::log10(1 + c.counts[i]);
    s.rect("bar", X(a), Y(h), X(a + bin) - X(a), Y(0) - Y(h), kColours[2], human(a) + ": " + human(c.counts[i]));
  }
  auto shade = [&](double from, double to) {
    if (to > from) s.rect("clip", X(from), f.top, X(to) - X(from), f.plot_height(), "none", "clipped", "url(#fp-clip)");
  };
  shade(tx.lo, std::max(tx.lo, c.range_lo));
  shade(std::min(tx.hi, c.range_hi), tx.hi);
  for (double v : {c.range_lo, c.range_hi}) s.line(X(v), f.top, X(v), f.height - f.bottom, "mark");
  return s.done();
}

}  // namespace flynet::chart
