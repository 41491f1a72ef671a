// The sections of the report page (report_page.hpp), one function each. A section reads its
// inputs with nlohmann's checked accessors: a missing key or a wrong type throws, and the page
// leaves the section (or that file's part of it) out with a note naming the file.
#ifndef FLYNET_FORMATS_SRC_REPORT_SECTIONS_HPP_
#define FLYNET_FORMATS_SRC_REPORT_SECTIONS_HPP_

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace flynet::report {

using nlohmann::json;

/// One input file, parsed: a JSON object, or the objects of a JSON-lines file.
struct Input {
  std::string path;
  json data;
};

/// The inputs by kind, in the order given.
struct Inputs {
  std::vector<Input> train;        ///< JSON lines: data is an array of epoch objects
  std::vector<Input> calibration;  ///< calibrate --json
  std::vector<Input> quantize;     ///< quantize --json
  std::vector<Input> verify;       ///< verify --json
  std::vector<Input> fly;          ///< info --json of a .fly file
  std::vector<Input> int8;         ///< info --json of an int8 model
  std::vector<Input> graph;        ///< info --json of a float model or an architecture
};

/// Notes shown at the top of the page (inputs skipped, parts left out).
struct Notes {
  std::vector<std::string> lines;
  /// Runs `part`; a std::exception from it becomes the note "<what> left out: <why> (<path>)".
  void guard(const std::string& what, const std::string& path, const std::function<void()>& part);
};

struct Section {
  std::string id, title, html;  ///< html empty: the section is not shown
};

Section training_section(const Inputs& in, Notes& notes);
Section calibration_section(const Inputs& in, Notes& notes);
Section accuracy_section(const Inputs& in, Notes& notes);
Section memory_section(const Inputs& in, Notes& notes);
Section target_section(const Inputs& in, Notes& notes);
Section model_section(const Inputs& in, Notes& notes);

/// Headline figures for the cards at the top: label and value.
std::vector<std::pair<std::string, std::string>> key_figures(const Inputs& in);

// Small HTML helpers shared by the sections.
std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows,
                  const std::string& css_class = "");
std::string pct(double share, int digits = 2);  ///< 0.9275 -> "92.75%"
std::string fixed(double v, int digits);
std::string bytes_text(double v);               ///< 421656 -> "421,656 B"

}  // namespace flynet::report

#endif  // FLYNET_FORMATS_SRC_REPORT_SECTIONS_HPP_
