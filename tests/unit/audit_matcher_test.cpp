// The Hyperscan matcher: block and stream mode (src/audit/matcher.*).
#include <catch2/catch.hpp>

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
