// Inline SVG charts for `flynet report`: line, bar, stacked bar, heat map, box (arena plan) and
// histogram charts, each a self-contained <svg> element with axes, units and a legend. Written
// directly (no library): they are a few hundred lines, and the tests check their geometry.
//
// Geometry, which the tests rely on: every chart has a Frame; the plot area is
// [left, width - right] x [top, height - bottom] in the viewBox. A value axis starts at 0 (or the
// data's minimum when it is negative) and ends at nice_max(), a multiple of its tick step. A bar
// is <rect class="bar" ...> of height value / axis max x plot height; a box of the arena chart is
// <rect class="box" ...> spanning its ops on x and [offset, offset + size) on y.
//
// Greyscale: series differ in lightness and in pattern (fills) or dash and marker (lines), never
// in hue alone. Fills reference the patterns of pattern_defs(), which the page emits once.
//
//   BarChart c;  c.title = "SQNR"; c.y = {"SQNR", "dB"};  c.bars = {{"conv1", 31.5}, ...};
//   std::string svg = bar_chart(c);
#ifndef FLYNET_FORMATS_SVG_CHART_HPP_
#define FLYNET_FORMATS_SVG_CHART_HPP_

#include <string>
#include <utility>
#include <vector>

namespace flynet::chart {

struct Frame {
  double width = 760, height = 300;
  double left = 70, right = 20, top = 28, bottom = 56;
  double plot_width() const { return width - left - right; }
  double plot_height() const { return height - top - bottom; }
};

struct AxisSpec {
  std::string label, unit;  ///< shown as "label (unit)"
  bool log = false;         ///< line charts: log10 y axis (values must be > 0)
};

/// The tick step and the axis end for data in [lo, hi] (lo <= 0 <= hi for value axes): the step
/// is 1, 2 or 5 x 10^k giving at most 6 intervals; the ends are multiples of it.
struct Ticks {
  double lo = 0, hi = 1, step = 1;
};
Ticks nice_ticks(double lo, double hi);

/// Text with &, <, >, " escaped for HTML and SVG.
std::string escape(const std::string& s);
/// A number for humans: 3 significant digits, k/M suffixes above 10^4 (12.3k, 7.09M).
std::string human(double v);

/// <svg> with the fill patterns and line markers every chart references (emit once per page).
std::string pattern_defs();
/// The fill of series / segment `i`: a colour of distinct lightness, every other one patterned.
std::string fill_style(int i);

struct Series {
  std::string name;
  std::vector<double> x, y;
};
struct LineChart {
  std::string title;
  Frame frame;
  AxisSpec x, y;
  std::vector<Series> series;
  /// Shaded spans of x with a label (e.g. the epochs of a QAT run).
  struct Band {
    double from = 0, to = 0;
    std::string label;
  };
  std::vector<Band> bands;
};
std::string line_chart(const LineChart& c);

struct Bar {
  Bar() = default;
  Bar(std::string l, double v, bool h = false) : label(std::move(l)), value(v), highlight(h) {}
  std::string label;
  double value = 0;
  bool highlight = false;  ///< called out: another fill, hatched
  std::string tag;         ///< a short mark above a called-out bar (e.g. its rank), for a table to explain
};
struct BarChart {
  std::string title;
  Frame frame;
  AxisSpec x, y;
  std::vector<Bar> bars;
  /// Labels under the bars are drawn when there are at most this many bars (else only the
  /// tags of the called-out bars, above them).
  size_t max_labels = 30;
  std::string legend_normal, legend_highlight;  ///< legend entries (empty: none)
};
std::string bar_chart(const BarChart& c);

/// One horizontal bar split into segments (flash by kind), with optional reference marks.
struct Segment {
  std::string label;
  double value = 0;
};
struct StackedBar {
  std::string title;
  Frame frame{760, 200, 20, 20, 28, 96};
  AxisSpec x;
  std::vector<Segment> segments;
  struct Mark {
    double at = 0;
    std::string label;
  };
  std::vector<Mark> marks;
};
std::string stacked_bar(const StackedBar& c);

/// A matrix as a heat map (confusion: rows true class, columns predicted); the cell's
/// lightness follows count / row total, the count is printed in it.
struct HeatMap {
  std::string title;
  std::string row_axis, column_axis;
  std::vector<std::string> labels;        ///< row and column names
  std::vector<std::vector<double>> cells;  ///< [row][column]
  double cell = 40;                        ///< cell side in the viewBox
};
std::string heat_map(const HeatMap& c);

/// The arena plan: x = op index, y = arena offset in bytes; one box per buffer lifetime.
struct Box {
  std::string label;
  int first = 0, last = 0;      ///< ops it is alive at, inclusive
  double offset = 0, size = 0;  ///< bytes
  int kind = 0;                 ///< index into BoxChart::kinds (fill style)
};
struct BoxChart {
  std::string title;
  Frame frame{760, 340, 80, 20, 28, 56};
  AxisSpec x, y;
  int ops = 0;                     ///< x runs over [0, ops)
  std::vector<std::string> kinds;  ///< legend names of the box kinds
  std::vector<Box> boxes;
  double peak = 0;                 ///< marked as a solid line
  double lower_bound = 0;          ///< marked as a dashed line (0: none)
};
std::string box_chart(const BoxChart& c);

/// A histogram over [lo, hi] (bars contiguous, counts on a log axis when asked) with a chosen
/// range marked and the parts outside it shaded as clipped.
struct Histogram {
  std::string title;
  Frame frame{360, 200, 56, 12, 24, 44};
  AxisSpec x, y;
  double lo = 0, hi = 1;
  std::vector<double> counts;
  double range_lo = 0, range_hi = 1;
};
std::string histogram(const Histogram& c);

}  // namespace flynet::chart

#endif  // FLYNET_FORMATS_SVG_CHART_HPP_
