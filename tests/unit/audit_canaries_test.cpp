// Canary encodings and the canaries file (src/audit/canaries.*).
#include <catch2/catch.hpp>
#include <sodium.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <cstdlib>
#include <unistd.h>

#include "audit/canaries.hpp"
#include "common/errors.hpp"

using namespace sealscope;
using namespace sealscope::audit;

namespace {
std::string b64(const std::string& s) {
  std::string out(sodium_base64_ENCODED_LEN(s.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()), s.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}
std::string temp_file(const std::string& text) {
  char name[] = "/tmp/sealscope-canaries-XXXXXX";
  const int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(name, std::ios::binary) << text;
  return name;
}
}  // namespace

TEST_CASE("audit canaries: hex in both cases") {
  CHECK(to_hex("Az\x01", false) == "417a01");
  CHECK(to_hex("Az\x01", true) == "417A01");
}

TEST_CASE("audit canaries: the base64 core of each alignment appears in any base64 text that holds the canary") {
  const std::string canary = "meet me at the harbour";
  std::mt19937 rng(7);
  for (int align = 0; align < 3; ++align) {
    const std::string core = base64_core(canary, align);
    REQUIRE(core.size() >= canary.size());  // ~4/3 of the bytes, minus the partial characters at the edges
    for (int trial = 0; trial < 50; ++trial) {
      // Any prefix whose length leaves `align` bytes before the canary in its quantum, any suffix.
      std::string prefix(static_cast<size_t>(3 * (trial % 4) + align), '\0');
      for (char& c : prefix) c = static_cast<char>(rng());
      std::string suffix(static_cast<size_t>(trial % 5), '\0');
      for (char& c : suffix) c = static_cast<char>(rng());
      INFO("align " << align << " trial " << trial);
      CHECK(b64(prefix + canary + suffix).find(core) != std::string::npos);
    }
    // And not in the other alignments' encodings (they are different strings).
    const std::string other(static_cast<size_t>((align + 1) % 3), 'x');
    CHECK(b64(other + canary).find(core) == std::string::npos);
  }
}

TEST_CASE("audit canaries: UTF-16 from UTF-8, including a surrogate pair, invalid UTF-8 refused") {
  std::string le, be;
  REQUIRE(to_utf16("G\xC3\xBC", false, le));  // "Gü"
  CHECK(le == std::string("G\0\xFC\0", 4));
  REQUIRE(to_utf16("G\xC3\xBC", true, be));
  CHECK(be == std::string("\0G\0\xFC", 4));
  REQUIRE(to_utf16("\xF0\x9F\x98\x80", true, be));  // U+1F600
  CHECK(be == std::string("\xD8\x3D\xDE\x00", 4));
  CHECK_FALSE(to_utf16("\xC3", false, le));          // truncated sequence
  CHECK_FALSE(to_utf16("\xC0\xAF", false, le));      // overlong
  CHECK_FALSE(to_utf16("\xED\xA0\x80", false, le));  // a surrogate encoded in UTF-8
  CHECK_FALSE(to_utf16("\xF4\x90\x80\x80", true, be));  // above U+10FFFF
  CHECK_FALSE(to_utf16("a\xFF", false, le));         // a byte UTF-8 never uses
  REQUIRE(to_utf16("", false, le));
  CHECK(le.empty());
}

TEST_CASE("audit canaries: URL encodings") {
  CHECK(url_encode("a b/\xC3\xBC~", true, false) == "a%20b%2F%C3%BC~");
  CHECK(url_encode("a b/\xC3\xBC~", false, false) == "a%20b%2f%c3%bc~");
  CHECK(url_encode("a b/\xC3\xBC~", true, true) == "a+b%2F%C3%BC~");
}

TEST_CASE("audit canaries: every encoding of a canary, identical forms once") {
  const std::vector<Canary> cs = {{1, 1, "hello world/x"}, {2, 2, "plainword"}, {3, 3, "two words"}};
  const auto pats = encode_canaries(cs);
  int n[3] = {0, 0, 0};
  for (const auto& p : pats) ++n[p.canary];
  CHECK(n[0] == 11);  // raw, hex x2, base64 x3, utf-16 x2, url x3 (%2F/%2f and '+' make them differ)
  CHECK(n[1] == 8);   // no reserved character: the three URL forms equal the raw form
  CHECK(n[2] == 10);  // "%20" has no letter: upper and lower case URL forms are one
  for (const auto& p : pats) {
    for (const auto& q : pats) {
      if (&p != &q && p.canary == q.canary) CHECK(p.bytes != q.bytes);
    }
  }
}

TEST_CASE("audit canaries: the file format and its errors name file:line:column") {
  const std::string ok = temp_file("# a comment\n\nfirst canary\r\nsecond canary\n");
  const auto cs = load_canaries(ok);
  REQUIRE(cs.size() == 2);
  CHECK(cs[0].text == "first canary");  // CR dropped
  CHECK(cs[0].line == 3);
  CHECK(cs[1].index == 2);
  CHECK(cs[1].line == 4);
  std::remove(ok.c_str());

  // The error load_canaries gives for a file holding `text` (a test failure when it accepts it).
  struct Refusal {
    int line = 0, column = 0;
    std::string what;
  };
  auto refusal = [](const std::string& text) {
    const std::string path = temp_file(text);
    Refusal r;
    try {
      load_canaries(path);
      FAIL("accepted: a canaries file of " << text.size() << " bytes");
    } catch (const ConfigError& e) {
      r = {e.line(), e.column(), e.what()};
    }
    std::remove(path.c_str());
    return r;
  };
  const Refusal shortc = refusal("long enough\nabc\n");
  CHECK(shortc.line == 2);
  CHECK(shortc.column == 1);
  CHECK(shortc.what.find("at least 6") != std::string::npos);
  CHECK(refusal("# nothing\n").what.find("no canary") != std::string::npos);
  CHECK(refusal("").line == 1);  // an empty file: line 1, not 0
  CHECK_THROWS_AS(load_canaries("/nonexistent/canaries.txt"), InputError);

  // A UTF-8 byte-order mark (Windows editors) is not part of the first canary.
  const std::string bom = temp_file("\xEF\xBB\xBF" "first canary\r\nsecond canary\r\n");
  const auto cb = load_canaries(bom);
  REQUIRE(cb.size() == 2);
  CHECK(cb[0].text == "first canary");
  std::remove(bom.c_str());
  // UTF-16, with or without a byte-order mark, is refused at the line that shows it.
  const Refusal u16 = refusal(std::string("\xFF\xFE" "f\0i\0r\0s\0t\0 \0c\0a\0n\0a\0r\0y\0\n\0", 28));
  CHECK(u16.line == 1);
  CHECK(u16.what.find("UTF-16") != std::string::npos);
  const Refusal nul = refusal(std::string("# utf-16 without a mark\nf\0i\0r\0s\0t\0\n", 35));
  CHECK(nul.line == 2);
  CHECK(nul.column == 2);
  // Spaces around a canary would be searched with it (never matching: a false PASS): refused where they
  // start; a line of spaces and tabs only is blank.
  const Refusal trailing = refusal("# c\n \t \nSPLIT-CANARY-a7f3q9  \n");
  CHECK(trailing.line == 3);
  CHECK(trailing.column == 20);
  CHECK(trailing.what.find("ends with a space or tab") != std::string::npos);
  // Columns count characters: "Grüße-Kanarie" is 13 characters (15 bytes), the space after it column 14.
  const Refusal umlaut = refusal("Gr\xC3\xBC\xC3\x9F" "e-Kanarie \n");
  CHECK(umlaut.line == 1);
  CHECK(umlaut.column == 14);
  const Refusal leading = refusal("\tSPLIT-CANARY-a7f3q9\n");
  CHECK(leading.line == 1);
  CHECK(leading.column == 1);
  CHECK(leading.what.find("begins with a space or tab") != std::string::npos);
  const std::string inner = temp_file("  \nsecret phrase here\n\t\n");
  const auto ci = load_canaries(inner);
  REQUIRE(ci.size() == 1);
  CHECK(ci[0].text == "secret phrase here");  // spaces inside a canary are its own
  CHECK(ci[0].line == 2);
  std::remove(inner.c_str());
}
