// JSON string and CSV field escaping (report/text_escape): RFC 8259 §7 and RFC 4180 §2, plus the
// documented choices: bytes outside printable ASCII become \u00XX in JSON and \xNN in CSV. Also the one
// byte-count formatter the text summaries share.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

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
bool printable_ascii(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}
}  // namespace

TEST_CASE("escape: JSON strings", "[escape]") {
  CHECK(json("") == R"("")");
  CHECK(json("example.org") == R"("example.org")");
  CHECK(json("a/b") == R"("a/b")");  // '/' may stay as is
  CHECK(json("say \"hi\"") == R"("say \"hi\"")");
  CHECK(json("C:\\dir") == R"("C:\\dir")");
  CHECK(json("\\\"") == R"("\\\"")");
  // Control bytes: \u00XX, lower-case hex.
  CHECK(json("a\nb") == R"("a\u000ab")");
  CHECK(json("\t\r") == R"("\u0009\u000d")");
  CHECK(json(std::string_view("\0", 1)) == R"("\u0000")");
  CHECK(json("\x1f") == R"("\u001f")");
  CHECK(json("\x7f") == R"("\u007f")");
  // Bytes >= 0x80 one by one (é in UTF-8 is C3 A9).
  CHECK(json("caf\xc3\xa9") == R"("caf\u00c3\u00a9")");
  CHECK(json("\xff") == R"("\u00ff")");
}

TEST_CASE("escape: JSON output is printable ASCII for every byte value", "[escape]") {
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const std::string out = json(std::string_view(&ch, 1));
    INFO("byte " << c);
    CHECK(printable_ascii(out));
    CHECK(out.front() == '"');
    CHECK(out.back() == '"');
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      CHECK(out.size() == 3);  // passed through
    } else if (c == '"' || c == '\\') {
      CHECK(out.size() == 4);  // \" or \\ (two bytes inside the quotes)
    } else {
      CHECK(out.size() == 8);  // \u00XX
      CHECK(out.substr(1, 4) == "\\u00");
      CHECK(std::stoi(out.substr(5, 2), nullptr, 16) == c);
    }
  }
}

TEST_CASE("escape: CSV fields", "[escape]") {
  CHECK(csv("") == "");
  CHECK(csv("plain") == "plain");
  CHECK(csv("with space") == "with space");
  CHECK(csv("a,b") == "\"a,b\"");
  CHECK(csv("say \"hi\"") == "\"say \"\"hi\"\"\"");  // quotes doubled inside a quoted field
  CHECK(csv("\"") == "\"\"\"\"");
  // Line breaks force quoting; control bytes themselves become \xNN.
  CHECK(csv("a\nb") == "\"a\\x0ab\"");
  CHECK(csv("a\rb") == "\"a\\x0db\"");
  CHECK(csv("a\tb") == "a\\x09b");
  CHECK(csv("caf\xc3\xa9") == "caf\\xc3\\xa9");
  CHECK(csv("\x7f") == "\\x7f");
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
