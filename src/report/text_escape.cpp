#include "report/text_escape.hpp"

#include <iterator>

namespace sealscope::report {

namespace {
/// A byte that is not printable ASCII, as the four characters \xNN (CSV and HTML).
void append_hex_escape(fmt::memory_buffer& out, unsigned char c) {
  static const char* hex = "0123456789abcdef";
  const char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
  out.append(esc, esc + 4);
}
}  // namespace

void append_json_string(fmt::memory_buffer& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out.push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c >= 0x20 && c < 0x7F) {
      out.push_back(static_cast<char>(c));
    } else {
      const char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      out.append(esc, esc + 6);
    }
  }
  out.push_back('"');
}

void append_html_text(fmt::memory_buffer& out, std::string_view s) {
  for (unsigned char c : s) {
    switch (c) {
      case '&': out.append(std::string_view("&amp;")); break;
      case '<': out.append(std::string_view("&lt;")); break;
      case '>': out.append(std::string_view("&gt;")); break;
      case '"': out.append(std::string_view("&quot;")); break;
      case '\'': out.append(std::string_view("&#39;")); break;
      default:
        if (c >= 0x20 && c < 0x7F) {
          out.push_back(static_cast<char>(c));
        } else {
          append_hex_escape(out, c);
        }
    }
  }
}

void append_csv_field(fmt::memory_buffer& out, std::string_view s) {
  bool quote = false;
  for (unsigned char c : s) {
    if (c == ',' || c == '"' || c == '\n' || c == '\r') quote = true;
  }
  if (quote) out.push_back('"');
  for (unsigned char c : s) {
    if (c == '"') {
      out.push_back('"');
      out.push_back('"');
    } else if (c < 0x20 || c >= 0x7F) {
      append_hex_escape(out, c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (quote) out.push_back('"');
}

}  // namespace sealscope::report
