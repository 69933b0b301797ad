// STUN/TURN structure parsing. The three sample messages are the public test vectors of RFC 5769
// §2.1-2.3; the rest are built here attribute by attribute from RFC 5389/8489, RFC 3489 and RFC 8656.
#include <catch2/catch.hpp>

#include <cctype>
#include <string>
#include <vector>

#include "classify/crypto.hpp"
#include "classify/stun.hpp"

using namespace sealscope::classify;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes hex(const std::string& s) {
  Bytes out;
  std::string digits;
  for (char c : s)
    if (std::isxdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  return out;
}

// RFC 5769 §2.1 sample request (SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MESSAGE-INTEGRITY, FINGERPRINT).
const Bytes kRequest = hex(
    "00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74"
    "00 24 00 04 6e 00 01 ff 80 29 00 08 93 2f f9 b1 51 26 3b 36"
    "00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20"
    "00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2"
    "80 28 00 04 e5 7a 3b cf");
// RFC 5769 §2.2 IPv4 response: XOR-MAPPED-ADDRESS 192.0.2.1:32853.
const Bytes kResponse4 = hex(
    "01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 08 00 01 a1 47 e1 12 a6 43"
    "00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7"
    "80 28 00 04 c0 7d 4c 96");
// RFC 5769 §2.3 IPv6 response: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853.
const Bytes kResponse6 = hex(
    "01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9"
    "00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41"
    "80 28 00 04 c8 fb 0b 4c");

/// Builds an RFC 5389 message: type, cookie, fixed transaction id, attributes (padded with zeros),
/// optionally a FINGERPRINT computed over the message.
struct StunBuilder {
  uint16_t type = 0x0001;
  bool cookie = true;
  Bytes attrs;
  StunBuilder& attr(uint16_t t, const Bytes& v) {
    attrs.push_back(static_cast<uint8_t>(t >> 8));
    attrs.push_back(static_cast<uint8_t>(t));
    attrs.push_back(static_cast<uint8_t>(v.size() >> 8));
    attrs.push_back(static_cast<uint8_t>(v.size()));
    attrs.insert(attrs.end(), v.begin(), v.end());
    while (attrs.size() % 4 != 0) attrs.push_back(0);
    return *this;
  }
  StunBuilder& text(uint16_t t, const std::string& s) { return attr(t, Bytes(s.begin(), s.end())); }
  Bytes build(bool fingerprint = false) const {
    Bytes m = {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 0};
    if (cookie) {
      for (uint8_t b : {0x21, 0x12, 0xA4, 0x42}) m.push_back(b);
      for (int i = 0; i < 12; ++i) m.push_back(static_cast<uint8_t>(0x10 + i));
    } else {
      for (int i = 0; i < 16; ++i) m.push_back(static_cast<uint8_t>(0x30 + i));
    }
    m.insert(m.end(), attrs.begin(), attrs.end());
    std::size_t len = attrs.size() + (fingerprint ? 8 : 0);
    m[2] = static_cast<uint8_t>(len >> 8);
    m[3] = static_cast<uint8_t>(len);
    if (fingerprint) {
      uint32_t crc = 0;
      REQUIRE(crypto::crc32(m.data(), m.size(), crc));
      crc ^= kStunFingerprintXor;
      for (uint8_t b : {0x80, 0x28, 0x00, 0x04}) m.push_back(b);
      for (int i = 3; i >= 0; --i) m.push_back(static_cast<uint8_t>(crc >> (8 * i)));
    }
    return m;
  }
};

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

TEST_CASE("CRC-32 for STUN fingerprints: the catalogue check value", "[classify][stun]") {
  // CRC-32/ISO-HDLC of "123456789" is 0xCBF43926; a CRC with another polynomial, reflection or final XOR,
  // or the digest's bytes read in the wrong order, gives another value.
  const std::string s = "123456789";
  uint32_t crc = 0;
  REQUIRE(crypto::crc32(s.data(), s.size(), crc));
  CHECK(crc == 0xCBF43926u);
  REQUIRE(crypto::crc32(s.data(), 0, crc));
  CHECK(crc == 0u);
}

TEST_CASE("STUN RFC 5769 sample request", "[classify][stun]") {
  auto m = parse_stun(kRequest.data(), kRequest.size());
  REQUIRE(m);
  CHECK_FALSE(m->classic);
  CHECK(m->method == 1);
  CHECK(m->klass == StunClass::Request);
  CHECK(m->message_size == 108);
  CHECK(m->transaction_id_len == 12);
  CHECK(m->transaction_id[0] == 0xb7);
  CHECK(m->has_software);
  CHECK(std::string(m->software.data()) == "STUN test client");
  CHECK(m->has_username);
  CHECK(m->username_len == 9);
  CHECK(std::string(m->username.data()) == "evtj:h6vY");
  CHECK(m->username_has_colon);
  CHECK(m->has_priority);
  CHECK(m->has_ice_controlled);
  CHECK_FALSE(m->has_ice_controlling);
  CHECK(m->has_message_integrity);
  CHECK(m->has_fingerprint);
  CHECK(m->fingerprint_valid);
  CHECK(m->attr_count == 6);
  CHECK(m->attr_type_count == 6);
  CHECK(m->attr_types[0] == stun_attr::kSoftware);
  CHECK(m->has_attr(stun_attr::kIceControlled));
  CHECK_FALSE(m->has_attr(stun_attr::kRealm));
}

TEST_CASE("STUN RFC 5769 responses give the mapped addresses", "[classify][stun]") {
  auto r4 = parse_stun(kResponse4.data(), kResponse4.size());
  REQUIRE(r4);
  CHECK(r4->klass == StunClass::SuccessResponse);
  CHECK(r4->method == 1);
  CHECK(std::string(r4->software.data()) == "test vector");
  REQUIRE(r4->xor_mapped.present);
  CHECK(r4->xor_mapped.family == 1);
  CHECK(r4->xor_mapped.port == 32853);
  CHECK(Bytes(r4->xor_mapped.addr.begin(), r4->xor_mapped.addr.begin() + 4) == Bytes{192, 0, 2, 1});
  CHECK(r4->fingerprint_valid);

  auto r6 = parse_stun(kResponse6.data(), kResponse6.size());
  REQUIRE(r6);
  REQUIRE(r6->xor_mapped.present);
  CHECK(r6->xor_mapped.family == 2);
  CHECK(r6->xor_mapped.port == 32853);
  CHECK(Bytes(r6->xor_mapped.addr.begin(), r6->xor_mapped.addr.end()) ==
        hex("20010db8123456780011223344556677"));
  CHECK(r6->fingerprint_valid);
}

TEST_CASE("STUN: every truncated prefix is rejected", "[classify][stun]") {
  for (const Bytes* v : {&kRequest, &kResponse4, &kResponse6}) {
    for (std::size_t len = 0; len < v->size(); ++len) {
      CHECK_FALSE(parse_stun(v->data(), len));
      CHECK_FALSE(parse_stun_prefix(v->data(), len));
    }
  }
}

TEST_CASE("STUN: corrupted fields", "[classify][stun]") {
  SECTION("a flipped attribute byte breaks the fingerprint") {
    Bytes b = kRequest;
    b[30] ^= 0x01;  // inside SOFTWARE
    auto m = parse_stun(b.data(), b.size());
    REQUIRE(m);
    CHECK(m->has_fingerprint);
    CHECK_FALSE(m->fingerprint_valid);
  }
  SECTION("top bits of the type set") {
    Bytes b = kRequest;
    b[0] |= 0x40;
    CHECK_FALSE(parse_stun(b.data(), b.size()));
  }
  SECTION("length not a multiple of 4") {
    Bytes b = kRequest;
    b[3] = 0x57;
    CHECK_FALSE(parse_stun(b.data(), b.size()));
  }
  SECTION("length larger than the datagram") {
    Bytes b = kRequest;
    b[3] = 0x5c;
    CHECK_FALSE(parse_stun(b.data(), b.size()));
  }
  SECTION("trailing bytes after the message") {
    Bytes b = kRequest;
    b.push_back(0);
    CHECK_FALSE(parse_stun(b.data(), b.size()));
    auto p = parse_stun_prefix(b.data(), b.size());
    REQUIRE(p);
    CHECK(p->message_size == kRequest.size());
  }
  SECTION("attribute overrunning the message") {
    Bytes b = kRequest;
    b[23] = 0x60;  // SOFTWARE length 0x60
    CHECK_FALSE(parse_stun(b.data(), b.size()));
  }
  SECTION("MESSAGE-INTEGRITY with a wrong length") {
    const Bytes m = StunBuilder{}.attr(stun_attr::kMessageIntegrity, Bytes(24, 0xAA)).build();
    CHECK_FALSE(parse_stun(m.data(), m.size()));
  }
  SECTION("XOR-MAPPED-ADDRESS with an unknown family") {
    const Bytes m = StunBuilder{}.attr(stun_attr::kXorMappedAddress, {0, 3, 0, 1, 1, 2, 3, 4}).build();
    CHECK_FALSE(parse_stun(m.data(), m.size()));
  }
  SECTION("a FINGERPRINT that is not last is not valid") {
    Bytes m = StunBuilder{}.text(stun_attr::kSoftware, "abc").build(true);
    // Append another attribute after the fingerprint and fix the length.
    for (uint8_t x : {0x80, 0x55, 0x00, 0x04, 1, 2, 3, 4}) m.push_back(x);
    m[3] = static_cast<uint8_t>(m.size() - 20);
    auto p = parse_stun(m.data(), m.size());
    REQUIRE(p);
    CHECK(p->has_fingerprint);
    CHECK_FALSE(p->fingerprint_valid);
  }
}

TEST_CASE("STUN: REALM, NONCE, ERROR-CODE, vendor attributes", "[classify][stun]") {
  StunBuilder b;
  b.type = 0x0113;  // Allocate error response
  b.attr(stun_attr::kErrorCode, {0, 0, 4, 1})
      .text(stun_attr::kRealm, "turn.example.org")
      .text(stun_attr::kNonce, "0123456789abcdef")
      .attr(0x4003, {1, 2, 3, 4})
      .attr(0x8055, {0, 1})
      .attr(0xC057, {0, 0, 0, 1})
      .attr(0x8070, {0, 0, 0, 3})
      .attr(0x8055, {0, 2});  // repeated type
  const Bytes m = b.build(true);
  auto p = parse_stun(m.data(), m.size());
  REQUIRE(p);
  CHECK(p->method == 3);
  CHECK(p->klass == StunClass::ErrorResponse);
  CHECK(p->error_code == 401);
  CHECK(p->has_realm);
  CHECK(std::string(p->realm.data()) == "turn.example.org");
  CHECK(p->realm_len == 16);
  CHECK(p->has_nonce);
  CHECK(p->has_attr(0x4003));
  CHECK(p->has_attr(0x8055));
  CHECK(p->has_attr(0xC057));
  CHECK(p->has_attr(0x8070));
  CHECK(p->attr_count == 9);
  CHECK(p->attr_type_count == 8);
  CHECK(p->fingerprint_valid);
}

TEST_CASE("STUN: message type bits decode class and method", "[classify][stun]") {
  struct Case { uint16_t type; uint16_t method; StunClass klass; };
  for (const Case& c : {Case{0x0001, 1, StunClass::Request}, Case{0x0011, 1, StunClass::Indication},
                        Case{0x0101, 1, StunClass::SuccessResponse}, Case{0x0111, 1, StunClass::ErrorResponse},
                        Case{0x0003, 3, StunClass::Request}, Case{0x0016, 6, StunClass::Indication},
                        Case{0x0017, 7, StunClass::Indication}, Case{0x0109, 9, StunClass::SuccessResponse},
                        Case{0x0800, 0x200, StunClass::Request}}) {
    StunBuilder b;
    b.type = c.type;
    const Bytes m = b.build();
    auto p = parse_stun(m.data(), m.size());
    REQUIRE(p);
    CHECK(p->method == c.method);
    CHECK(p->klass == c.klass);
  }
}

TEST_CASE("STUN: unpadded attribute layout", "[classify][stun]") {
  // Attribute values back to back (no padding), header length = sum of unpadded attributes.
  Bytes m = {0x00, 0x03, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
  for (int i = 0; i < 12; ++i) m.push_back(static_cast<uint8_t>(0x60 + i));
  const Bytes attrs = {0x40, 0x00, 0x00, 0x06, 1, 2, 3, 4, 5, 6,   // vendor attribute, 6 bytes
                       0x00, 0x09, 0x00, 0x07, 0, 0, 4, 1, 'b', 'a', 'd',  // ERROR-CODE 401 "bad"
                       0x00, 0x08, 0x00, 0x20};                       // 32-byte MESSAGE-INTEGRITY
  m.insert(m.end(), attrs.begin(), attrs.end());
  m.resize(m.size() + 32, 0x5A);
  m[3] = static_cast<uint8_t>(m.size() - 20);
  auto p = parse_stun(m.data(), m.size());
  REQUIRE(p);
  CHECK(p->unpadded);
  CHECK(p->has_attr(0x4000));
  CHECK(p->error_code == 401);
  CHECK(p->has_message_integrity);
  CHECK(p->message_integrity_len == 32);
  for (std::size_t len = 0; len < m.size(); ++len) CHECK_FALSE(parse_stun(m.data(), len));
  SECTION("needs the magic cookie") {
    Bytes c = m;
    c[4] = 0x22;
    CHECK_FALSE(parse_stun(c.data(), c.size()));
  }
  SECTION("needs an exact walk") {
    Bytes c = m;
    c[23] = 7;  // first attribute one byte longer
    CHECK_FALSE(parse_stun(c.data(), c.size()));
  }
  SECTION("padded messages are not reported as unpadded") {
    auto q = parse_stun(kRequest.data(), kRequest.size());
    REQUIRE(q);
    CHECK_FALSE(q->unpadded);
  }
}

TEST_CASE("STUN: long SOFTWARE and USERNAME are truncated safely", "[classify][stun]") {
  const std::string sw(300, 's');
  const Bytes m = StunBuilder{}.text(stun_attr::kSoftware, sw).text(stun_attr::kUsername, std::string(200, 'u')).build();
  auto p = parse_stun(m.data(), m.size());
  REQUIRE(p);
  CHECK(p->software_len == 300);
  CHECK(std::string(p->software.data()).size() == kStunTextCap - 1);
  CHECK(p->username_len == 200);
  CHECK_FALSE(p->username_has_colon);
}

TEST_CASE("STUN: too many attribute types sets overflow", "[classify][stun]") {
  StunBuilder b;
  for (uint16_t t = 0; t < kStunMaxAttrTypes + 3; ++t) b.attr(static_cast<uint16_t>(0x8100 + t), {});
  const Bytes m = b.build();
  auto p = parse_stun(m.data(), m.size());
  REQUIRE(p);
  CHECK(p->attr_types_overflow);
  CHECK(p->attr_type_count == kStunMaxAttrTypes);
  CHECK(p->attr_count == kStunMaxAttrTypes + 3);
}

TEST_CASE("STUN classic RFC 3489", "[classify][stun]") {
  StunBuilder b;
  b.cookie = false;
  b.attr(stun_attr::kMappedAddress, {0, 1, 0x0d, 0x96, 10, 0, 0, 1}).attr(stun_attr::kChangeRequest, {0, 0, 0, 6});
  const Bytes req = b.build();
  auto p = parse_stun(req.data(), req.size());
  REQUIRE(p);
  CHECK(p->classic);
  CHECK(p->transaction_id_len == 16);
  CHECK(p->transaction_id[0] == 0x30);
  REQUIRE(p->mapped.present);
  CHECK(p->mapped.port == 3478);
  CHECK(p->mapped.addr[0] == 10);
  SECTION("unknown classic type is rejected") {
    StunBuilder u = b;
    u.type = 0x0003;
    const Bytes m = u.build();
    CHECK_FALSE(parse_stun(m.data(), m.size()));
  }
  SECTION("classic needs an exact attribute walk") {
    Bytes m = req;
    m[23] = 12;  // MAPPED-ADDRESS length 12 breaks the walk
    CHECK_FALSE(parse_stun(m.data(), m.size()));
  }
  SECTION("classic is not accepted with trailing bytes") {
    Bytes m = req;
    m.push_back(0);
    CHECK_FALSE(parse_stun_prefix(m.data(), m.size()));
  }
  for (std::size_t len = 0; len < req.size(); ++len) CHECK_FALSE(parse_stun(req.data(), len));
}

TEST_CASE("TURN ChannelData", "[classify][stun]") {
  const Bytes cd = {0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5};
  auto c = parse_turn_channel_data(cd.data(), cd.size());
  REQUIRE(c);
  CHECK(c->channel == 0x4001);
  CHECK(c->length == 5);
  CHECK(c->frame_size == 9);
  Bytes padded = cd;
  padded.insert(padded.end(), {0, 0, 0});
  auto cp = parse_turn_channel_data(padded.data(), padded.size());
  REQUIRE(cp);
  CHECK(cp->frame_size == 12);
  Bytes overpadded = padded;
  overpadded.push_back(0);
  CHECK_FALSE(parse_turn_channel_data(overpadded.data(), overpadded.size()));
  Bytes oddpad = cd;
  oddpad.push_back(0);  // 10 bytes: neither exact nor padded to 12
  CHECK_FALSE(parse_turn_channel_data(oddpad.data(), oddpad.size()));
  for (std::size_t len = 0; len < cd.size(); ++len) CHECK_FALSE(parse_turn_channel_data(cd.data(), len));
  Bytes bad = cd;
  bad[0] = 0x80;  // channel 0x8001 out of range
  CHECK_FALSE(parse_turn_channel_data(bad.data(), bad.size()));
  bad[0] = 0x3F;
  CHECK_FALSE(parse_turn_channel_data(bad.data(), bad.size()));
}

TEST_CASE("STUN over TCP: plain back-to-back messages", "[classify][stun]") {
  const Bytes a = StunBuilder{}.text(stun_attr::kSoftware, "one").build(true);
  StunBuilder bb;
  bb.type = 0x0101;
  const Bytes b = bb.attr(stun_attr::kXorMappedAddress, {0, 1, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43}).build();
  const Bytes cd = {0x40, 0x00, 0x00, 0x03, 9, 9, 9, 0};  // ChannelData padded to 4
  const Bytes seg = cat({a, cd, b});
  auto f = stun_tcp_frames(seg.data(), seg.size());
  REQUIRE(f);
  CHECK(f->framing == StunTcpFraming::Plain);
  CHECK(f->stun_messages == 2);
  CHECK(f->channel_data == 1);
  CHECK(f->consumed == seg.size());
  CHECK_FALSE(f->trailing_partial);
  CHECK(std::string(f->first.software.data()) == "one");

  SECTION("segment ending inside the second message") {
    const Bytes cut(seg.begin(), seg.end() - 5);
    auto g = stun_tcp_frames(cut.data(), cut.size());
    REQUIRE(g);
    CHECK(g->trailing_partial);
    CHECK(g->stun_messages == 1);
    CHECK(g->consumed == a.size() + cd.size());
  }
  SECTION("garbage after a message") {
    const Bytes junk = cat({a, Bytes{0xFF, 0xFF, 0xFF, 0xFF, 0xFF}});
    CHECK_FALSE(stun_tcp_frames(junk.data(), junk.size()));
  }
  SECTION("the first message must be complete") {
    for (std::size_t len = 0; len < a.size(); ++len) CHECK_FALSE(stun_tcp_frames(a.data(), len));
  }
}

TEST_CASE("STUN over TCP: RFC 4571 framing", "[classify][stun]") {
  const Bytes a = StunBuilder{}.text(stun_attr::kSoftware, "framed").build(true);
  const Bytes b = StunBuilder{}.text(stun_attr::kRealm, "r").build();
  auto framed = [](const Bytes& m) {
    Bytes out = {static_cast<uint8_t>(m.size() >> 8), static_cast<uint8_t>(m.size())};
    out.insert(out.end(), m.begin(), m.end());
    return out;
  };
  const Bytes seg = cat({framed(a), framed(b), framed(a)});
  auto f = stun_tcp_frames(seg.data(), seg.size());
  REQUIRE(f);
  CHECK(f->framing == StunTcpFraming::Rfc4571);
  CHECK(f->stun_messages == 3);
  CHECK(f->consumed == seg.size());
  CHECK(std::string(f->first.software.data()) == "framed");
  SECTION("partial last frame") {
    const Bytes cut(seg.begin(), seg.end() - 3);
    auto g = stun_tcp_frames(cut.data(), cut.size());
    REQUIRE(g);
    CHECK(g->trailing_partial);
    CHECK(g->stun_messages == 2);
  }
  SECTION("frame length disagreeing with the STUN length") {
    Bytes bad = seg;
    bad[1] = static_cast<uint8_t>(bad[1] + 4);
    CHECK_FALSE(stun_tcp_frames(bad.data(), bad.size()));
  }
  SECTION("every prefix of the first frame fails") {
    const Bytes one = framed(a);
    for (std::size_t len = 0; len < one.size(); ++len) CHECK_FALSE(stun_tcp_frames(one.data(), len));
  }
}
