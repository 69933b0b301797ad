#pragma once
#include <fmt/format.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/display_text.hpp"

namespace sealscope::report {

/// Every output writes a string from a capture or from an input (a server name, a file name, a rule name)
/// as its display text (common/display_text.hpp: valid UTF-8 as it is; controls, the backslash and bytes
/// outside valid UTF-8 as \xNN). Each writer below adds only its own format's quoting to it, so a JSON
/// string, a CSV cell and an HTML text node of the same name hold the same characters.
using sealscope::append_display_text;
using sealscope::display_text;

/// Appends n bytes to `out`. By hand rather than fmt's buffer::append, which GCC leaves out of line: a call
/// of about 50 instructions for each of the 70-odd pieces of a flow record (callgrind, a sixth of the JSONL
/// writer's time). Growing, then copying, inlines; for a literal the copy is a few moves.
[[gnu::always_inline]] inline void append_bytes(fmt::memory_buffer& out, const char* s, size_t n) {
  const size_t at = out.size();
  out.resize(at + n);
  std::memcpy(out.data() + at, s, n);
}

/// Appends `s` as a JSON string literal holding its display text (" and \ get a backslash).
/// Hand-written: nlohmann::json (linked) needs a json value per string and, like rapidjson's Writer and
/// yajl_gen, takes the input as UTF-8: invalid UTF-8 is copied through (invalid JSON), replaced by
/// U+FFFD, or refused.
void append_json_string(fmt::memory_buffer& out, std::string_view s);

/// Appends `s`'s display text as HTML text or a quoted attribute value: & < > " ' become character
/// references.
/// Hand-written: glib's g_markup_escape_text returns a newly allocated string per call and expects valid
/// UTF-8 input.
void append_html_text(fmt::memory_buffer& out, std::string_view s);

/// Appends `s`'s display text as one RFC 4180 CSV field, quoted when it holds a comma or a quote.
/// Hand-written: libcsv's csv_write always quotes the field and copies control and non-ASCII bytes as
/// they are.
void append_csv_field(fmt::memory_buffer& out, std::string_view s);

/// `j` with every string and object key in it replaced by its display text (the order of keys kept).
template <typename Json>
Json displayed(const Json& j) {
  if (j.is_string()) return Json(display_text(j.template get_ref<const std::string&>()));
  if (j.is_array()) {
    Json a = Json::array();
    for (const auto& v : j) a.push_back(displayed(v));
    return a;
  }
  if (j.is_object()) {
    Json o = Json::object();
    for (const auto& [k, v] : j.items()) o[display_text(k)] = displayed(v);
    return o;
  }
  return j;
}

/// A report (summary, policy, audit, eval) as JSON text, indented by 2, its strings and keys as display
/// text: nlohmann's dump() would otherwise throw (and end the program) on a name that is not UTF-8.
template <typename Json>
std::string json_text(const Json& j) {
  return displayed(j).dump(2);
}

}  // namespace sealscope::report
