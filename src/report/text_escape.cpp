#include "report/text_escape.hpp"

#include <boost/locale/utf.hpp>
#include <iterator>

namespace sealscope::report {

namespace {
void append_hex_escape(fmt::memory_buffer& out, unsigned char c) {
  static const char* hex = "0123456789abcdef";
  const char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
  out.append(esc, esc + 4);
}

/// Calls plain(first, last) for each run of bytes that stay as they are and escaped(byte) for each byte
/// written as \xNN. UTF-8 sequences are checked by Boost.Locale's decoder (overlong forms, surrogates and
/// code points past U+10FFFF are invalid); after an invalid sequence only its first byte is escaped and
/// decoding resumes at the next byte, so a valid sequence right behind a stray byte is kept.
template <typename Plain, typename Escaped>
void walk_display(std::string_view s, Plain plain, Escaped escaped) {
  using traits = boost::locale::utf::utf_traits<char>;
  const char* p = s.data();
  const char* const end = p + s.size();
  const char* run = p;
  while (p != end) {
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c < 0x7F && c != '\\') {  // printable ASCII: the common case, no decoding
      ++p;
      continue;
    }
    const char* next = p;
    const boost::locale::utf::code_point cp = c < 0x80 ? c : traits::decode(next, end);
    const bool keep = c >= 0x80 && cp != boost::locale::utf::illegal && cp != boost::locale::utf::incomplete &&
                      cp >= 0xA0;  // U+0080..U+009F are the C1 controls
    if (keep) {
      p = next;
      continue;
    }
    if (run != p) plain(run, p);
    escaped(c);
    run = ++p;
  }
  if (run != p) plain(run, p);
}
}  // namespace

void append_display_text(fmt::memory_buffer& out, std::string_view s) {
  walk_display(
      s, [&](const char* a, const char* b) { out.append(a, b); },
      [&](unsigned char c) { append_hex_escape(out, c); });
}

std::string display_text(std::string_view s) {
  fmt::memory_buffer b;
  append_display_text(b, s);
  return fmt::to_string(b);
}

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
