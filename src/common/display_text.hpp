#pragma once
// Display text: how every output shows a string that came from outside (a file or interface name, a rule,
// region or labels-file field, a server name from a capture, a message from libpcap or a peer).
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <type_traits>

namespace sealscope {

/// The display text of `s`: valid UTF-8 stays as it is ("Köln" is "Köln"), and each byte of these becomes
/// the four characters \xNN (lower-case hex):
///   - a C0 control (U+0000–U+001F: ESC, but also tab and line feed: a name's line break or tab shown as
///     such would pass for sealscope's own layout), and DEL (U+007F);
///   - a C1 control written in UTF-8 (U+0080–U+009F, e.g. C2 9B, the one-character CSI), each of its two
///     bytes;
///   - every byte that is not part of a valid UTF-8 sequence (a stray or cut-off byte, an overlong form, a
///     surrogate, a code point past U+10FFFF); decoding resumes at the next byte, so a valid sequence right
///     behind it stays;
///   - the backslash itself, so the text is unambiguous: its bytes can always be read back.
/// So the text is valid UTF-8 without a single control character: a crafted name cannot recolour, clear
/// or retitle a terminal, nor fake a line of its own, and a JSON string, a CSV cell, an HTML text node
/// and a terminal line show the same characters for it.
///
/// Hand-written: no packaged library does this one small thing. glib's g_strescape writes every byte
/// above 0x7E in octal (losing "Köln"), ICU and Boost.Locale decode and convert but do not escape, GNU's
/// quotearg quotes for a shell and is gnulib source copied into programs, not a library, and a JSON
/// serializer escapes only what JSON needs (nlohmann copies DEL and the C1 controls through and throws on
/// bytes that are not UTF-8). The UTF-8 decoding itself is Boost.Locale's.
std::string display_text(std::string_view s);
void append_display_text(fmt::memory_buffer& out, std::string_view s);

/// The display text of `s` for a table column `width` characters wide: when it has more characters (code
/// points; an escape \xNN counts four and is never split), the first `width` - 1 of them and "…". Cutting
/// the name's bytes instead could split a UTF-8 sequence, which would then show as a stray \xNN.
std::string display_cut(std::string_view s, std::size_t width);

/// The first byte in [p, end) that display text writes as \xNN, or `end`: the bytes before it stay as they
/// are. For writers that add their own quoting to display text (report/text_escape.hpp).
const char* display_break(const char* p, const char* end) noexcept;

/// A JSON text for a terminal: `json` (valid UTF-8, as a serializer writes it) with DEL and each C1 control
/// (U+0080–U+009F) written as the JSON escape \u00NN. A serializer escapes only the C0 controls JSON
/// requires (nlohmann writes DEL and C2 9B, the one-character CSI, as they are), so a string from a peer
/// could reach a terminal as a control sequence; the escaped text decodes to the same strings. Outside its
/// strings a JSON text holds neither, so escaping them everywhere is exact.
std::string json_for_terminal(std::string_view json);

/// Appends the four characters \xNN of byte `c`.
void append_hex_escape(fmt::memory_buffer& out, unsigned char c);

/// Walks `s` as display text: plain(first, last) for each run of bytes that stay as they are, escaped(byte)
/// for each byte written as \xNN.
template <typename Plain, typename Escaped>
void walk_display(std::string_view s, Plain&& plain, Escaped&& escaped) {
  const char* p = s.data();
  const char* const end = p + s.size();
  while (p != end) {
    const char* q = display_break(p, end);
    if (q != p) plain(p, q);
    if (q == end) break;
    escaped(static_cast<unsigned char>(*q));
    p = q + 1;
  }
}

/// Text sealscope itself wrote, passed to format_text() as an argument and kept as it is: a usage text,
/// whose line breaks are meant.
struct Verbatim {
  std::string_view text;
};
inline Verbatim verbatim(std::string_view text) { return {text}; }

namespace display_detail {
template <typename T>
decltype(auto) shown(const T& v) {
  using D = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<D, Verbatim>) {
    return v.text;
  } else if constexpr (std::is_convertible_v<const D&, std::string_view>) {
    return display_text(std::string_view(v));
  } else {
    static_assert(std::is_arithmetic_v<D> && !std::is_same_v<D, char>,
                  "format_text: give text as a string (shown as display text), a number as a number, or "
                  "sealscope's own multi-line text as verbatim()");
    return v;
  }
}
}  // namespace display_detail

/// fmt::format for the text a person reads (terminal lines, text reports, messages): the format string is
/// sealscope's own (its line breaks are kept), every string argument is shown as its display text, numbers
/// as fmt formats them. Other argument types do not compile, so nothing outside reaches the text unescaped.
/// An argument must not be display text already (its backslashes would be escaped twice).
template <typename... T>
std::string format_text(fmt::format_string<T...> format, T&&... args) {
  // The format string was checked at compile time against the arguments as given; shown() changes only a
  // string into a string.
  return fmt::format(fmt::runtime(fmt::string_view(format)), display_detail::shown(args)...);
}

/// format_text() written to `out`; throws std::system_error on a short write, as fmt::print does.
template <typename... T>
void print_text(std::FILE* out, fmt::format_string<T...> format, T&&... args) {
  fmt::print(out, "{}", format_text<T...>(format, std::forward<T>(args)...));
}

}  // namespace sealscope

template <>
struct fmt::formatter<sealscope::Verbatim> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(const sealscope::Verbatim& v, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(v.text, ctx);
  }
};
