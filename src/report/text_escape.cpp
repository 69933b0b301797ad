#include "report/text_escape.hpp"

namespace sealscope::report {

void append_json_string(fmt::memory_buffer& out, std::string_view s) {
  out.push_back('"');
  walk_display(
      s,
      [&](const char* a, const char* b) {
        for (const char* q = a; q != b; ++q) {
          if (*q == '"') out.push_back('\\');
          out.push_back(*q);
        }
      },
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
  const bool quote = s.find_first_of(",\"") != std::string_view::npos;
  if (quote) out.push_back('"');
  walk_display(
      s,
      [&](const char* a, const char* b) {
        for (const char* q = a; q != b; ++q) {
          if (*q == '"') out.push_back('"');
          out.push_back(*q);
        }
      },
      [&](unsigned char c) { append_hex_escape(out, c); });
  if (quote) out.push_back('"');
}

}  // namespace sealscope::report
