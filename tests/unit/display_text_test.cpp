// common/display_text: what a terminal (and every other output) is shown of a string from outside. One
// test per class of byte the documentation names, then format_text(), which applies it to every string
// argument of a message or a text report line. (No backslash in a test name: ctest passes the name to
// Catch2 as a test spec, where a backslash escapes the next character, and the entry would match nothing.)
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/display_text.hpp"

using sealscope::display_text;
using sealscope::format_text;
using sealscope::verbatim;

namespace {
/// True when `s` holds a byte a terminal may take for a control: C0, DEL, or a UTF-8 C1 control (C2 80..C2
/// 9F). (A raw 8-bit C1 byte cannot occur: display text is valid UTF-8, which escape_test checks.)
bool has_control(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return true;
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9F) return true;
  }
  return false;
}
}  // namespace

TEST_CASE("display text: valid UTF-8 stays as it is", "[display]") {
  CHECK(display_text("capture.pcap") == "capture.pcap");
  CHECK(display_text("K\xc3\xb6ln.pcap") == "K\xc3\xb6ln.pcap");                      // Köln
  CHECK(display_text("\xe6\x9d\xb1\xe4\xba\xac") == "\xe6\x9d\xb1\xe4\xba\xac");      // 東京
  CHECK(display_text("\xf0\x9f\x93\xa6 box") == "\xf0\x9f\x93\xa6 box");              // U+1F4E6
  CHECK(display_text("\xc2\xa0") == "\xc2\xa0");  // U+00A0, the first code point after the C1 controls
  CHECK(display_text("a b'\"$()[]{}~") == "a b'\"$()[]{}~");  // printable ASCII, quotes included
}

TEST_CASE("display text: C0 controls, tab and line feed included, become hex escapes", "[display]") {
  CHECK(display_text("y\x1b[31mred.pcap") == "y\\x1b[31mred.pcap");  // ESC: no colour, no clear, no title
  CHECK(display_text("\x1b]0;owned\x07") == "\\x1b]0;owned\\x07");      // OSC title ended by BEL
  CHECK(display_text(std::string_view("a\0b", 3)) == "a\\x00b");
  CHECK(display_text("a\tb") == "a\\x09b");  // a tab in a name would pass for a column gap
  CHECK(display_text("a\nb") == "a\\x0ab");  // a line break would pass for a line of sealscope's own
  CHECK(display_text("a\rb") == "a\\x0db");  // a carriage return would overwrite the start of the line
  CHECK(display_text("\x08\x1f") == "\\x08\\x1f");
}

TEST_CASE("display text: DEL becomes a hex escape", "[display]") {
  CHECK(display_text("a\x7f") == "a\\x7f");
}

TEST_CASE("display text: C1 controls in UTF-8 (U+0080..U+009F) become a hex escape per byte", "[display]") {
  CHECK(display_text("\xc2\x9b"
                     "31m") == "\\xc2\\x9b31m");  // U+009B, the one-character CSI
  CHECK(display_text("\xc2\x80") == "\\xc2\\x80");
  CHECK(display_text("\xc2\x9f") == "\\xc2\\x9f");
  CHECK(display_text("\xc2\x9d"
                     "0;t\xc2\x9c") == "\\xc2\\x9d0;t\\xc2\\x9c");  // OSC ... ST
}

TEST_CASE("display text: bytes that are not UTF-8 become hex escapes, the valid text around them stays",
          "[display]") {
  CHECK(display_text("\x9b"
                     "31m") == "\\x9b31m");  // a raw 8-bit CSI: a lone continuation byte
  CHECK(display_text("cap\xff.pcap") == "cap\\xff.pcap");
  CHECK(display_text("K\xf6ln") == "K\\xf6ln");  // Latin-1 "Köln"
  CHECK(display_text("\xe2\x82") == "\\xe2\\x82");  // cut short
  CHECK(display_text("\xc0\xaf") == "\\xc0\\xaf");  // overlong '/'
  CHECK(display_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
  CHECK(display_text("\xff\xc3\xb6") == "\\xff\xc3\xb6");  // a good sequence right after a bad byte
}

TEST_CASE("display text: the backslash becomes a hex escape too, so the text reads back unambiguously", "[display]") {
  CHECK(display_text("\\") == "\\x5c");
  // A name that looks like an escape is not taken for the byte: "\x1b" typed as four characters.
  CHECK(display_text("\\x1b") == "\\x5cx1b");
  CHECK(display_text("\\x1b") != display_text("\x1b"));
}

TEST_CASE("display text: no byte string yields a control character", "[display]") {
  std::vector<std::string> inputs;
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) inputs.push_back({static_cast<char>(a), static_cast<char>(b)});
  }
  for (const auto& s : inputs) {
    const std::string t = display_text(s);
    INFO("input bytes " << static_cast<int>(static_cast<unsigned char>(s[0])) << " "
                        << static_cast<int>(static_cast<unsigned char>(s[1])) << ", display text " << t);
    CHECK_FALSE(has_control(t));
  }
}

TEST_CASE("display text: walk_display hands out the plain runs and the escaped bytes in order", "[display]") {
  std::vector<std::string> parts;
  sealscope::walk_display(
      "ab\x1b"
      "c\\",
      [&](const char* a, const char* b) { parts.emplace_back(a, b); },
      [&](unsigned char c) { parts.push_back("<" + std::to_string(c) + ">"); });
  CHECK(parts == std::vector<std::string>{"ab", "<27>", "c", "<92>"});
}

TEST_CASE("format_text: string arguments as display text, the format's own text and numbers as they are",
          "[display]") {
  const std::string name = "y\x1b[31mred.pcap";
  CHECK(format_text("sealscope analyze: {}: not a capture\n", name) ==
        "sealscope analyze: y\\x1b[31mred.pcap: not a capture\n");
  // Every kind of string argument.
  CHECK(format_text("{} {} {}", std::string_view("a\tb"), "c\nd", std::string("e\x7f")) == "a\\x09b c\\x0ad e\\x7f");
  // Numbers, widths and precision as fmt formats them; a width applies to the display text.
  CHECK(format_text("{:>4} {:.1f} {:<6}|", 42, 2.25, "\x1b") == "  42 2.2 \\x1b  |");
  // sealscope's own multi-line text (a usage text) keeps its line breaks when passed as verbatim().
  CHECK(format_text("unknown '{}'\n{}", "x\ny", verbatim("usage: a\n  b\n")) == "unknown 'x\\x0ay'\nusage: a\n  b\n");
}

TEST_CASE("json_for_terminal: DEL and C1 controls become JSON escapes, the JSON decodes to the same strings",
          "[display]") {
  // What a peer could put in a message: DEL, CSI as a C1 control (C2 9B), NEL (C2 85), next to text that
  // must stay as it is (Köln, and the two-byte characters right above the C1 range, U+00A0 and U+00BF).
  const std::string text = std::string("a\x7f") + "b\xc2\x9b" "31mc\xc2\x85" "K\xc3\xb6ln \xc2\xa0\xc2\xbf";
  const nlohmann::json j = {{"text", text}, {"from", "\xc2\x80z"}};
  const std::string raw = j.dump();
  REQUIRE(has_control(raw));  // nlohmann alone writes them as they are: the case this function is for
  const std::string shown = sealscope::json_for_terminal(raw);
  CHECK_FALSE(has_control(shown));
  CHECK(shown.find("\\u007f") != std::string::npos);
  CHECK(shown.find("\\u009b") != std::string::npos);
  CHECK(shown.find("\\u0085") != std::string::npos);
  CHECK(shown.find("\\u0080") != std::string::npos);
  CHECK(shown.find("K\xc3\xb6ln \xc2\xa0\xc2\xbf") != std::string::npos);  // kept byte for byte
  CHECK(nlohmann::json::parse(shown) == j);
  // A JSON text without them is returned unchanged.
  const std::string plain = nlohmann::json({{"text", "K\xc3\xb6ln"}}).dump();
  CHECK(sealscope::json_for_terminal(plain) == plain);
}

TEST_CASE("display_cut: a name cut for a table column never splits a character or an escape", "[display]") {
  using sealscope::display_cut;
  const std::string ellipsis = "\xe2\x80\xa6";
  // Short enough: the display text, unchanged.
  CHECK(display_cut("calls", 24) == "calls");
  CHECK(display_cut("K\xc3\xb6ln", 4) == "K\xc3\xb6ln");  // 4 characters, 5 bytes: fits
  // Too long: width - 1 characters and an ellipsis. The old report cut 24 bytes of this name, which split
  // its ß (bytes 23 and 24) and showed the first half as a stray escape.
  const std::string name = "block-whatsapp-calls-Gi\xc3\x9f" "en-nights";
  REQUIRE(name.substr(0, 24).back() == '\xc3');
  CHECK(display_cut(name, 24) == "block-whatsapp-calls-Gi" + ellipsis);
  CHECK(display_cut(name, 25) == "block-whatsapp-calls-Gi\xc3\x9f" + ellipsis);
  CHECK(display_cut(name, 26) == "block-whatsapp-calls-Gi\xc3\x9f" "e" + ellipsis);
  CHECK(display_cut(name, 33) == name);
  CHECK(display_cut(name, 32) == name.substr(0, name.size() - 2) + ellipsis);
  CHECK(display_cut("\xe6\x9d\xb1\xe4\xba\xac\xe9\x83\xbd\xe5\x8c\x97", 3) == "\xe6\x9d\xb1\xe4\xba\xac" + ellipsis);
  // An escape counts four characters and is kept whole or not at all.
  CHECK(display_cut("ab\x1b" "cdef", 7) == "ab\\x1b" + ellipsis);
  CHECK(display_cut("ab\x1b" "cdef", 6) == "ab" + ellipsis);
  CHECK(display_cut("ab\x1b" "cdef", 4) == "ab" + ellipsis);
  CHECK(display_cut("ab\x1b" "cdef", 3) == "ab" + ellipsis);
  CHECK(display_cut("ab\x1b" "cdef", 2) == "a" + ellipsis);
  CHECK(display_cut("ab", 0).empty());
  // Whatever the bytes and the width: valid display text, at most `width` characters, never a control.
  for (const std::string& s : {std::string("x\xc3"), std::string("\xc3\xb6\xc3\xb6\xc3\xb6"), name,
                              std::string("a\\b\x7f\xc2\x9b" "c")}) {
    for (size_t w = 1; w < 12; ++w) {
      const std::string cut = display_cut(s, w);
      size_t chars = 0;
      for (unsigned char c : cut) chars += (c & 0xC0) != 0x80;
      CHECK(chars <= w);
      // Valid UTF-8 with no control: the only bytes display text would escape are the escapes' backslashes.
      for (const char* q = cut.data(); q != cut.data() + cut.size(); ++q) {
        q = sealscope::display_break(q, cut.data() + cut.size());
        if (q == cut.data() + cut.size()) break;
        CHECK(*q == '\\');
      }
      CHECK_FALSE(has_control(cut));
    }
  }
}
