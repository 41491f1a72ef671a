// The report page (report_page.hpp): finds and recognises the inputs, then lays out the
// sections (report_sections.cpp) in one HTML file with its CSS inline.
#include "flynet/formats/report_page.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/svg_chart.hpp"
#include "report_sections.hpp"

namespace flynet {

namespace fs = std::filesystem;
using report::Input;
using report::Inputs;
using report::json;

namespace {

bool report_file(const fs::path& p) {
  const std::string e = p.extension().string();
  return fs::is_regular_file(p) && (e == ".json" || e == ".jsonl");
}

// A JSON-lines file: every non-empty line one object. Throws json::parse_error on a bad line.
json parse_lines(const std::string& text) {
  json all = json::array();
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) all.push_back(json::parse(line));
  return all;
}

// Which command wrote `j`, by the keys only that command writes; nullptr: none.
std::vector<Input>* kind_of(const json& j, Inputs& in) {
  if (j.is_array()) return j.empty() || !j[0].is_object() || !j[0].contains("epoch") ? nullptr : &in.train;
  if (!j.is_object()) return nullptr;
  if (j.contains("tensors") && j.contains("method")) return &in.calibration;
  if (j.contains("gate") && j.contains("int8")) return &in.verify;
  if (j.contains("top1") && j.contains("layers") && j.contains("agreement")) return &in.quantize;
  const std::string kind = j.contains("kind") && j["kind"].is_string() ? j["kind"].get<std::string>() : "";
  if (kind == "fly") return &in.fly;
  if (kind == "int8") return &in.int8;
  if (j.contains("layers") && j.contains("madds_strict")) return &in.graph;
  return nullptr;
}

// Parses and sorts the sources; a named source that is not usable throws, a found one is noted.
Inputs sort_inputs(const std::vector<ReportSource>& sources, report::Notes& notes) {
  Inputs in;
  for (const ReportSource& s : sources) {
    std::string why;
    try {
      const bool lines = fs::path(s.path).extension() == ".jsonl";
      json j = lines ? parse_lines(s.text) : json::parse(s.text);
      if (std::vector<Input>* kind = kind_of(j, in)) {
        kind->push_back({s.path, std::move(j)});
        continue;
      }
      why = "not the JSON of a flynet command (train --metrics, calibrate, quantize, info, verify)";
    } catch (const json::exception& e) {
      why = std::string("not valid JSON: ") + e.what();
    }
    if (s.named) throw Error(ErrorCode::format, why, s.path);
    notes.lines.push_back("skipped: " + why + " (" + s.path + ")");
  }
  return in;
}

constexpr const char* kCss = R"(
:root{--ink:#1d2330;--mute:#5b6472;--line:#d5dae1;--bg:#f6f7f9;--card:#fff;--accent:#1f3d7a}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
header{background:var(--accent);color:#fff;padding:20px 24px}
header h1{margin:0;font-size:24px;font-weight:600}
header p{margin:4px 0 0;opacity:.85;font-size:13px}
nav{display:flex;flex-wrap:wrap;gap:6px 16px;padding:10px 24px;background:#fff;border-bottom:1px solid var(--line);font-size:14px}
nav a{color:var(--accent);text-decoration:none}
main{max-width:1120px;margin:0 auto;padding:16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px;margin:8px 0 16px}
.card{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:6px;padding:8px 12px}
.card b{display:block;font-size:20px;font-variant-numeric:tabular-nums}
.card span{color:var(--mute);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 20px 16px;margin:0 0 18px;break-inside:avoid-page}
h2{font-size:19px;margin:12px 0 8px;border-bottom:2px solid var(--accent);padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
figure{margin:12px 0}
figcaption,.note{color:var(--mute);font-size:13px}
svg.chart{width:100%;height:auto;display:block;max-width:920px}
svg.heat{max-width:560px}
svg text{font-family:inherit;fill:var(--ink);font-size:11px}
svg .ttl{font-size:13px;font-weight:600}
svg .lbl{font-size:12px;fill:var(--mute)}
svg .tick{font-size:10px;fill:var(--mute)}
svg .leg{font-size:11px}
svg .note{font-size:10px;fill:var(--ink)}
svg .inv{fill:#fff;font-size:11px}
svg .cnt{font-size:11px}
svg .grid{stroke:#e6e9ee;stroke-width:1}
svg .axis{stroke:#8a93a0;stroke-width:1}
svg .mark{stroke:#111;stroke-width:1.6}
svg .bound{stroke:#111;stroke-width:1.4;stroke-dasharray:6 4}
svg .series{fill:none;stroke-width:2}
svg .box{stroke:#fff;stroke-width:1}
svg .cell{stroke:#fff;stroke-width:1}
svg .pat,svg .clip{pointer-events:none}
svg.defs{position:absolute}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:8px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:8px 0;font-size:13px;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}
td.r{text-align:right}
code{font-size:12px;color:var(--mute)}
details{margin:10px 0}
summary{cursor:pointer;color:var(--accent)}
.notes{background:#fff8e6;border:1px solid #e6cf8f;border-radius:6px;padding:8px 14px;font-size:13px}
.notes ul{margin:4px 0;padding-left:18px}
footer{color:var(--mute);font-size:12px;text-align:center;padding:12px}
@media (max-width:700px){main{padding:8px}section{padding:4px 10px 10px}.pair{grid-template-columns:1fr}header{padding:14px}
figure{overflow-x:auto}svg.wide{min-width:600px}}
@media print{body{background:#fff}nav{display:none}header{background:#fff;color:var(--ink);border-bottom:2px solid var(--ink)}
section{border:none;padding:0;break-inside:auto}figure,table{break-inside:avoid}}
)";

std::string page_head(const std::string& title) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
         "img-src data:\">\n<title>" +
         chart::escape(title) + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n";
}

std::string cards(const Inputs& in) {
  std::string h = "<div class=\"cards\">";
  std::set<std::string> shown;  // several files give the same figure: the first one is shown
  for (const auto& [label, value] : report::key_figures(in))
    if (shown.insert(label).second)
      h += "<div class=\"card\"><span>" + chart::escape(label) + "</span><b>" + chart::escape(value) + "</b></div>";
  return h + "</div>\n";
}

std::string inputs_list(const std::vector<ReportSource>& sources) {
  std::string h = "<details><summary>" + std::to_string(sources.size()) + " input files</summary><ul>";
  for (const ReportSource& s : sources) h += "<li><code>" + chart::escape(s.path) + "</code></li>";
  return h + "</ul></details>\n";
}

}  // namespace

std::vector<ReportSource> collect_report_sources(const std::vector<std::string>& paths) {
  std::vector<ReportSource> r;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      for (const fs::directory_entry& e : fs::directory_iterator(p, ec))
        if (report_file(e.path())) files.push_back(e.path());
      if (ec) throw Error(ErrorCode::io, "cannot list the directory: " + ec.message(), p);
      std::sort(files.begin(), files.end());
      for (const fs::path& f : files) r.push_back({f.string(), read_file_bytes(f.string()), false});
      continue;
    }
    if (!fs::exists(p, ec)) throw Error(ErrorCode::io, "no such file or directory", p);
    r.push_back({p, read_file_bytes(p), true});
  }
  if (r.empty()) throw Error(ErrorCode::usage, "no .json or .jsonl files to report on", paths.empty() ? "" : paths[0]);
  return r;
}

std::string render_report(const std::vector<ReportSource>& sources, const ReportOptions& o) {
  report::Notes notes;
  const Inputs in = sort_inputs(sources, notes);
  using SectionFn = report::Section (*)(const Inputs&, report::Notes&);
  const std::pair<const char*, SectionFn> sections[] = {
      {"Training", report::training_section}, {"Calibration", report::calibration_section},
      {"Quantization and verify", report::accuracy_section}, {"Memory", report::memory_section},
      {"Target", report::target_section}, {"The model", report::model_section}};
  std::string nav = "<nav>", body;
  for (const auto& section : sections) {
    // The sections guard each file's part; this catches what falls between them. (No structured
    // binding: clang 14 cannot capture one in the lambda.)
    const SectionFn draw = section.second;
    report::Section s;
    notes.guard(section.first, "its inputs", [&] { s = draw(in, notes); });
    if (s.html.empty()) continue;
    nav += "<a href=\"#" + s.id + "\">" + chart::escape(s.title) + "</a>";
    body += "<section id=\"" + s.id + "\">\n<h2>" + chart::escape(s.title) + "</h2>\n" + s.html + "</section>\n";
  }
  if (body.empty()) notes.lines.push_back("no section could be drawn from these inputs");
  std::string notes_html;
  if (!notes.lines.empty()) {
    notes_html = "<div class=\"notes\"><b>Notes</b><ul>";
    for (const std::string& n : notes.lines) notes_html += "<li>" + chart::escape(n) + "</li>";
    notes_html += "</ul></div>\n";
  }
  return page_head(o.title) + chart::pattern_defs() + "<header><h1>" + chart::escape(o.title) +
         "</h1><p>flynet report: training, calibration, quantization, memory, target and the model, from the "
         "commands' JSON</p></header>\n" +
         nav + "</nav>\n<main>\n" + cards(in) + notes_html + body + inputs_list(sources) +
         "</main>\n<footer>Made by flynet report. Self-contained: no scripts, no network.</footer>\n</body>\n</html>\n";
}

}  // namespace flynet
