// Sharding of frames across workers (analyze::shard_hash): symmetric, and by subscriber when one side is
// private.
#include <catch2/catch.hpp>

#include "analyze/analyzer.hpp"

using namespace sealscope;

namespace {
IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t x[4] = {a, b, c, d};
  return IpAddr::v4(x);
}
decode::Packet pkt(const IpAddr& s, const IpAddr& d, uint16_t vlan = decode::kNoVlan) {
  decode::Packet p;
  p.src = s;
  p.dst = d;
  p.vlan = vlan;
  return p;
}
}  // namespace

TEST_CASE("shard: private address classes") {
  CHECK(analyze::private_side(v4(10, 1, 2, 3)));
  CHECK(analyze::private_side(v4(172, 31, 0, 1)));
  CHECK_FALSE(analyze::private_side(v4(172, 32, 0, 1)));
  CHECK(analyze::private_side(v4(192, 168, 9, 9)));
  CHECK_FALSE(analyze::private_side(v4(192, 169, 9, 9)));
  CHECK(analyze::private_side(v4(100, 64, 0, 1)));
  CHECK_FALSE(analyze::private_side(v4(100, 128, 0, 1)));
  CHECK(analyze::private_side(v4(169, 254, 1, 1)));
  CHECK_FALSE(analyze::private_side(v4(8, 8, 8, 8)));
  uint8_t ula[16] = {0xfd, 0x12}, ll[16] = {0xfe, 0x80}, glob[16] = {0x20, 0x01, 0x0d, 0xb8};
  CHECK(analyze::private_side(IpAddr::v6(ula)));
  CHECK(analyze::private_side(IpAddr::v6(ll)));
  CHECK_FALSE(analyze::private_side(IpAddr::v6(glob)));
}

TEST_CASE("shard: symmetric, a subscriber's flows to any server meet, public pairs spread") {
  const IpAddr client = v4(192, 168, 1, 20), a = v4(31, 13, 64, 51), b = v4(157, 240, 1, 1), c = v4(8, 8, 4, 4);
  CHECK(analyze::shard_hash(pkt(client, a)) == analyze::shard_hash(pkt(a, client)));
  CHECK(analyze::shard_hash(pkt(client, a)) == analyze::shard_hash(pkt(b, client)));  // same subscriber
  CHECK(analyze::shard_hash(pkt(client, a)) != analyze::shard_hash(pkt(v4(192, 168, 1, 21), a)));
  CHECK(analyze::shard_hash(pkt(client, a)) != analyze::shard_hash(pkt(client, a, 7)));  // VLAN counts
  // Two public hosts: by the pair, symmetric.
  CHECK(analyze::shard_hash(pkt(a, c)) == analyze::shard_hash(pkt(c, a)));
  CHECK(analyze::shard_hash(pkt(a, c)) != analyze::shard_hash(pkt(b, c)));
  // Two private hosts (LAN): by the pair.
  const IpAddr lan = v4(10, 0, 0, 5);
  CHECK(analyze::shard_hash(pkt(client, lan)) == analyze::shard_hash(pkt(lan, client)));
  CHECK(analyze::shard_hash(pkt(client, lan)) != analyze::shard_hash(pkt(client, v4(10, 0, 0, 6))));
  // Many subscribers spread over two workers about evenly.
  int lane1 = 0;
  for (int i = 0; i < 1000; ++i) {
    lane1 += analyze::shard_hash(pkt(v4(10, 8, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)), a)) % 2;
  }
  CHECK(lane1 > 420);
  CHECK(lane1 < 580);
}
