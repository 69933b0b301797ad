#include "report/text_escape.hpp"

#include <cstring>

namespace sealscope::report {

namespace {
/// Appends [a, b) with `mark` before each double quote (JSON's backslash, CSV's second quote). Runs between
/// quotes are copied whole: most strings (addresses, labels, names) have none.
void put_quotes_marked(fmt::memory_buffer& out, const char* a, const char* b, char mark) {
  while (const char* q = static_cast<const char*>(std::memchr(a, '"', static_cast<size_t>(b - a)))) {
    append_bytes(out, a, static_cast<size_t>(q - a));
    out.push_back(mark);
    out.push_back('"');
    a = q + 1;
  }
  append_bytes(out, a, static_cast<size_t>(b - a));
}
}  // namespace

void append_json_string(fmt::memory_buffer& out, std::string_view s) {
  out.push_back('"');
  walk_display(
      s,
      [&](const char* a, const char* b) { put_quotes_marked(out, a, b, '\\'); },
      [&](unsigned char c) {
        out.push_back('\\');  // the display text's backslash, escaped for JSON
        append_hex_escape(out, c);
      });
  out.push_back('"');
}

void append_html_text(fmt::memory_buffer& out, std::string_view s) {
  walk_display(
      s,
      [&](const char* a, const char* b) {
        for (const char* q = a; q != b; ++q) {
          switch (*q) {
            case '&': out.append(std::string_view("&amp;")); break;
            case '<': out.append(std::string_view("&lt;")); break;
            case '>': out.append(std::string_view("&gt;")); break;
            case '"': out.append(std::string_view("&quot;")); break;
            case '\'': out.append(std::string_view("&#39;")); break;
            default: out.push_back(*q);
          }
        }
      },
      [&](unsigned char c) { append_hex_escape(out, c); });
}

void append_csv_field(fmt::memory_buffer& out, std::string_view s) {
  // Line breaks are escaped by the display text, so only a comma or a quote needs the field quoted.
  // One pass over the bytes (string_view::find_first_of searches the set once per byte).
  bool quote = false;
  for (const char c : s) quote |= (c == ',') | (c == '"');
  if (quote) out.push_back('"');
  walk_display(
      s,
      [&](const char* a, const char* b) { put_quotes_marked(out, a, b, '"'); },
      [&](unsigned char c) { append_hex_escape(out, c); });
  if (quote) out.push_back('"');
}

}  // namespace sealscope::report
