// The report page from hand-made JSON: each section appears exactly when its input does, a file
// that cannot be used is an error naming it (given by name) or a note (found in a directory),
// and a recognised file missing what its section needs leaves that part out with a note; the
// page is always whole.
#include "flynet/formats/report_page.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "flynet/formats/error.hpp"

namespace {

namespace fs = std::filesystem;
using flynet::ReportSource;

const char* kVerify = R"({"model":"m.fly","data":"d","count":10,"classes":["cat","dog"],
  "int8":{"top1":0.9,"top5":1.0,"confusion":[[5,0],[1,4]],"seconds":0.1,"images_per_s":100},
  "float":{"top1":0.8,"top5":1.0,"confusion":[[4,1],[1,4]]},"agreement":{"int8_float":0.9},
  "metrics":{"int8_vs_float":{"rmse":0.1,"sqnr_db":20.5,"values":20}},
  "simulation":{"count":10,"top1_int8":0.9,"top1_float":0.8,"top1_fake_quant":0.9,
    "layers":[{"tensor":"conv1","sqnr_int8_vs_float_db":31.5},{"tensor":"fc","sqnr_int8_vs_float_db":12.0}]},
  "target":{"board":"qemu-m4","cpu":"cortex-m4","images":2,"identical":2,"flash_bytes":1000,"ram_bytes":500,
    "stack_used":100,"instructions_per_inference":12345,
    "profile":{"images":2,"instructions_per_inference":12345,"macs":1000,"instructions_per_mac":12.3,
      "nodes":[{"node":0,"op":1,"kind":"conv","layer":"conv1","instructions":10000,"macs":900,"instructions_per_mac":11.1}],
      "kinds":[{"kind":"conv","nodes":1,"instructions":10000,"macs":900,"instructions_per_mac":11.1}]}},
  "gate":{"passed":true,"failures":0,"first_failure":""}})";

const char* kMetrics =
    "{\"epoch\":1,\"step\":4,\"loss\":2.0,\"accuracy\":0.5,\"lr\":0.1,\"temperature\":10,\"test_top1\":0.6,"
    "\"test_top5\":0.9,\"test_loss\":1.5}\n"
    "{\"epoch\":2,\"step\":8,\"loss\":1.0,\"accuracy\":0.7,\"lr\":0.05,\"temperature\":1,\"test_top1\":0.8,"
    "\"test_top5\":1.0,\"test_loss\":0.8}\n";

const char* kFly = R"({"kind":"fly","source":"m.fly","file_bytes":1200,"lower_bound":900,
  "flash":{"weights":800,"channel_params":100,"other_constants":0,"graph":200,"plan":50,"header":50,"padding":0,
    "host_info":0,"weights_by_bits":{"3":300,"8":500}},
  "arena_bytes":256,"arena_lower_bound":256,
  "ops":[{"name":"conv1","op":1,"output":[4,4,8],"flash_bytes":500,"weight_bits":8,"ram_bytes":256,
    "scratch_bytes":0,"decode_bytes":0}],
  "plan":{"buffers":[{"name":"input","kind":"tensor","first":0,"last":0,"offset":0,"size":128}]}})";

std::string render(const std::vector<ReportSource>& s) { return flynet::render_report(s, {"T"}); }

bool whole(const std::string& page) {
  return page.rfind("<!DOCTYPE html>", 0) == 0 && page.find("</html>\n") == page.size() - 8;
}

TEST(ReportPage, SectionsFollowTheirInputs) {
  const std::string page = render({{"v.json", kVerify, true}, {"m.metrics.jsonl", kMetrics, true}, {"f.json", kFly, true}});
  EXPECT_TRUE(whole(page));
  for (const char* id : {"training", "accuracy", "memory", "target"})
    EXPECT_NE(page.find(std::string("<section id=\"") + id + "\""), std::string::npos) << id;
  EXPECT_EQ(page.find("<section id=\"calibration\""), std::string::npos);
  EXPECT_EQ(page.find("<section id=\"model\""), std::string::npos);
  // The confusion matrix carries the class names; the weights by bit width are in the flash bar.
  EXPECT_NE(page.find(">dog</text>"), std::string::npos);
  EXPECT_NE(page.find("weights 3-bit"), std::string::npos);
  // The worst layer is called out by name, with its SQNR.
  EXPECT_NE(page.find("<td>fc</td><td class=\"r\">12.0</td>"), std::string::npos);
  // Self-contained: no script, nothing fetched.
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("src=\"http"), std::string::npos);
  EXPECT_EQ(page.find("href=\"http"), std::string::npos);
}

TEST(ReportPage, OnlyTrainingGivesOnlyTraining) {
  const std::string page = render({{"m.metrics.jsonl", kMetrics, true}});
  EXPECT_TRUE(whole(page));
  EXPECT_NE(page.find("<section id=\"training\""), std::string::npos);
  EXPECT_EQ(page.find("<section id=\"accuracy\""), std::string::npos);
  EXPECT_EQ(page.find("class=\"notes\""), std::string::npos);
}

TEST(ReportPage, ANamedFileThatIsNotUsableIsAnErrorNamingIt) {
  try {
    render({{"broken.json", "{\"int8\": ", true}});
    FAIL() << "no error";
  } catch (const flynet::Error& e) {
    EXPECT_EQ(e.code(), flynet::ErrorCode::format);
    EXPECT_EQ(e.file(), "broken.json");
    EXPECT_EQ(std::string(e.what()).rfind("not valid JSON", 0), 0u) << e.what();
  }
  try {
    render({{"other.json", "{\"hello\": 1}", true}});
    FAIL() << "no error";
  } catch (const flynet::Error& e) {
    EXPECT_EQ(e.file(), "other.json");
    EXPECT_EQ(std::string(e.what()).rfind("not the JSON of a flynet command", 0), 0u) << e.what();
  }
}

TEST(ReportPage, AFoundFileThatIsNotUsableIsANote) {
  const std::string page = render({{"dir/broken.json", "{", false}, {"dir/v.json", kVerify, false}});
  EXPECT_TRUE(whole(page));
  EXPECT_NE(page.find("skipped: not valid JSON"), std::string::npos);
  EXPECT_NE(page.find("(dir/broken.json)"), std::string::npos);
  EXPECT_NE(page.find("<section id=\"accuracy\""), std::string::npos);
}

TEST(ReportPage, AFileMissingWhatItsSectionNeedsLeavesThatPartOut) {
  // A verify report whose confusion matrix is not a matrix, and an info without its plan.
  std::string v = kVerify;
  v.replace(v.find("[[5,0],[1,4]]"), 13, "\"x\"");
  std::string f = kFly;
  f.replace(f.find("\"plan\":{"), 8, "\"nope\":{");
  const std::string page = render({{"v.json", v, true}, {"f.json", f, true}});
  EXPECT_TRUE(whole(page));
  EXPECT_NE(page.find("confusion matrix left out:"), std::string::npos);
  EXPECT_NE(page.find("arena plan left out: no &quot;plan&quot;"), std::string::npos);
  // The rest of both sections is there.
  EXPECT_NE(page.find("Top-1 agreement"), std::string::npos);
  EXPECT_NE(page.find("Flash: where the bytes"), std::string::npos);
}

TEST(ReportPage, AWrongTypeAnywhereLeavesTheSectionOutNotThePage) {
  const std::string cal = R"({"method": 3, "samples": 10, "tensors": [{"name": "a", "range": [-1, 1],
    "clipped_fraction": 0, "sqnr_db": 30}]})";
  const std::string page = render({{"cal.json", cal, true}, {"v.json", kVerify, true}});
  EXPECT_TRUE(whole(page));
  EXPECT_NE(page.find("<li>Calibration left out: "), std::string::npos);
  EXPECT_EQ(page.find("<section id=\"calibration\""), std::string::npos);
  EXPECT_NE(page.find("<section id=\"accuracy\""), std::string::npos);
}

TEST(ReportPage, EmptyOrBrokenMetricsLinesAreNotes) {
  const std::string page = render({{"a.metrics.jsonl", "{\"epoch\":1}\n", true}});
  EXPECT_TRUE(whole(page));
  EXPECT_NE(page.find("training run left out:"), std::string::npos);
  EXPECT_NE(page.find("no section could be drawn"), std::string::npos);
}

TEST(ReportPage, QatRunsAreMarked) {
  const std::string qat =
      "{\"epoch\":1,\"step\":4,\"loss\":0.9,\"accuracy\":0.8,\"lr\":0.01,\"temperature\":1,\"weight_levels\":8,"
      "\"act_bits\":8}\n";
  const std::string page = render({{"f.metrics.jsonl", kMetrics, true}, {"q.metrics.jsonl", qat, true}});
  EXPECT_NE(page.find("QAT 8 levels, int8 activations"), std::string::npos);
  EXPECT_NE(page.find("class=\"band\""), std::string::npos);
}

TEST(ReportSources, DirectoriesGiveTheirJsonFilesAndMissingPathsAreErrors) {
  const fs::path dir = fs::temp_directory_path() / ("flynet_report_sources_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "b.json") << "{}";
  std::ofstream(dir / "a.metrics.jsonl") << kMetrics;
  std::ofstream(dir / "notes.txt") << "x";
  const auto s = flynet::collect_report_sources({dir.string()});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].path, (dir / "a.metrics.jsonl").string());
  EXPECT_FALSE(s[0].named);
  try {
    flynet::collect_report_sources({(dir / "missing.json").string()});
    FAIL() << "no error";
  } catch (const flynet::Error& e) {
    EXPECT_EQ(e.code(), flynet::ErrorCode::io);
    EXPECT_EQ(e.message(), "no such file or directory (" + (dir / "missing.json").string() + ")");
  }
  fs::remove_all(dir);
  fs::create_directories(dir);
  EXPECT_THROW(flynet::collect_report_sources({dir.string()}), flynet::Error);  // nothing to report on
  fs::remove_all(dir);
}

}  // namespace
