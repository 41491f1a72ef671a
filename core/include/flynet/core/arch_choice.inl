// Template definitions for the choice tables of arch.hpp (included from there only).
#include <string>

#include "flynet/formats/error.hpp"

namespace flynet {

template <class E, size_t N>
std::string choice_list(const std::array<Choice<E>, N>& table) {
  std::string s;
  for (const auto& c : table) {
    if (!s.empty()) s += '|';
    s += c.name;
  }
  return s;
}

template <class E, size_t N>
E parse_choice(const std::array<Choice<E>, N>& table, std::string_view name, std::string_view what) {
  for (const auto& c : table)
    if (c.name == name) return c.value;
  throw Error(ErrorCode::usage, "unknown " + std::string(what) + " '" + std::string(name) +
                                    "' (expected " + choice_list(table) + ")");
}

template <class E, size_t N>
std::string_view choice_name(const std::array<Choice<E>, N>& table, E value) {
  for (const auto& c : table)
    if (c.value == value) return c.name;
  throw Error(ErrorCode::internal, "value missing from a choice table");
}

template <class E, size_t N>
std::map<std::string, E> choice_map(const std::array<Choice<E>, N>& table) {
  std::map<std::string, E> m;
  for (const auto& c : table) m.emplace(std::string(c.name), c.value);
  return m;
}

}  // namespace flynet
