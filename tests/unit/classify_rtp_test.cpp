// RTP/RTCP header shape and the media-stream tracker. Packets are built here from RFC 3550 §5.1,
// §6.4-6.6, RFC 4585 §6.1, RFC 5761 §4 and RFC 8285 (one-byte header extensions).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "classify/rtp.hpp"

using namespace sealscope::classify;

namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xFFFF);
}

struct RtpSpec {
  uint8_t pt = 111;
  bool marker = false;
  uint16_t seq = 1000;
  uint32_t ts = 160000;
  uint32_t ssrc = 0x11223344;
  uint8_t csrcs = 0;
  int ext_words = -1;  ///< -1: no extension
  uint8_t pad = 0;
  std::size_t payload = 20;
};

Bytes rtp(const RtpSpec& s) {
  Bytes b;
  b.push_back(static_cast<uint8_t>(0x80 | (s.pad ? 0x20 : 0) | (s.ext_words >= 0 ? 0x10 : 0) | s.csrcs));
  b.push_back(static_cast<uint8_t>((s.marker ? 0x80 : 0) | s.pt));
  put16(b, s.seq);
  put32(b, s.ts);
  put32(b, s.ssrc);
  for (uint8_t i = 0; i < s.csrcs; ++i) put32(b, 0xC0000000u + i);
  if (s.ext_words >= 0) {
    put16(b, 0xBEDE);
    put16(b, static_cast<uint32_t>(s.ext_words));
    for (int i = 0; i < s.ext_words; ++i) put32(b, 0x10AA0000u);
  }
  for (std::size_t i = 0; i < s.payload; ++i) b.push_back(static_cast<uint8_t>(0x55 + i));
  if (s.pad) {
    for (uint8_t i = 1; i < s.pad; ++i) b.push_back(0);
    b.push_back(s.pad);
  }
  return b;
}

/// RTCP header: V=2, P, count, PT, length in words minus one (computed from body size).
Bytes rtcp(uint8_t pt, uint8_t count, const Bytes& body_after_header) {
  Bytes b = {static_cast<uint8_t>(0x80 | count), pt};
  put16(b, static_cast<uint32_t>((4 + body_after_header.size()) / 4 - 1));
  b.insert(b.end(), body_after_header.begin(), body_after_header.end());
  return b;
}

Bytes sr(uint32_t ssrc, uint8_t blocks) {
  Bytes body;
  put32(body, ssrc);
  for (int i = 0; i < 5; ++i) put32(body, 0x01010101u * static_cast<uint32_t>(i + 1));  // NTP, RTP ts, counts
  for (uint8_t i = 0; i < blocks; ++i)
    for (int w = 0; w < 6; ++w) put32(body, 0xB0000000u + w);
  return rtcp(200, blocks, body);
}

Bytes rr(uint32_t ssrc, uint8_t blocks) {
  Bytes body;
  put32(body, ssrc);
  for (uint8_t i = 0; i < blocks; ++i)
    for (int w = 0; w < 6; ++w) put32(body, 0xB0000000u + w);
  return rtcp(201, blocks, body);
}

Bytes sdes_cname(uint32_t ssrc, const std::string& cname) {
  Bytes body;
  put32(body, ssrc);
  body.push_back(1);  // CNAME
  body.push_back(static_cast<uint8_t>(cname.size()));
  body.insert(body.end(), cname.begin(), cname.end());
  body.push_back(0);  // END
  while (body.size() % 4 != 0) body.push_back(0);
  return rtcp(202, 1, body);
}

Bytes bye(uint32_t ssrc) {
  Bytes body;
  put32(body, ssrc);
  return rtcp(203, 1, body);
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

TEST_CASE("RTP fixed header", "[classify][rtp]") {
  RtpSpec s;
  s.marker = true;
  const Bytes p = rtp(s);
  auto h = parse_rtp(p.data(), p.size());
  REQUIRE(h);
  CHECK(h->version == 2);
  CHECK(h->marker);
  CHECK(h->payload_type == 111);
  CHECK(h->sequence == 1000);
  CHECK(h->timestamp == 160000);
  CHECK(h->ssrc == 0x11223344u);
  CHECK(h->header_len == 12);
  CHECK(h->payload_len == 20);
  CHECK(classify_rtp_rtcp(p.data(), p.size()) == RtpKind::Rtp);
}

TEST_CASE("RTP with CSRCs, header extension and padding", "[classify][rtp]") {
  RtpSpec s;
  s.csrcs = 2;
  s.ext_words = 2;
  s.pad = 4;
  const Bytes p = rtp(s);
  auto h = parse_rtp(p.data(), p.size());
  REQUIRE(h);
  CHECK(h->csrc_count == 2);
  CHECK(h->extension);
  CHECK(h->ext_profile == 0xBEDE);
  CHECK(h->ext_length_words == 2);
  CHECK(h->header_len == 12 + 8 + 4 + 8);
  CHECK(h->padding);
  CHECK(h->padding_len == 4);
  CHECK(h->payload_len == 20);
  // Prefixes that cut the CSRC list or the extension are rejected.
  for (std::size_t len = 0; len < h->header_len; ++len) CHECK_FALSE(parse_rtp(p.data(), len));
}

TEST_CASE("RTP rejects malformed headers", "[classify][rtp]") {
  RtpSpec s;
  Bytes p = rtp(s);
  SECTION("version 1") {
    p[0] = static_cast<uint8_t>((p[0] & 0x3F) | 0x40);
    CHECK_FALSE(parse_rtp(p.data(), p.size()));
  }
  SECTION("payload types 72-76 collide with RTCP (RFC 5761)") {
    for (uint8_t pt = 72; pt <= 76; ++pt) {
      p[1] = pt;
      CHECK_FALSE(parse_rtp(p.data(), p.size()));
    }
    p[1] = 77;
    CHECK(parse_rtp(p.data(), p.size()));
  }
  SECTION("extension longer than the packet") {
    RtpSpec e;
    e.ext_words = 100;
    e.payload = 0;
    Bytes x = rtp(e);
    x.resize(40);
    CHECK_FALSE(parse_rtp(x.data(), x.size()));
  }
  SECTION("padding count zero or larger than the payload is flagged, not fatal (SRTP tag)") {
    RtpSpec q;
    q.pad = 2;
    Bytes x = rtp(q);
    auto ok = parse_rtp(x.data(), x.size());
    REQUIRE(ok);
    CHECK(ok->padding_consistent);
    CHECK(ok->payload_len == 20);
    for (uint8_t last : {uint8_t{0}, uint8_t{200}}) {
      x.back() = last;
      auto h = parse_rtp(x.data(), x.size());
      REQUIRE(h);
      CHECK_FALSE(h->padding_consistent);
      CHECK(h->padding_len == 0);
      CHECK(h->payload_len == 22);
    }
  }
}

TEST_CASE("RTCP compound SR + SDES + BYE", "[classify][rtp]") {
  const Bytes c = cat({sr(0xAABBCCDD, 1), sdes_cname(0xAABBCCDD, "user@host"), bye(0xAABBCCDD)});
  auto r = parse_rtcp(c.data(), c.size());
  REQUIRE(r);
  CHECK(r->exact);
  CHECK(r->packet_count == 3);
  CHECK(r->types[0] == 200);
  CHECK(r->types[1] == 202);
  CHECK(r->types[2] == 203);
  CHECK(r->first_ssrc == 0xAABBCCDDu);
  CHECK(r->has_sr);
  CHECK(r->has_sdes);
  CHECK(r->has_bye);
  CHECK_FALSE(r->has_rr);
  CHECK(classify_rtp_rtcp(c.data(), c.size()) == RtpKind::Rtcp);
  SECTION("every cut inside a packet stops the walk early") {
    const std::size_t b1 = sr(0xAABBCCDD, 1).size();
    const std::size_t b2 = b1 + sdes_cname(0xAABBCCDD, "user@host").size();
    for (std::size_t len = 8; len < c.size(); ++len) {
      auto t = parse_rtcp(c.data(), len);
      if (len < b1) {
        CHECK_FALSE(t);  // the first packet itself is cut
      } else {
        REQUIRE(t);
        CHECK(t->exact == (len == b1 || len == b2));
      }
    }
    for (std::size_t len = 0; len < 8; ++len) CHECK_FALSE(parse_rtcp(c.data(), len));
  }
}

TEST_CASE("RTCP RR and feedback", "[classify][rtp]") {
  Bytes fb_body;
  put32(fb_body, 1);
  put32(fb_body, 2);
  const Bytes c = cat({rr(7, 0), rtcp(206, 1, fb_body)});  // RR + PLI
  auto r = parse_rtcp(c.data(), c.size());
  REQUIRE(r);
  CHECK(r->exact);
  CHECK(r->has_rr);
  CHECK(r->has_feedback);
}

TEST_CASE("RTCP rejects inconsistent lengths and types", "[classify][rtp]") {
  SECTION("SR with fewer bytes than its report count needs") {
    Bytes s = sr(1, 1);
    s[0] = static_cast<uint8_t>(0x80 | 2);  // claims 2 report blocks
    CHECK_FALSE(parse_rtcp(s.data(), s.size()));
  }
  SECTION("length field beyond the datagram") {
    Bytes s = rr(1, 0);
    s[3] = 9;
    CHECK_FALSE(parse_rtcp(s.data(), s.size()));
  }
  SECTION("packet type outside 200-207") {
    Bytes s = rr(1, 0);
    s[1] = 199;
    CHECK_FALSE(parse_rtcp(s.data(), s.size()));
  }
  SECTION("SDES item running past its chunk") {
    Bytes s = sdes_cname(1, "abc");
    s[9] = 40;  // CNAME length
    CHECK_FALSE(parse_rtcp(s.data(), s.size()));
  }
  SECTION("junk after a valid packet is not exact") {
    Bytes s = cat({rr(1, 0), Bytes{0x01, 0x02, 0x03}});
    auto r = parse_rtcp(s.data(), s.size());
    REQUIRE(r);
    CHECK_FALSE(r->exact);
    CHECK_FALSE(r->maybe_srtcp);
    CHECK(classify_rtp_rtcp(s.data(), s.size()) == RtpKind::None);
  }
}

TEST_CASE("SRTCP: first packet clear, encrypted rest and trailer", "[classify][rtp]") {
  Bytes s = rr(0x01020304, 1);
  // Pretend the report block is encrypted (garbage) and append E|index + 10-byte tag.
  Bytes enc = {s.begin(), s.begin() + 8};
  Bytes tail(24 + 4 + 10, 0xE7);
  enc.insert(enc.end(), tail.begin(), tail.end());
  enc[0] = 0x80;  // header claims 0 blocks so the clear part is one well-formed RR
  enc[2] = 0;
  enc[3] = 1;
  auto r = parse_rtcp(enc.data(), enc.size());
  REQUIRE(r);
  CHECK_FALSE(r->exact);
  CHECK(r->maybe_srtcp);
  CHECK(classify_rtp_rtcp(enc.data(), enc.size()) == RtpKind::Rtcp);
}

TEST_CASE("RFC 5761 demultiplexing", "[classify][rtp]") {
  // An RTP packet with marker set and PT 77 has second byte 205: inside 192-223, so it is judged as RTCP.
  RtpSpec s;
  s.marker = true;
  s.pt = 77;
  const Bytes p = rtp(s);
  CHECK(p[1] == 205);
  CHECK(classify_rtp_rtcp(p.data(), p.size()) != RtpKind::Rtp);
  RtpSpec t;
  t.marker = true;
  t.pt = 96;  // second byte 224: RTP
  const Bytes q = rtp(t);
  CHECK(classify_rtp_rtcp(q.data(), q.size()) == RtpKind::Rtp);
  CHECK(classify_rtp_rtcp(q.data(), 1) == RtpKind::None);
}

TEST_CASE("RtpStreamTracker recognises a media stream", "[classify][rtp]") {
  RtpStreamTracker tr(4, 16);
  RtpSpec s;
  s.seq = 65533;  // wraps during the run
  for (int i = 0; i < 3; ++i) {
    const Bytes p = rtp(s);
    CHECK_FALSE(tr.feed(p.data(), p.size()));
    s.seq = static_cast<uint16_t>(s.seq + 1);
    s.ts += 960;
  }
  const Bytes p = rtp(s);
  CHECK(tr.feed(p.data(), p.size()));
  CHECK(tr.media_ssrc() == s.ssrc);
  tr.reset();
  CHECK_FALSE(tr.looks_like_media());
}

TEST_CASE("RtpStreamTracker: gaps, loss, duplicates, reordering", "[classify][rtp]") {
  SECTION("small loss is fine") {
    RtpStreamTracker tr(4, 16);
    RtpSpec s;
    for (uint16_t step : {0, 2, 1, 3}) {
      s.seq = static_cast<uint16_t>(s.seq + step);
      s.ts += 960;
      const Bytes p = rtp(s);
      auto h = parse_rtp(p.data(), p.size());
      REQUIRE(h);
      tr.feed(*h);
    }
    CHECK(tr.looks_like_media());
  }
  SECTION("random sequence numbers never qualify") {
    RtpStreamTracker tr(4, 16);
    RtpSpec s;
    for (uint16_t seq : {100, 9000, 200, 40000, 3, 17000, 60000, 5000}) {
      s.seq = seq;
      auto p = rtp(s);
      tr.feed(p.data(), p.size());
    }
    CHECK_FALSE(tr.looks_like_media());
  }
  SECTION("timestamps going back break the run") {
    RtpStreamTracker tr(4, 16);
    RtpSpec s;
    for (int i = 0; i < 8; ++i) {
      s.seq = static_cast<uint16_t>(s.seq + 1);
      s.ts = (i % 2 == 0) ? 1000000u : 10u;
      auto p = rtp(s);
      tr.feed(p.data(), p.size());
    }
    CHECK_FALSE(tr.looks_like_media());
  }
  SECTION("duplicates and a late packet neither count nor break") {
    RtpStreamTracker tr(4, 16);
    RtpSpec s;
    auto feed = [&](uint16_t seq) {
      s.seq = seq;
      auto p = rtp(s);
      return tr.feed(p.data(), p.size());
    };
    feed(10);
    feed(11);
    feed(11);  // duplicate
    feed(10);  // late
    CHECK_FALSE(feed(12));
    CHECK(feed(13));
  }
  SECTION("changing SSRC every packet never qualifies") {
    RtpStreamTracker tr(4, 16);
    RtpSpec s;
    for (uint32_t i = 0; i < 12; ++i) {
      s.ssrc = 1000 + i;
      s.seq = static_cast<uint16_t>(s.seq + 1);
      auto p = rtp(s);
      tr.feed(p.data(), p.size());
    }
    CHECK_FALSE(tr.looks_like_media());
  }
  SECTION("two interleaved streams both tracked") {
    RtpStreamTracker tr(4, 16);
    RtpSpec a, v;
    v.ssrc = 0x99;
    v.seq = 30000;
    for (int i = 0; i < 3; ++i) {
      auto pa = rtp(a);
      auto pv = rtp(v);
      tr.feed(pa.data(), pa.size());
      tr.feed(pv.data(), pv.size());
      a.seq = static_cast<uint16_t>(a.seq + 1);
      v.seq = static_cast<uint16_t>(v.seq + 1);
    }
    CHECK_FALSE(tr.looks_like_media());
    auto pv = rtp(v);
    CHECK(tr.feed(pv.data(), pv.size()));
    CHECK(tr.media_ssrc() == 0x99u);
  }
  SECTION("RTCP is ignored") {
    RtpStreamTracker tr(1, 16);
    const Bytes c = rr(1, 0);
    CHECK_FALSE(tr.feed(c.data(), c.size()));
  }
}
