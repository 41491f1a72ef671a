// The charts' geometry from hand-made inputs: every expected coordinate is worked out here from
// the Frame and the numbers (a bar's height is value / axis end x plot height, ...), not read
// back from the code under test.
#include "flynet/formats/svg_chart.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>
#include <vector>

namespace {

using namespace flynet::chart;

// The attributes of every <tag class="cls" ...> element, in document order.
std::vector<std::map<std::string, std::string>> elements(const std::string& svg, const std::string& tag,
                                                         const std::string& cls) {
  std::vector<std::map<std::string, std::string>> r;
  const std::regex el("<" + tag + " class=\"" + cls + "\"([^>]*)>"), attr("([a-z0-9-]+)=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), el); it != std::sregex_iterator(); ++it) {
    std::map<std::string, std::string> a;
    const std::string body = (*it)[1];
    for (auto at = std::sregex_iterator(body.begin(), body.end(), attr); at != std::sregex_iterator(); ++at)
      a[(*at)[1]] = (*at)[2];
    r.push_back(a);
  }
  return r;
}

double num(const std::map<std::string, std::string>& a, const std::string& k) { return std::stod(a.at(k)); }

// Coordinates are written with two decimals.
constexpr double kEps = 0.006;

TEST(NiceTicks, StepsOfOneTwoFiveAndEndsOnMultiples) {
  // 100/6 = 16.7 -> step 20; 0..100 is 5 steps.
  Ticks t = nice_ticks(0, 100);
  EXPECT_DOUBLE_EQ(t.step, 20);
  EXPECT_DOUBLE_EQ(t.hi, 100);
  // 2000/6 = 333 -> 500.
  t = nice_ticks(0, 2000);
  EXPECT_DOUBLE_EQ(t.step, 500);
  EXPECT_DOUBLE_EQ(t.hi, 2000);
  // 7.3/6 = 1.22 -> 2, end 8.
  t = nice_ticks(0, 7.3);
  EXPECT_DOUBLE_EQ(t.step, 2);
  EXPECT_DOUBLE_EQ(t.hi, 8);
  // Negative data: -30..12 -> 42/6 = 7 -> 10; ends -30 and 20.
  t = nice_ticks(-30, 12);
  EXPECT_DOUBLE_EQ(t.step, 10);
  EXPECT_DOUBLE_EQ(t.lo, -30);
  EXPECT_DOUBLE_EQ(t.hi, 20);
}

TEST(SvgChart, BarHeightsFollowTheValues) {
  BarChart c;
  c.title = "t";
  c.bars = {{"a", 25, false}, {"b", 50, false}, {"c", 100, true}};
  const std::string svg = bar_chart(c);
  const auto bars = elements(svg, "rect", "bar");
  ASSERT_EQ(bars.size(), 3u);
  const Frame f;  // the default frame: 760 x 300, plot 670 x 216 at (70, 28)
  const double plot_h = 300 - 28 - 56, plot_w = 760 - 70 - 20, base = 300 - 56;
  const double values[] = {25, 50, 100};  // axis 0..100 (step 20)
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(num(bars[size_t(i)], "height"), values[i] / 100 * plot_h, kEps) << i;
    EXPECT_NEAR(num(bars[size_t(i)], "y") + num(bars[size_t(i)], "height"), base, kEps) << i;
    // Three slots of plot_w / 3, each bar 80% of its slot, centred.
    EXPECT_NEAR(num(bars[size_t(i)], "x"), 70 + plot_w / 3 * i + plot_w / 3 * 0.1, kEps) << i;
    EXPECT_NEAR(num(bars[size_t(i)], "width"), plot_w / 3 * 0.8, kEps) << i;
  }
  EXPECT_DOUBLE_EQ(f.plot_height(), plot_h);
  // The highlighted bar is drawn differently (fill and a pattern over it).
  EXPECT_NE(bars[2].at("fill"), bars[0].at("fill"));
  EXPECT_EQ(elements(svg, "rect", "pat").size(), 1u);
  // Labels under the bars, and the tick labels of the value axis.
  EXPECT_NE(svg.find(">b</text>"), std::string::npos);
  EXPECT_NE(svg.find(">100</text>"), std::string::npos);
}

TEST(SvgChart, NegativeBarsHangBelowZero) {
  BarChart c;
  c.bars = {{"up", 10, false}, {"down", -20, false}};
  const auto bars = elements(bar_chart(c), "rect", "bar");
  ASSERT_EQ(bars.size(), 2u);
  // Axis -20..10: 30/6 = 5 -> step 5; zero sits 10/30 of the plot below the top.
  const double plot_h = 216, zero = 28 + plot_h * 10 / 30;
  EXPECT_NEAR(num(bars[0], "y"), 28, kEps);
  EXPECT_NEAR(num(bars[0], "height"), plot_h * 10 / 30, kEps);
  EXPECT_NEAR(num(bars[1], "y"), zero, kEps);
  EXPECT_NEAR(num(bars[1], "height"), plot_h * 20 / 30, kEps);
}

TEST(SvgChart, LinePointsFollowTheValues) {
  LineChart c;
  c.series = {{"s", {0, 1, 2}, {0, 50, 100}}};
  const std::string svg = line_chart(c);
  const auto paths = elements(svg, "path", "series");
  ASSERT_EQ(paths.size(), 1u);
  // x axis 0..2 (step 0.5), y axis 0..100 (step 20): the corners and the centre of the plot.
  const double l = 70, r = 740, t = 28, b = 244;
  char want[128];
  std::snprintf(want, sizeof want, "M%g %gL%g %gL%g %g", l, b, (l + r) / 2, (t + b) / 2, r, t);
  EXPECT_EQ(paths[0].at("d"), want);
  EXPECT_NE(svg.find(">s</text>"), std::string::npos);  // the legend
}

TEST(SvgChart, LogAxisPutsDecadesEvenly) {
  LineChart c;
  c.y.log = true;
  c.series = {{"s", {0, 1, 2}, {1, 10, 100}}};
  const auto paths = elements(line_chart(c), "path", "series");
  ASSERT_EQ(paths.size(), 1u);
  const double l = 70, r = 740, t = 28, b = 244;
  char want[128];
  std::snprintf(want, sizeof want, "M%g %gL%g %gL%g %g", l, b, (l + r) / 2, (t + b) / 2, r, t);
  EXPECT_EQ(paths[0].at("d"), want);
}

TEST(SvgChart, ArenaBoxesSpanTheirOpsAndBytes) {
  BoxChart c;
  c.ops = 10;
  c.kinds = {"activation", "scratch"};
  c.boxes = {{"a", 2, 4, 1000, 500, 0}, {"s", 7, 7, 0, 250, 1}};
  c.peak = 2000;
  c.lower_bound = 1500;
  const std::string svg = box_chart(c);
  const auto boxes = elements(svg, "rect", "box");
  ASSERT_EQ(boxes.size(), 2u);
  // Frame 760 x 340, left 80, right 20, top 28, bottom 56: plot 660 x 256. y axis 0..2000.
  const double pw = 660, ph = 256, left = 80, base = 340 - 56;
  EXPECT_NEAR(num(boxes[0], "x"), left + pw * 2 / 10, kEps);
  EXPECT_NEAR(num(boxes[0], "width"), pw * 3 / 10, kEps);  // ops 2, 3, 4
  EXPECT_NEAR(num(boxes[0], "y"), base - ph * 1500 / 2000, kEps);
  EXPECT_NEAR(num(boxes[0], "height"), ph * 500 / 2000, kEps);
  EXPECT_NEAR(num(boxes[1], "x"), left + pw * 7 / 10, kEps);
  EXPECT_NEAR(num(boxes[1], "width"), pw / 10, kEps);
  EXPECT_NEAR(num(boxes[1], "y"), base - ph * 250 / 2000, kEps);
  EXPECT_NE(boxes[0].at("fill"), boxes[1].at("fill"));
  // The arena (solid) and the lower bound (dashed) as lines at their heights.
  const auto peak = elements(svg, "line", "mark"), bound = elements(svg, "line", "bound");
  ASSERT_EQ(peak.size(), 1u);
  ASSERT_EQ(bound.size(), 1u);
  EXPECT_NEAR(num(peak[0], "y1"), base - ph, kEps);
  EXPECT_NEAR(num(bound[0], "y1"), base - ph * 1500 / 2000, kEps);
}

TEST(SvgChart, StackedSegmentsAreProportional) {
  StackedBar c;
  c.x = {"bytes", "B"};
  c.segments = {{"weights", 100}, {"rest", 300}};
  c.marks = {{350, "bound"}};
  const std::string svg = stacked_bar(c);
  const auto seg = elements(svg, "rect", "seg");
  ASSERT_EQ(seg.size(), 2u);
  // Frame 760 x 200, left 20, right 20: plot 720 wide; axis 0..400 (step 100).
  EXPECT_NEAR(num(seg[0], "x"), 20, kEps);
  EXPECT_NEAR(num(seg[0], "width"), 720 * 100.0 / 400, kEps);
  EXPECT_NEAR(num(seg[1], "x"), 20 + 720 * 100.0 / 400, kEps);
  EXPECT_NEAR(num(seg[1], "width"), 720 * 300.0 / 400, kEps);
  const auto marks = elements(svg, "line", "mark");
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_NEAR(num(marks[0], "x1"), 20 + 720 * 350.0 / 400, kEps);
  EXPECT_NE(svg.find("weights 100"), std::string::npos);  // legend with the value
}

TEST(SvgChart, HeatMapLightnessFollowsTheRowShare) {
  HeatMap h;
  h.labels = {"cat", "dog"};
  h.cells = {{3, 1}, {0, 4}};
  const std::string svg = heat_map(h);
  const auto cells = elements(svg, "rect", "cell");
  ASSERT_EQ(cells.size(), 4u);
  // Lightness 97 - 77 x share, rounded: 3/4 -> 39, 1/4 -> 78, 0 -> 97, 1 -> 20.
  EXPECT_EQ(cells[0].at("fill"), "hsl(215,45%,39%)");
  EXPECT_EQ(cells[1].at("fill"), "hsl(215,45%,78%)");
  EXPECT_EQ(cells[2].at("fill"), "hsl(215,45%,97%)");
  EXPECT_EQ(cells[3].at("fill"), "hsl(215,45%,20%)");
  // Cell (row 1, column 0) sits one cell down from the first, at the left margin (110, 40).
  EXPECT_NEAR(num(cells[2], "x"), 110, kEps);
  EXPECT_NEAR(num(cells[2], "y"), 40 + 40, kEps);
  EXPECT_NE(svg.find(">dog</text>"), std::string::npos);
  EXPECT_NE(svg.find(">4</text>"), std::string::npos);
}

TEST(SvgChart, HistogramBarsAndClippedTails) {
  Histogram c;
  c.lo = 0;
  c.hi = 3;
  c.counts = {0, 9, 99};  // log10(1 + count): 0, 1, 2
  c.range_lo = 0.5;
  c.range_hi = 2.5;
  const std::string svg = histogram(c);
  const auto bars = elements(svg, "rect", "bar");
  ASSERT_EQ(bars.size(), 3u);
  // Frame 360 x 200, margins 56/12/24/44: plot 292 x 132. x 0..3, y 0..2.
  const double pw = 292, ph = 132;
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(num(bars[size_t(i)], "x"), 56 + pw * i / 3, kEps);
    EXPECT_NEAR(num(bars[size_t(i)], "height"), ph * i / 2, kEps);
  }
  const auto clip = elements(svg, "rect", "clip");
  ASSERT_EQ(clip.size(), 2u);
  EXPECT_NEAR(num(clip[0], "width"), pw * 0.5 / 3, kEps);
  EXPECT_NEAR(num(clip[1], "x"), 56 + pw * 2.5 / 3, kEps);
}

TEST(SvgChart, TextIsEscaped) {
  BarChart c;
  c.title = "a<b & \"c\"";
  c.bars = {{"<x>", 1, false}};
  const std::string svg = bar_chart(c);
  EXPECT_EQ(svg.find("<x>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;x&gt;"), std::string::npos);
  EXPECT_NE(svg.find("a&lt;b &amp; &quot;c&quot;"), std::string::npos);
}

TEST(SvgChart, HumanNumbers) {
  EXPECT_EQ(human(7086488), "7.09M");
  EXPECT_EQ(human(69160), "69.2k");
  EXPECT_EQ(human(8312), "8312");
  EXPECT_EQ(human(0.25), "0.25");
}

}  // namespace
