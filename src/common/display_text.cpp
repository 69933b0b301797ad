#include "common/display_text.hpp"

#include <boost/locale/utf.hpp>

namespace sealscope {

const char* display_break(const char* p, const char* end) noexcept {
  using traits = boost::locale::utf::utf_traits<char>;
  while (p != end) {
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c < 0x7F && c != '\\') {  // printable ASCII: the common case, no decoding
      ++p;
      continue;
    }
    if (c < 0x80) return p;  // C0, DEL, the backslash
    // Boost.Locale's decoder refuses overlong forms, surrogates and code points past U+10FFFF; after an
    // invalid sequence only its first byte is escaped, so a valid sequence right behind a stray byte is kept.
    const char* next = p;
    const boost::locale::utf::code_point cp = traits::decode(next, end);
    if (cp == boost::locale::utf::illegal || cp == boost::locale::utf::incomplete || cp < 0xA0) {
      return p;  // not UTF-8, or U+0080..U+009F, the C1 controls
    }
    p = next;
  }
  return end;
}

void append_hex_escape(fmt::memory_buffer& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char esc[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
  out.append(esc, esc + 4);
}

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

std::string display_cut(std::string_view s, std::size_t width) {
  std::string t = display_text(s);
  if (width == 0) return {};
  // Display text is valid UTF-8 and has a backslash only where an escape begins.
  std::size_t chars = 0, keep = 0, escape = std::string::npos;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if ((static_cast<unsigned char>(t[i]) & 0xC0) == 0x80) continue;  // a continuation byte
    if (t[i] == '\\') escape = i;
    if (chars == width - 1) keep = escape != std::string::npos && i < escape + 4 ? escape : i;
    if (++chars > width) break;
  }
  if (chars <= width) return t;
  t.resize(keep);
  return t + "\u2026";
}

std::string json_for_terminal(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (std::size_t i = 0; i < json.size(); ++i) {
    const auto c = static_cast<unsigned char>(json[i]);
    // In UTF-8, C2 is always a lead byte: C2 80..C2 9F are exactly U+0080..U+009F.
    const bool c1 = c == 0xC2 && i + 1 < json.size() && (static_cast<unsigned char>(json[i + 1]) & 0xE0) == 0x80;
    if (c == 0x7F || c1) {
      const unsigned cp = c1 ? static_cast<unsigned char>(json[++i]) : c;
      out += fmt::format("\\u{:04x}", cp);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace sealscope
