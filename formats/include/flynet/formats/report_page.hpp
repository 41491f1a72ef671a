// The page of `flynet report`: one self-contained HTML file (inline CSS and SVG, no script, no
// network) built from the JSON the other commands write. Each input is recognised by its
// content, not its name:
//   train --metrics (JSON lines)       -> Training
//   calibrate --json                   -> Calibration (several files: methods side by side)
//   quantize --json, verify --json     -> Quantization and verify (and Target with --target)
//   info --json of a .fly / int8 model -> Memory (arena plan, flash) and The model
//   info --json of a float model       -> The model
// A section is shown only when its input is there. An input that cannot be used leaves its
// section out with a note on the page; the page itself is always whole.
//
//   auto sources = collect_report_sources({"out/"});     // Error{io} naming a missing path
//   write_bytes_atomically("report.html", render_report(sources, {"FlyNet-h3 0.5x"}));
#ifndef FLYNET_FORMATS_REPORT_PAGE_HPP_
#define FLYNET_FORMATS_REPORT_PAGE_HPP_

#include <string>
#include <vector>

namespace flynet {

struct ReportSource {
  std::string path;       ///< named on the page and in errors
  std::string text;       ///< the file's content
  bool named = false;     ///< given by name (not found in a directory): a file flynet cannot read is an error
};

/// The files behind `paths`: a directory gives its *.json and *.jsonl files (sorted by name, not
/// recursive), a file itself. Throws Error{io} naming a path that does not exist or cannot be
/// read, Error{usage} when the paths hold no file at all.
std::vector<ReportSource> collect_report_sources(const std::vector<std::string>& paths);

struct ReportOptions {
  std::string title = "flynet report";
};

/// The page. Throws Error{format} naming the file when a named source is not JSON / JSON lines
/// or is JSON that no flynet command writes; sources found in a directory are skipped with a
/// note instead, and a recognised file missing what its section needs leaves the section out
/// with a note.
std::string render_report(const std::vector<ReportSource>& sources, const ReportOptions& o = {});

}  // namespace flynet

#endif  // FLYNET_FORMATS_REPORT_PAGE_HPP_
