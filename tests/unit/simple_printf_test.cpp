// simple_vsnprintf, the fast path of the sealscope executable's snprintf (src/cli/snprintf_interpose.cpp):
// byte for byte glibc's vsnprintf for the formats it takes, at every buffer size (the bytes after the
// terminator included), and nothing written for the ones it leaves to glibc. This executable does not
// carry the interposer, so std::snprintf here is glibc's own.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "common/simple_printf.hpp"

using sealscope::kNotSimple;

namespace {

constexpr size_t kBuf = 160;
constexpr unsigned char kFill = 0x5A;

// glibc's snprintf through a pointer: the formats are not literals (and some calls pass no arguments).
int (*const glibc)(char*, size_t, const char*, ...) = std::snprintf;
constexpr auto ours = sealscope::simple_snprintf;

/// Both functions on `fmt` and `args`, at every buffer size from 0 to two past the full length: the same
/// return value and the same 160 bytes of buffer (filled with kFill before each call).
template <class... A>
void same_as_glibc(const char* fmt, A... args) {
  char want[kBuf], got[kBuf];
  std::memset(want, kFill, kBuf);
  const int len = glibc(want, kBuf, fmt, args...);
  REQUIRE(len >= 0);
  REQUIRE(static_cast<size_t>(len) + 3 <= kBuf);
  for (size_t n = 0; n <= static_cast<size_t>(len) + 2; ++n) {
    std::memset(want, kFill, kBuf);
    std::memset(got, kFill, kBuf);
    const int r_want = glibc(want, n, fmt, args...);
    const int r_got = ours(got, n, fmt, args...);
    INFO("format \"" << fmt << "\", buffer " << n << ": glibc wrote \"" << std::string(want, strnlen(want, kBuf))
                     << "\", ours \"" << std::string(got, strnlen(got, kBuf)) << "\"");
    REQUIRE(r_got == r_want);
    REQUIRE(std::memcmp(got, want, kBuf) == 0);
  }
  // A null destination with size 0 only measures.
  REQUIRE(ours(nullptr, 0, fmt, args...) == len);
}

std::vector<unsigned> numbers() {
  std::vector<unsigned> v{0u,    1u,     9u,      10u,     15u,        16u,       99u,       100u,
                          255u,  256u,   999u,    4095u,   4096u,      65535u,    65536u,    99999u,
                          100000u, 123456789u, 1000000000u, 2147483647u, 2147483648u, 4294967295u};
  std::mt19937 rng(20261125);
  for (int i = 0; i < 300; ++i) v.push_back(static_cast<unsigned>(rng()) >> (rng() % 32));
  return v;
}

const char* const kStrings[] = {"", "-", ", ", "CN", "US", "Let's Encrypt Authority X3",
                                "a string of forty characters, give or ta"};

/// Nothing written at all, at any size: the call is glibc's.
template <class... A>
void not_simple(const char* fmt, A... args) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{8}, kBuf}) {
    char got[kBuf];
    std::memset(got, kFill, kBuf);
    INFO("format \"" << fmt << "\", buffer " << n);
    REQUIRE(ours(got, n, fmt, args...) == kNotSimple);
    for (size_t i = 0; i < kBuf; ++i) REQUIRE(static_cast<unsigned char>(got[i]) == kFill);
  }
}

}  // namespace

TEST_CASE("simple_vsnprintf writes nDPI's JA3 and fingerprint formats as glibc does, at every buffer size") {
  const auto values = numbers();
  for (const char* fmt : {"%u", "%u,", "%x", "%X", "%02x", "%02X", "%04X", "%2u", "%05u", "%0u", "%9x", "%1X"}) {
    for (unsigned v : values) same_as_glibc(fmt, v);
  }
  for (const char* s : kStrings) {
    for (unsigned v : values) {
      same_as_glibc("%s%u", s, v);  // nDPI's JA3 lists: "-" between numbers, "" before the first
      same_as_glibc("%s%04X", s, v);
    }
    same_as_glibc("%s", s);
    same_as_glibc("TLS (%04X)", 0x0303u);
    for (const char* t : kStrings) {
      same_as_glibc("%s%s", s, t);
      same_as_glibc("%s.%s", s, t);
      same_as_glibc("%s%s=%s", s, t, "Example Ltd");  // certificate names: ", CN=..."
    }
  }
  same_as_glibc(",");
  same_as_glibc("");
  same_as_glibc("no conversion at all");
  same_as_glibc("-%u-%x-%X-", 4294967295u, 0xabcdefu, 0xabcdefu);
  same_as_glibc("%u%u%u%u%u%u%u%u%u", 1u, 22u, 333u, 4444u, 55555u, 666666u, 7777777u, 88888888u, 999999999u);
}

TEST_CASE("simple_vsnprintf makes results up to kSimpleMax bytes and leaves longer ones to glibc") {
  const std::string exact(sealscope::kSimpleMax, 'a'), over(sealscope::kSimpleMax + 1, 'a');
  std::vector<char> buf(sealscope::kSimpleMax + 8, 'z');
  REQUIRE(ours(buf.data(), buf.size(), "%s", exact.c_str()) == static_cast<int>(sealscope::kSimpleMax));
  REQUIRE(std::string(buf.data()) == exact);
  REQUIRE(ours(buf.data(), buf.size(), exact.c_str()) == static_cast<int>(sealscope::kSimpleMax));
  REQUIRE(ours(buf.data(), buf.size(), "%s%u", exact.c_str(), 0u) == kNotSimple);
  REQUIRE(ours(buf.data(), buf.size(), "%s%02x", exact.substr(1).c_str(), 0x1au) == kNotSimple);  // 257
  REQUIRE(ours(buf.data(), buf.size(), "%s", exact.substr(1).c_str()) == static_cast<int>(sealscope::kSimpleMax) - 1);
  std::fill(buf.begin(), buf.end(), 'z');
  for (const std::string& text : {over, std::string("%s") + exact}) {
    INFO(text.size() << " characters of format");
    REQUIRE(ours(buf.data(), buf.size(), text.c_str(), "!") == kNotSimple);
    for (char c : buf) REQUIRE(c == 'z');
  }
}

TEST_CASE("simple_vsnprintf leaves every other format to glibc, having written nothing") {
  not_simple("%d", 5);
  not_simple("%i", 5);
  not_simple("%c", 'a');
  not_simple("%%");
  not_simple("100%%", 0);
  not_simple("%lu", 5ul);
  not_simple("%zu", size_t{5});
  not_simple("%hhu", 5u);
  not_simple("%-2u", 5u);
  not_simple("%+u", 5u);
  not_simple("% u", 5u);
  not_simple("%#x", 5u);
  not_simple("%.2u", 5u);
  not_simple("%*u", 3, 5u);
  not_simple("%10u", 5u);  // two-digit widths
  not_simple("%00u", 5u);
  not_simple("%5s", "ab");
  not_simple("%02s", "ab");
  not_simple("%f", 1.5);
  not_simple("%p", static_cast<void*>(nullptr));
  not_simple("%");
  not_simple("%0");
  not_simple("%2");
  not_simple("%u then %d", 1u, 2);  // a later conversion decides, before anything is written
  // glibc writes "(null)" for a null %s.
  not_simple("%s", static_cast<const char*>(nullptr));
  not_simple("%s%u", static_cast<const char*>(nullptr), 1u);
}

TEST_CASE("simple_vsnprintf leaves a %s argument that overlaps the destination to glibc") {
  char buf[64];
  std::memset(buf, kFill, sizeof buf);
  std::memcpy(buf, "abc", 4);  // "abc" and its terminator in buf[0..3]
  REQUIRE(ours(buf + 1, 10, "%s-", buf) == kNotSimple);  // the source runs into the destination
  REQUIRE(ours(buf, 10, "x%s", buf + 2) == kNotSimple);  // the source starts inside it
  REQUIRE(ours(buf + 3, 10, "%s", buf) == kNotSimple);   // only the terminator is in the destination
  REQUIRE(std::memcmp(buf, "abc", 4) == 0);
  for (size_t i = 4; i < sizeof buf; ++i) REQUIRE(static_cast<unsigned char>(buf[i]) == kFill);
  // Right after the terminator: no overlap, written here, as glibc writes it.
  REQUIRE(ours(buf + 4, 10, "%s-", buf) == 4);
  REQUIRE(std::string(buf + 4) == "abc-");
  // Size 0 writes nothing, so nothing can overlap.
  REQUIRE(ours(buf, 0, "%s", buf) == 3);
}
