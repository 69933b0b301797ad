// Display text and the JSON, CSV and HTML writers built on it (report/text_escape): RFC 8259 §7,
// RFC 4180 §2, and the documented choice: valid UTF-8 stays, controls, the backslash and bytes outside
// valid UTF-8 become \xNN. Also the one byte-count formatter the text summaries share.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/types.hpp"
#include "report/text_escape.hpp"

using namespace sealscope::report;

namespace {
std::string json(std::string_view s) {
  fmt::memory_buffer b;
  append_json_string(b, s);
  return fmt::to_string(b);
}
std::string csv(std::string_view s) {
  fmt::memory_buffer b;
  append_csv_field(b, s);
  return fmt::to_string(b);
}
std::string html(std::string_view s) {
  fmt::memory_buffer b;
  append_html_text(b, s);
  return fmt::to_string(b);
}
/// Reads display text back into the bytes it stands for (the inverse the man page promises).
std::string undisplay(const std::string& t) {
  std::string out;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '\\') {
      REQUIRE(i + 3 < t.size());
      REQUIRE(t[i + 1] == 'x');
      out.push_back(static_cast<char>(std::stoi(t.substr(i + 2, 2), nullptr, 16)));
      i += 3;
    } else {
      out.push_back(t[i]);
    }
  }
  return out;
}
}  // namespace

TEST_CASE("escape: display text keeps valid UTF-8 and escapes the rest", "[escape]") {
  CHECK(display_text("") == "");
  CHECK(display_text("example.org") == "example.org");
  CHECK(display_text("say \"hi\"") == "say \"hi\"");
  // UTF-8 stays: é (2 bytes), € (3), 😀 (4), U+00A0 (the first code point after the C1 controls).
  CHECK(display_text("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(display_text("\xe2\x82\xac") == "\xe2\x82\xac");
  CHECK(display_text("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80");
  CHECK(display_text("\xc2\xa0") == "\xc2\xa0");
  // The backslash itself, so that "x\x41y" cannot be taken for "xAy".
  CHECK(display_text("x\\x41y") == "x\\x5cx41y");
  // Controls: C0, DEL and C1 (U+0085 is C2 85).
  CHECK(display_text("a\nb") == "a\\x0ab");
  CHECK(display_text(std::string_view("\0", 1)) == "\\x00");
  CHECK(display_text("\x7f") == "\\x7f");
  CHECK(display_text("\xc2\x85") == "\\xc2\\x85");
  // Not UTF-8: a stray byte, a lone continuation byte, a cut sequence, an overlong '/', a surrogate,
  // a code point past U+10FFFF. Only the bad byte is escaped; a good sequence right behind it stays.
  CHECK(display_text("\xff") == "\\xff");
  CHECK(display_text("\x80") == "\\x80");
  CHECK(display_text("\xc3") == "\\xc3");
  CHECK(display_text("\xc3(") == "\\xc3(");
  CHECK(display_text("\xe2\x82") == "\\xe2\\x82");
  CHECK(display_text("\xc0\xaf") == "\\xc0\\xaf");
  CHECK(display_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");
  CHECK(display_text("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");
  CHECK(display_text("\xff\xc3\xa9") == "\\xff\xc3\xa9");
}

TEST_CASE("escape: display text of any byte string is valid UTF-8 and reads back to it", "[escape]") {
  // Every single byte, every pair, and pseudo-random strings over all byte values.
  std::vector<std::string> inputs;
  for (int a = 0; a < 256; ++a) {
    inputs.push_back(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; b += 3) inputs.push_back({static_cast<char>(a), static_cast<char>(b)});
  }
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int n = 0; n < 2000; ++n) {
    std::string s;
    for (int i = 0; i < 12; ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      s.push_back(static_cast<char>(x & 0xFF));
    }
    inputs.push_back(s);
  }
  for (const auto& s : inputs) {
    const std::string t = display_text(s);
    INFO("display text " << t);
    CHECK(undisplay(t) == s);
    // nlohmann's strict serializer accepts it: valid UTF-8, which the raw input often is not.
    CHECK_NOTHROW(nlohmann::json(t).dump());
    CHECK(std::none_of(t.begin(), t.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }));
  }
}

TEST_CASE("escape: JSON strings", "[escape]") {
  CHECK(json("") == R"("")");
  CHECK(json("example.org") == R"("example.org")");
  CHECK(json("a/b") == R"("a/b")");  // '/' may stay as is
  CHECK(json("say \"hi\"") == R"("say \"hi\"")");
  CHECK(json("C:\\dir") == R"("C:\\x5cdir")");
  CHECK(json("a\nb") == R"("a\\x0ab")");
  CHECK(json("caf\xc3\xa9") == "\"caf\xc3\xa9\"");
  CHECK(json("\xff") == R"("\\xff")");
  // The JSON string decodes to the display text, whatever the bytes.
  for (const char* s : {"caf\xc3\xa9", "\xff\"\\", "a\tb", "\xc2\x85"}) {
    CHECK(nlohmann::json::parse(json(s)).get<std::string>() == display_text(s));
  }
}

TEST_CASE("escape: CSV fields and HTML text hold the display text", "[escape]") {
  CHECK(csv("") == "");
  CHECK(csv("plain") == "plain");
  CHECK(csv("with space") == "with space");
  CHECK(csv("a,b") == "\"a,b\"");
  CHECK(csv("say \"hi\"") == "\"say \"\"hi\"\"\"");  // quotes doubled inside a quoted field
  CHECK(csv("\"") == "\"\"\"\"");
  // Line breaks are escaped, so they no longer need quoting.
  CHECK(csv("a\nb") == "a\\x0ab");
  CHECK(csv("a\tb") == "a\\x09b");
  CHECK(csv("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(csv("\xff,") == "\"\\xff,\"");
  CHECK(html("<a href='x'>&\"") == "&lt;a href=&#39;x&#39;&gt;&amp;&quot;");
  CHECK(html("caf\xc3\xa9\xff\\") == "caf\xc3\xa9\\xff\\x5c");
}

TEST_CASE("escape: reports as JSON text never throw on bytes that are not UTF-8", "[escape]") {
  nlohmann::ordered_json j;
  j["z_first"] = "x\xff";
  j["a_second"] = {"caf\xc3\xa9", 1.5, nullptr};
  j["by_file"]["cap\xfe.pcap"] = 3;
  CHECK_THROWS(j.dump());  // what happened before: an abort of the whole command
  const std::string text = json_text(j);
  const auto back = nlohmann::ordered_json::parse(text);
  CHECK(back.begin().key() == "z_first");  // order kept
  CHECK(back["z_first"] == "x\\xff");
  CHECK(back["a_second"][0] == "caf\xc3\xa9");
  CHECK(back["a_second"][1] == 1.5);
  CHECK(back["by_file"]["cap\\xfe.pcap"] == 3);
}

TEST_CASE("human_bytes: SI units, one decimal, the same in every summary", "[report]") {
  CHECK(sealscope::human_bytes(0) == "0 B");
  CHECK(sealscope::human_bytes(999) == "999 B");
  CHECK(sealscope::human_bytes(1000) == "1.0 kB");
  CHECK(sealscope::human_bytes(959800) == "959.8 kB");
  CHECK(sealscope::human_bytes(1489120) == "1.5 MB");
  CHECK(sealscope::human_bytes(171600000) == "171.6 MB");
  CHECK(sealscope::human_bytes(2100000000ull) == "2.1 GB");
  CHECK(sealscope::human_bytes(UINT64_MAX) == "18446.7 PB");
}
