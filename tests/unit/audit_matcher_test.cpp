// The Hyperscan matcher: block and stream mode (src/audit/matcher.*).
#include <catch2/catch.hpp>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "audit/canaries.hpp"
#include "audit/matcher.hpp"

using namespace sealscope::audit;

namespace {
struct Found {
  std::vector<std::pair<uint32_t, uint64_t>> hits;  // pattern, end
  static void cb(void* ctx, uint32_t p, uint64_t end) { static_cast<Found*>(ctx)->hits.emplace_back(p, end); }
};
const uint8_t* u8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }
}  // namespace

TEST_CASE("audit matcher: each encoded form is found in a block, at its end offset") {
  const std::vector<Canary> cs = {{1, 1, "secret message one"}};
  Matcher m(encode_canaries(cs));
  for (uint32_t i = 0; i < m.patterns().size(); ++i) {
    const std::string block = "xx" + m.patterns()[i].bytes + "yy";
    Found f;
    m.scan(u8(block), block.size(), &Found::cb, &f);
    INFO(encoding_name(m.patterns()[i].encoding));
    bool seen = false;
    for (auto [p, end] : f.hits) seen |= p == i && end == 2 + m.patterns()[i].bytes.size();
    CHECK(seen);
  }
  Found none;
  const std::string clean = "secret message on3 and nothing else";
  m.scan(u8(clean), clean.size(), &Found::cb, &none);
  CHECK(none.hits.empty());
}

TEST_CASE("audit matcher: a stream finds a canary split across feeds, a reset forgets the first part") {
  const std::vector<Canary> cs = {{1, 1, "split-canary-7f3a"}};
  Matcher m(encode_canaries(cs));
  const std::string a = "....split-can", b = "ary-7f3a....";
  Matcher::Stream s;
  Found f;
  s.feed(m, u8(a), a.size(), &Found::cb, &f);
  CHECK(f.hits.empty());
  s.feed(m, u8(b), b.size(), &Found::cb, &f);
  REQUIRE(f.hits.size() == 1);
  CHECK(m.patterns()[f.hits[0].first].encoding == Encoding::Raw);
  CHECK(f.hits[0].second == 4 + cs[0].text.size());  // end offset counted from the stream's start
  s.close(&Found::cb, &f);

  Matcher::Stream t;
  Found g;
  t.feed(m, u8(a), a.size(), &Found::cb, &g);
  t.reset(&Found::cb, &g);  // a gap in the stream
  t.feed(m, u8(b), b.size(), &Found::cb, &g);
  t.close(&Found::cb, &g);
  CHECK(g.hits.empty());
}

TEST_CASE("audit matcher: a block or stream feed that ends at the last byte of a mapped page is scanned safely") {
  // Hyperscan 5.4 reads past the end of its buffer on AVX512VBMI CPUs (found by fuzz_audit as a SEGV):
  // every buffer here ends right before a page that is not readable, so without Matcher's padded copy this
  // test dies on such a CPU. It checks the matches as well, so the copy must not change what is found.
  const std::vector<Canary> cs = {{1, 1, "canary-fuzz-1"}, {2, 2, "Grüße canary"}};
  Matcher m(encode_canaries(cs));
  const long page = ::sysconf(_SC_PAGESIZE);
  auto* base = static_cast<uint8_t*>(
      ::mmap(nullptr, 2 * static_cast<size_t>(page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(base != MAP_FAILED);
  REQUIRE(::mprotect(base + page, static_cast<size_t>(page), PROT_NONE) == 0);
  uint8_t* const end = base + page;
  // Bytes like the fuzzer's: a repeated letter, then varied bytes, then the raw canary at the very end.
  std::string text(100, 'H');
  for (int i = 0; i < 200; ++i) text.push_back(static_cast<char>((i * 151 + 7) & 0xFF));
  text += "canary-fuzz-1";
  uint64_t found_at_end = 0;
  for (size_t len = 1; len <= text.size(); ++len) {
    uint8_t* p = end - len;
    std::memcpy(p, text.data() + text.size() - len, len);
    Found f;
    m.scan(p, len, &Found::cb, &f);
    Matcher::Stream s;
    Found g;
    s.feed(m, p, len, &Found::cb, &g);
    s.close(&Found::cb, &g);
    const bool whole = len >= 13;  // the canary fits
    bool block_hit = false, stream_hit = false;
    for (auto [pat, e] : f.hits) block_hit |= m.patterns()[pat].encoding == Encoding::Raw && e == len;
    for (auto [pat, e] : g.hits) stream_hit |= m.patterns()[pat].encoding == Encoding::Raw && e == len;
    CHECK(block_hit == whole);
    CHECK(stream_hit == whole);
    found_at_end += block_hit;
  }
  CHECK(found_at_end == text.size() - 12);
  ::munmap(base, 2 * static_cast<size_t>(page));
}
