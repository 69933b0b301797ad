// WhatsApp chat connection start (see the facts and sources in classify/whatsapp_wire.hpp). Streams are
// built here: "ED\0\1" + 3-byte length + routing protobuf, "WA" + 2 bytes, then 3-byte-length frames
// holding a protobuf HandshakeMessage.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "classify/whatsapp_wire.hpp"

using namespace sealscope::classify;

namespace {

using Bytes = std::vector<uint8_t>;

void append(Bytes& b, const Bytes& x) { b.insert(b.end(), x.begin(), x.end()); }

void put24(Bytes& b, std::size_t v) {
  b.push_back(static_cast<uint8_t>(v >> 16));
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

void varint(Bytes& b, std::size_t v) {
  while (v >= 0x80) {
    b.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  b.push_back(static_cast<uint8_t>(v));
}

/// Length-delimited protobuf field.
Bytes pb(uint8_t field, const Bytes& value) {
  Bytes b{static_cast<uint8_t>(field << 3 | 2)};
  varint(b, value.size());
  append(b, value);
  return b;
}

Bytes filled(std::size_t n, uint8_t start) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(start + i * 7);
  return b;
}

/// HandshakeMessage{field outer: hello{1: ephemeral, [2: static(48)], [3: payload]}} as a frame.
Bytes hello_frame(uint8_t outer, bool ik, std::size_t payload = 120, std::size_t eph = 32, std::size_t stat = 48) {
  Bytes hello = pb(1, filled(eph, 0x11));
  if (ik) {
    append(hello, pb(2, filled(stat, 0x22)));
    if (payload > 0) append(hello, pb(3, filled(payload, 0x33)));
  }
  const Bytes msg = pb(outer, hello);
  Bytes f;
  put24(f, msg.size());
  append(f, msg);
  return f;
}

Bytes wa_header(uint8_t magic, uint8_t dict) { return {'W', 'A', magic, dict}; }

Bytes edge_prefix(const Bytes& routing = {0x08, 0x0d, 0x08, 0x0c}) {
  Bytes b = {'E', 'D', 0x00, 0x01};
  put24(b, routing.size());
  append(b, routing);
  return b;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) append(out, p);
  return out;
}

void check_prefixes_need_more(const Bytes& s) {
  for (std::size_t len = 0; len < s.size(); ++len) {
    INFO("prefix length " << len);
    CHECK(parse_whatsapp_stream_start(s.data(), len).status == WaWireStatus::NeedMore);
  }
}

}  // namespace

TEST_CASE("WhatsApp edge-routed Noise IK start", "[classify][whatsapp]") {
  const Bytes s = cat({edge_prefix(), wa_header(6, 3), hello_frame(2, true)});
  auto r = parse_whatsapp_stream_start(s.data(), s.size());
  REQUIRE(r.status == WaWireStatus::Match);
  CHECK(r.form == WaWireForm::EdgeRouted);
  CHECK(r.handshake == WaHandshake::NoiseIK);
  CHECK(r.routing_len == 4);
  CHECK(r.wa_magic == 6);
  CHECK(r.wa_dict == 3);
  CHECK(r.bytes_used == s.size());
  check_prefixes_need_more(s);
}

TEST_CASE("WhatsApp plain Noise XX start", "[classify][whatsapp]") {
  const Bytes s = cat({wa_header(5, 2), hello_frame(2, false)});
  REQUIRE(s.size() == 4 + 3 + 36);
  auto r = parse_whatsapp_stream_start(s.data(), s.size());
  REQUIRE(r.status == WaWireStatus::Match);
  CHECK(r.form == WaWireForm::Plain);
  CHECK(r.handshake == WaHandshake::NoiseXX);
  CHECK(r.first_frame_len == 36);
  check_prefixes_need_more(s);
  SECTION("bytes after the first frame are allowed") {
    const Bytes more = cat({s, Bytes{0x00, 0x00, 0x10}});
    CHECK(parse_whatsapp_stream_start(more.data(), more.size()).status == WaWireStatus::Match);
  }
}

TEST_CASE("WhatsApp 2015-era FunXMPP start", "[classify][whatsapp]") {
  Bytes frame = {0xf8, 0x05, 0x01, 0xa5, 0x91};
  frame.resize(26, 0x41);
  Bytes s = wa_header(1, 5);
  put24(s, frame.size());
  append(s, frame);
  auto r = parse_whatsapp_stream_start(s.data(), s.size());
  REQUIRE(r.status == WaWireStatus::Match);
  CHECK(r.handshake == WaHandshake::LegacyFunXmpp);
  check_prefixes_need_more(s);
  Bytes bad = s;
  bad[7] = 0x12;  // not a FunXMPP list token
  CHECK(parse_whatsapp_stream_start(bad.data(), bad.size()).status == WaWireStatus::NoMatch);
}

TEST_CASE("WhatsApp start split over segments", "[classify][whatsapp]") {
  const Bytes s = cat({edge_prefix(), wa_header(5, 2), hello_frame(2, true, 200)});
  WaStreamPrefix acc;
  // "ED\0\1" alone, then the routing + header, then the frame in two pieces.
  const std::size_t cuts[] = {4, 15, 60, s.size()};
  std::size_t prev = 0;
  for (std::size_t c : cuts) {
    REQUIRE(acc.append(s.data() + prev, c - prev));
    prev = c;
    auto r = parse_whatsapp_stream_start(acc.data(), acc.size());
    CHECK(r.status == (c == s.size() ? WaWireStatus::Match : WaWireStatus::NeedMore));
  }
  acc.clear();
  CHECK(acc.size() == 0);
}

TEST_CASE("WhatsApp prefix buffer caps at its capacity", "[classify][whatsapp]") {
  WaStreamPrefix acc;
  const Bytes big(WaStreamPrefix::kCapacity + 10, 0x00);
  CHECK_FALSE(acc.append(big.data(), big.size()));
  CHECK(acc.full());
  CHECK(acc.size() == WaStreamPrefix::kCapacity);
}

TEST_CASE("WhatsApp start: structure violations are rejected", "[classify][whatsapp]") {
  const Bytes good = cat({edge_prefix(), wa_header(5, 2), hello_frame(2, true)});
  auto expect_no = [](const Bytes& s) {
    CHECK(parse_whatsapp_stream_start(s.data(), s.size()).status == WaWireStatus::NoMatch);
  };
  SECTION("wrong edge marker") {
    Bytes s = good;
    s[3] = 0x02;
    expect_no(s);
  }
  SECTION("zero-length routing info") {
    expect_no(cat({edge_prefix({}), wa_header(5, 2), hello_frame(2, true)}));
  }
  SECTION("routing info that is not a protobuf message") {
    expect_no(cat({edge_prefix({0xff, 0xff, 0xff, 0xff}), wa_header(5, 2), hello_frame(2, true)}));
  }
  SECTION("missing WA header") {
    Bytes s = good;
    s[11] = 'B';
    expect_no(s);
  }
  SECTION("magic byte zero") {
    expect_no(cat({wa_header(0, 2), hello_frame(2, false)}));
  }
  SECTION("first frame is a server hello") {
    expect_no(cat({wa_header(5, 2), hello_frame(3, false)}));
  }
  SECTION("ephemeral key of 31 bytes") {
    expect_no(cat({wa_header(5, 2), hello_frame(2, true, 120, 31)}));
  }
  SECTION("sealed static of 47 bytes") {
    expect_no(cat({wa_header(5, 2), hello_frame(2, true, 120, 32, 47)}));
  }
  SECTION("frame length larger than the protobuf inside") {
    Bytes s = cat({wa_header(5, 2), hello_frame(2, false)});
    s.push_back(0);
    s[6] = static_cast<uint8_t>(s[6] + 1);  // frame length 37, protobuf says 36
    expect_no(s);
  }
  SECTION("frame too small for an ephemeral key") {
    Bytes s = wa_header(5, 2);
    put24(s, 10);
    append(s, Bytes(10, 0x12));
    expect_no(s);
  }
  SECTION("TLS and HTTP streams") {
    expect_no(Bytes{0x16, 0x03, 0x01, 0x02, 0x00, 0x01});
    const std::string http = "GET / HTTP/1.1\r\n";
    expect_no(Bytes(http.begin(), http.end()));
    expect_no(Bytes{'W', 'X'});
    expect_no(Bytes{'E', 'D', 0x01});
  }
}

TEST_CASE("WhatsApp server hello frame", "[classify][whatsapp]") {
  const Bytes f = hello_frame(3, true, 300);
  CHECK(parse_whatsapp_server_hello(f.data(), f.size()) == WaWireStatus::Match);
  for (std::size_t len = 0; len < f.size(); ++len)
    CHECK(parse_whatsapp_server_hello(f.data(), len) == WaWireStatus::NeedMore);
  const Bytes c = hello_frame(2, true);
  CHECK(parse_whatsapp_server_hello(c.data(), c.size()) == WaWireStatus::NoMatch);
  const Bytes short_static = hello_frame(3, true, 0, 32, 16);  // resumption answer: 16-byte field 2
  CHECK(parse_whatsapp_server_hello(short_static.data(), short_static.size()) == WaWireStatus::Match);
  const Bytes tiny_static = hello_frame(3, true, 20, 32, 15);
  CHECK(parse_whatsapp_server_hello(tiny_static.data(), tiny_static.size()) == WaWireStatus::NoMatch);
  Bytes bad = f;
  bad[5] = 0x0b;  // second byte of the outer length varint: lengths no longer agree
  CHECK(parse_whatsapp_server_hello(bad.data(), bad.size()) == WaWireStatus::NoMatch);
}
