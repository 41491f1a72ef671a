// flynet report on a real run: the tiny pipeline (train -> calibrate -> quantize -> export ->
// info -> verify) on a generated data set, its JSON turned into the page, and the page drawn by
// headless Chromium (Debian `chromium`) to a PNG that must not be blank, with no message on
// the page's console (a blocked resource, a broken document). Also the command's errors.
#include <gtest/gtest.h>
#include <png.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "run_flynet.hpp"

namespace {

namespace fs = std::filesystem;
using flynet::test::Result;
using flynet::test::slurp;

constexpr const char* kChromium = "/usr/bin/chromium";

struct Image {
  int width = 0, height = 0;
  std::vector<uint32_t> rgb;  // 0xRRGGBB per pixel
};

Image read_png(const std::string& path) {
  Image im;
  png_image p{};
  p.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&p, path.c_str())) return im;
  p.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> buf(PNG_IMAGE_SIZE(p));
  if (!png_image_finish_read(&p, nullptr, buf.data(), 0, nullptr)) return im;
  im.width = int(p.width);
  im.height = int(p.height);
  for (size_t i = 0; i + 2 < buf.size(); i += 3) im.rgb.push_back(uint32_t(buf[i]) << 16 | buf[i + 1] << 8 | buf[i + 2]);
  return im;
}

// Chromium's screenshot of `html` at the given window size; its log (stderr) in `log`.
bool screenshot(const std::string& html, const std::string& png, int w, int h, std::string& log) {
  const std::string log_file = png + ".log";
  const std::string cmd = std::string(kChromium) +
                          " --headless --disable-gpu --no-sandbox --hide-scrollbars --enable-logging=stderr --v=0"
                          " --user-data-dir=" + png + ".profile --screenshot=" + png + " --window-size=" +
                          std::to_string(w) + "," + std::to_string(h) + " file://" + html + " >/dev/null 2>" + log_file;
  const int st = std::system(cmd.c_str());
  log = slurp(log_file);
  return st == 0 && fs::exists(png);
}

// A page is drawn when a good share of it is not the background and it has several colours.
void expect_drawn(const Image& im, const std::string& what) {
  ASSERT_GT(im.width, 0) << what << ": not a PNG";
  std::set<uint32_t> colours;
  size_t ink = 0;
  for (uint32_t c : im.rgb) {
    colours.insert(c);
    if (c != im.rgb[im.rgb.size() - 1]) ++ink;  // the bottom-right pixel is background
  }
  EXPECT_GT(colours.size(), 50u) << what;
  EXPECT_GT(double(ink) / double(im.rgb.size()), 0.2) << what;
}

// Chromium writes every console message (errors included) as a ":CONSOLE" log line.
void expect_no_console_messages(const std::string& log, const std::string& what) {
  for (size_t at = log.find(":CONSOLE"); at != std::string::npos; at = log.find(":CONSOLE", at + 1))
    ADD_FAILURE() << what << ": " << log.substr(at, log.find('\n', at) - at);
}

class Report : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("flynet_report_test_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "run");
    flynet::write_h5_dataset(p("data.h5"), flynet::test::square_position_set(256, 1),
                             flynet::test::square_position_set(64, 2), {"top-left", "bottom-right"});
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string p(const std::string& name) { return (dir_ / name).string(); }
  static Result flynet(const std::string& args) { return flynet::test::run_flynet(args); }
  static void to_file(const std::string& args, const std::string& out) {
    const Result r = flynet(args);
    ASSERT_EQ(r.code, 0) << args << ": " << r.err;
    std::ofstream(out) << r.out;
  }
  // What the commands added to their JSON for the page, checked against their own meaning.
  static void CheckTheJsonTheReportDraws() {
    const auto fly = nlohmann::json::parse(slurp(p("run/m.fly.info.json")));
    // The plan's boxes: inside the arena, and no two share a byte while both are alive.
    const auto& boxes = fly["plan"]["buffers"];
    ASSERT_GT(boxes.size(), 20u);
    const int64_t arena = fly["arena_bytes"];
    for (size_t a = 0; a < boxes.size(); ++a) {
      const int64_t off = boxes[a]["offset"], size = boxes[a]["size"];
      EXPECT_LE(off + size, arena) << boxes[a];
      for (size_t b = a + 1; b < boxes.size(); ++b) {
        const bool time = boxes[a]["first"] <= boxes[b]["last"] && boxes[b]["first"] <= boxes[a]["last"];
        const int64_t off2 = boxes[b]["offset"], size2 = boxes[b]["size"];
        EXPECT_FALSE(time && off < off2 + size2 && off2 < off + size) << boxes[a] << " and " << boxes[b];
      }
    }
    // The lower bound is the most bytes alive at one op, so some op reaches it (aligned to 4).
    int64_t peak = 0;
    for (int op = 0; op < int(fly["ops"].size()); ++op) {
      int64_t live = 0;
      for (const auto& b : boxes)
        if (b["first"] <= op && op <= b["last"]) live += (b["size"].get<int64_t>() + 3) / 4 * 4;
      peak = std::max(peak, live);
    }
    EXPECT_EQ(peak, fly["arena_lower_bound"].get<int64_t>());
    int64_t by_bits = 0;
    for (const auto& [bits, bytes] : fly["flash"]["weights_by_bits"].items()) by_bits += bytes.get<int64_t>();
    EXPECT_EQ(by_bits, fly["flash"]["weights"].get<int64_t>());
    // Calibration histograms: 64 bins over the observed range, holding every calibration value.
    const auto cal = nlohmann::json::parse(slurp(p("run/calibration.json")));
    for (const auto& t : cal["tensors"]) {
      ASSERT_EQ(t["histogram"]["counts"].size(), 64u) << t["name"];
      EXPECT_EQ(t["histogram"]["range"], t["observed"]) << t["name"];
    }
    const auto verify = nlohmann::json::parse(slurp(p("run/verify.json")));
    EXPECT_EQ(verify["classes"], nlohmann::json({"top-left", "bottom-right"}));
    EXPECT_EQ(slurp(p("run/m.metrics.jsonl")).find("weight_levels"), std::string::npos);  // a float run
  }
  static fs::path dir_;
};
fs::path Report::dir_;

TEST_F(Report, PageOfARealRunRendersInChromium) {
  const std::string data = " --data " + p("data.h5");
  ASSERT_EQ(flynet("train" + data + " --input 16x16x1 --classes 2 --width 0.25 --epochs 2 --batch 16 --threads 1 "
                   "--out " + p("m.h5") + " --quiet --checkpoint none --metrics " + p("run/m.metrics.jsonl")).code, 0);
  ASSERT_EQ(flynet("calibrate " + p("m.h5") + data + " --samples 32 --out " + p("m.cal.h5") + " --json " +
                   p("run/calibration.json")).code, 0);
  ASSERT_EQ(flynet("quantize " + p("m.cal.h5") + " --out " + p("m.q.h5") + data + " --samples 0 --json " +
                   p("run/quantize.json")).code, 0);
  ASSERT_EQ(flynet("export " + p("m.q.h5") + " --out " + p("m.fly") + " --host-info").code, 0);
  to_file("info " + p("m.fly") + " --json", p("run/m.fly.info.json"));
  to_file("info " + p("m.h5") + " --json", p("run/m.info.json"));
  Result r = flynet("verify " + p("m.fly") + data + " --float " + p("m.h5") + " --json " + p("run/verify.json") +
                    " --html " + p("verify.html"));
  ASSERT_EQ(r.code, 0) << r.err;
  r = flynet("report " + p("run") + " --out " + p("report.html") + " --title 'tiny run'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "wrote " + p("report.html") + " from 6 files\n");

  CheckTheJsonTheReportDraws();

  const std::string page = slurp(p("report.html"));
  for (const char* id : {"training", "calibration", "accuracy", "memory", "model"})
    EXPECT_NE(page.find(std::string("<section id=\"") + id + "\""), std::string::npos) << id;
  EXPECT_EQ(page.find("class=\"notes\""), std::string::npos) << "every input was used";
  EXPECT_NE(page.find(">bottom-right</text>"), std::string::npos);  // class names in the confusion matrix
  EXPECT_NE(slurp(p("verify.html")).find("<section id=\"memory\""), std::string::npos);

  if (!fs::exists(kChromium)) GTEST_SKIP() << kChromium << " is not installed (Debian package chromium)";
  std::string log;
  ASSERT_TRUE(screenshot(p("report.html"), p("report.png"), 1280, 2400, log)) << log;
  expect_drawn(read_png(p("report.png")), "report.html at 1280 px");
  expect_no_console_messages(log, "report.html");
  // The verify page at a phone's width.
  ASSERT_TRUE(screenshot(p("verify.html"), p("verify.png"), 390, 1600, log)) << log;
  expect_drawn(read_png(p("verify.png")), "verify.html at 390 px");
  expect_no_console_messages(log, "verify.html");
}

TEST_F(Report, ErrorsNameTheFile) {
  Result r = flynet("report " + p("nothing-here.json") + " --out " + p("x.html"));
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err, "flynet report: error: no such file or directory (" + p("nothing-here.json") + ")\n");
  std::ofstream(p("bad.json")) << "{\"top1\": ";
  r = flynet("report " + p("bad.json") + " --out " + p("x.html"));
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.err.rfind("flynet report: error: not valid JSON: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("(" + p("bad.json") + ")\n"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  EXPECT_FALSE(fs::exists(p("x.html")));
}

}  // namespace
