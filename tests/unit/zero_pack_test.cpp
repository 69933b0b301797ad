// Zero packing (common/zero_pack.hpp), used for parked nDPI flow state: every block comes back byte for
// byte, zeros cost nothing but their map bits, and damaged input is refused rather than read past.
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "common/zero_pack.hpp"

using namespace sealscope;

namespace {
std::vector<uint8_t> packed(const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out(zero_pack::bound(in.size()));
  out.resize(zero_pack::pack(in.data(), in.size(), out.data()));
  return out;
}
}  // namespace

TEST_CASE("zero pack: random sparse blocks of every awkward length come back byte for byte", "[zero_pack]") {
  std::mt19937 rng(42);
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{63}, size_t{64}, size_t{65},
                   size_t{688}, size_t{1001}}) {
    for (int density : {0, 5, 50, 100}) {  // per cent of non-zero bytes
      CAPTURE(n, density);
      std::vector<uint8_t> in(n);
      size_t nonzero = 0;
      for (auto& b : in) {
        if (static_cast<int>(rng() % 100) < density) {
          b = static_cast<uint8_t>(1 + rng() % 255);
          ++nonzero;
        }
      }
      const std::vector<uint8_t> p = packed(in);
      CHECK(p.size() <= zero_pack::bound(n));
      const size_t words = (n + 7) / 8, map = (words + 7) / 8;
      if (nonzero == 0) CHECK(p.size() == map);  // an all-zero block is its map only
      CHECK(p.size() >= map + nonzero);
      std::vector<uint8_t> back(n, 0xAA);  // dirty: unpack must write every byte
      REQUIRE(zero_pack::unpack(p.data(), p.size(), back.data(), n));
      CHECK(back == in);
      // Every shorter input is refused, and read only within its length (ASan checks the copy's bounds).
      bool refused = true;
      for (size_t k = 0; k < p.size(); ++k) {
        const std::vector<uint8_t> cut(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(k));
        refused = refused && !zero_pack::unpack(cut.data(), cut.size(), back.data(), n);
      }
      CHECK(refused);
    }
  }
}

TEST_CASE("zero pack: exact sizes for a known block", "[zero_pack]") {
  // 24 bytes = 3 words: word 0 has bytes 0 and 7 set, word 1 is zero, word 2 has byte 2 set.
  std::vector<uint8_t> in(24, 0);
  in[0] = 0x11;
  in[7] = 0x22;
  in[18] = 0x33;
  const std::vector<uint8_t> p = packed(in);
  CHECK(p == std::vector<uint8_t>{0x05, 0x81, 0x11, 0x22, 0x04, 0x33});
}

TEST_CASE("zero pack: damaged input is refused", "[zero_pack]") {
  std::vector<uint8_t> in(40, 0);
  in[3] = 9;
  in[33] = 4;
  const std::vector<uint8_t> p = packed(in);
  std::vector<uint8_t> out(40);
  REQUIRE(zero_pack::unpack(p.data(), p.size(), out.data(), out.size()));
  SECTION("cut short") { CHECK_FALSE(zero_pack::unpack(p.data(), p.size() - 1, out.data(), out.size())); }
  SECTION("a byte left over") {
    std::vector<uint8_t> q = p;
    q.push_back(1);
    CHECK_FALSE(zero_pack::unpack(q.data(), q.size(), out.data(), out.size()));
  }
  SECTION("map bit past the last word") {
    std::vector<uint8_t> q = p;
    q[0] |= 0x80;  // 5 words: bits 5..7 must be clear
    CHECK_FALSE(zero_pack::unpack(q.data(), q.size(), out.data(), out.size()));
  }
  SECTION("a word marked present with an empty byte mask") {
    std::vector<uint8_t> q = p;
    q[1] = 0;
    CHECK_FALSE(zero_pack::unpack(q.data(), q.size(), out.data(), out.size()));
  }
  SECTION("mask bits past the end of a short last word") {
    std::vector<uint8_t> odd(13, 0);
    odd[12] = 7;  // last word has 5 bytes
    std::vector<uint8_t> q = packed(odd);
    REQUIRE(q == std::vector<uint8_t>{0x02, 0x10, 7});  // map: word 1; its mask: byte 4; the byte
    q[1] |= 0x80;  // byte 7 of a 5-byte word
    std::vector<uint8_t> o(13);
    CHECK_FALSE(zero_pack::unpack(q.data(), q.size(), o.data(), o.size()));
  }
}
