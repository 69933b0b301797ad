// The IPFIX encoder (src/export): RFC 7011 message header, template set, data sets, byte by byte. The
// messages are read back by a small independent reader below that follows the templates in the message
// itself, so a length, a field order or a byte order that does not agree with the templates fails.
#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "export/ipfix_encoder.hpp"

using namespace sealscope;
using ipfix::Encoder;

namespace {

uint64_t be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

struct Spec {
  uint16_t id;  // without the enterprise bit
  uint16_t length;
  uint32_t pen;  // 0 = IANA
};

struct Decoded {
  uint16_t template_id;
  // (pen, id) → raw bytes
  std::map<std::pair<uint32_t, uint16_t>, std::vector<uint8_t>> f;
  uint64_t num(uint16_t id, uint32_t pen = 0) const {
    const auto& v = f.at({pen, id});
    return be(v.data(), v.size());
  }
  std::string str(uint16_t id) const {
    const auto& v = f.at({0, id});
    return {v.begin(), v.end()};
  }
};

struct Message {
  uint16_t version, length;
  uint32_t export_time, sequence, domain;
  std::vector<uint16_t> set_ids;
  std::map<uint16_t, std::vector<Spec>> templates;
  std::vector<Decoded> records;
};

// Reads one message; templates from `known` (earlier messages) or the message itself.
Message read(std::span<const uint8_t> m, std::map<uint16_t, std::vector<Spec>> known = {}) {
  Message out{};
  REQUIRE(m.size() >= 16);
  const uint8_t* p = m.data();
  out.version = static_cast<uint16_t>(be(p, 2));
  out.length = static_cast<uint16_t>(be(p + 2, 2));
  out.export_time = static_cast<uint32_t>(be(p + 4, 4));
  out.sequence = static_cast<uint32_t>(be(p + 8, 4));
  out.domain = static_cast<uint32_t>(be(p + 12, 4));
  REQUIRE(out.length == m.size());
  size_t off = 16;
  while (off < m.size()) {
    REQUIRE(off + 4 <= m.size());
    const auto set_id = static_cast<uint16_t>(be(p + off, 2));
    const auto set_len = static_cast<uint16_t>(be(p + off + 2, 2));
    out.set_ids.push_back(set_id);
    REQUIRE(set_len >= 4);
    REQUIRE(off + set_len <= m.size());
    const size_t end = off + set_len;
    size_t q = off + 4;
    if (set_id == 2) {
      while (q + 4 <= end) {
        const auto tid = static_cast<uint16_t>(be(p + q, 2));
        const auto n = static_cast<uint16_t>(be(p + q + 2, 2));
        q += 4;
        std::vector<Spec> specs;
        for (uint16_t i = 0; i < n; ++i) {
          REQUIRE(q + 4 <= end);
          Spec s{static_cast<uint16_t>(be(p + q, 2)), static_cast<uint16_t>(be(p + q + 2, 2)), 0};
          q += 4;
          if (s.id & 0x8000) {
            REQUIRE(q + 4 <= end);
            s.id &= 0x7FFF;
            s.pen = static_cast<uint32_t>(be(p + q, 4));
            q += 4;
          }
          specs.push_back(s);
        }
        out.templates[tid] = specs;
        known[tid] = specs;
      }
      REQUIRE(q == end);
    } else {
      REQUIRE(set_id >= 256);
      REQUIRE(known.count(set_id) == 1);
      while (q < end) {
        Decoded d{set_id, {}};
        for (const Spec& s : known[set_id]) {
          size_t len = s.length;
          if (len == 0xFFFF) {
            REQUIRE(q + 1 <= end);
            len = p[q++];
            if (len == 255) {
              REQUIRE(q + 2 <= end);
              len = be(p + q, 2);
              q += 2;
            }
          }
          REQUIRE(q + len <= end);
          d.f[{s.pen, s.id}] = std::vector<uint8_t>(p + q, p + q + len);
          q += len;
        }
        out.records.push_back(d);
      }
      REQUIRE(q == end);
    }
    off = end;
  }
  return out;
}

stats::FlowRecord v4_record() {
  stats::FlowRecord r;
  const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {192, 168, 7, 200};
  r.src_addr = IpAddr::v4(a);
  r.dst_addr = IpAddr::v4(b);
  r.src_port = 51234;
  r.dst_port = 443;
  r.has_ports = true;
  r.proto = 6;
  r.first_seen = 1700000000123456;  // µs: 123 ms after the second, the 456 µs dropped
  r.last_seen = 1700000005987654;
  r.bytes[0] = 0x0102030405ull;  // more than 32 bits: all 8 bytes matter
  r.bytes[1] = 2000;
  r.packets[0] = 11;
  r.packets[1] = 0x1000000001ull;
  r.vlan = 3001;
  r.end = flow::EndReason::Fin;
  r.verdict.label = "TLS.Google";
  return r;
}

stats::FlowRecord v6_record() {
  stats::FlowRecord r = v4_record();
  uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8}, b[16] = {0xfe, 0x80};
  a[15] = 1;
  b[15] = 0x2a;
  r.src_addr = IpAddr::v6(a);
  r.dst_addr = IpAddr::v6(b);
  r.proto = 17;
  r.vlan = -1;
  r.end = flow::EndReason::Evicted;
  r.verdict.label = "QUIC.YouTube";
  return r;
}

}  // namespace

TEST_CASE("ipfix: header, template set and one IPv4 data record", "[ipfix]") {
  Encoder e(0xA1B2C3D4);
  e.start(1700000100, true);
  REQUIRE(e.add(v4_record()));
  const auto bytes = e.finish();
  const std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  // The header's first bytes literally: version 10, then the length.
  CHECK(copy[0] == 0x00);
  CHECK(copy[1] == 0x0A);
  CHECK(be(copy.data() + 2, 2) == copy.size());
  CHECK(be(copy.data() + 4, 4) == 1700000100u);
  CHECK(be(copy.data() + 8, 4) == 0u);
  CHECK(copy[12] == 0xA1);
  CHECK(copy[15] == 0xD4);
  const Message m = read(copy);
  CHECK(m.version == 10);
  CHECK(m.domain == 0xA1B2C3D4u);
  REQUIRE(m.set_ids == std::vector<uint16_t>{2, Encoder::kTemplateV4});
  REQUIRE(m.templates.size() == 2);

  // The IPv4 template's field specifiers, in order.
  const std::vector<std::tuple<uint16_t, uint16_t, uint32_t>> want = {
      {8, 4, 0},   {12, 4, 0},    {32, 2, 0},    {7, 2, 0},  {11, 2, 0},  {4, 1, 0},      {152, 8, 0}, {153, 8, 0},
      {1, 8, 0},   {2, 8, 0},     {1, 8, 29305}, {2, 8, 29305}, {58, 2, 0}, {136, 1, 0}, {96, 0xFFFF, 0}};
  const auto& t4 = m.templates.at(256);
  REQUIRE(t4.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("field " << i);
    CHECK(t4[i].id == std::get<0>(want[i]));
    CHECK(t4[i].length == std::get<1>(want[i]));
    CHECK(t4[i].pen == std::get<2>(want[i]));
  }
  // The IPv6 template differs only in the addresses and the ICMP element.
  const auto& t6 = m.templates.at(257);
  REQUIRE(t6.size() == want.size());
  CHECK(t6[0].id == 27);
  CHECK(t6[0].length == 16);
  CHECK(t6[1].id == 28);
  CHECK(t6[1].length == 16);
  CHECK(t6[2].id == 139);
  CHECK(t6[2].length == 2);
  for (size_t i = 3; i < want.size(); ++i) CHECK(t6[i].id == t4[i].id);

  REQUIRE(m.records.size() == 1);
  const Decoded& d = m.records[0];
  CHECK(d.num(8) == 0x0A000001u);
  CHECK(d.num(12) == 0xC0A807C8u);
  CHECK(d.num(7) == 51234);
  CHECK(d.num(11) == 443);
  CHECK(d.num(32) == 0);  // not ICMP
  CHECK(d.num(4) == 6);
  CHECK(d.num(152) == 1700000000123ull);
  CHECK(d.num(153) == 1700000005987ull);
  CHECK(d.num(1) == 0x0102030405ull);
  CHECK(d.num(2) == 11);
  CHECK(d.num(1, 29305) == 2000);
  CHECK(d.num(2, 29305) == 0x1000000001ull);
  CHECK(d.num(58) == 3001);
  CHECK(d.num(136) == 0x03);
  CHECK(d.str(96) == "TLS.Google");
}

TEST_CASE("ipfix: an IPv6 record uses the IPv6 template, no VLAN is 0, v4 and v6 in one message are two sets",
          "[ipfix]") {
  Encoder e(0);
  e.start(1, true);
  REQUIRE(e.add(v6_record()));
  REQUIRE(e.add(v4_record()));
  REQUIRE(e.add(v4_record()));
  const auto bytes = e.finish();
  const Message m = read(bytes);
  REQUIRE(m.set_ids == std::vector<uint16_t>{2, 257, 256});
  REQUIRE(m.records.size() == 3);
  const Decoded& d = m.records[0];
  CHECK(d.template_id == 257);
  const auto& src = d.f.at({0, 27});
  REQUIRE(src.size() == 16);
  CHECK(src[0] == 0x20);
  CHECK(src[3] == 0xb8);
  CHECK(src[15] == 1);
  CHECK(d.f.at({0, 28})[15] == 0x2a);
  CHECK(d.num(4) == 17);
  CHECK(d.num(58) == 0);
  CHECK(d.num(136) == 0x05);
  CHECK(d.str(96) == "QUIC.YouTube");
  CHECK(m.records[1].template_id == 256);
}

TEST_CASE("ipfix: an ICMP record carries the initiator's first type and code, type in the high byte", "[ipfix]") {
  stats::FlowRecord v4 = v4_record(), v6 = v6_record(), silent = v4_record();
  for (stats::FlowRecord* r : {&v4, &v6, &silent}) {
    r->has_ports = false;
    r->src_port = r->dst_port = 0;
  }
  v4.proto = silent.proto = 1;
  v4.has_icmp[0] = v4.has_icmp[1] = true;
  v4.icmp_type[0] = 3;  // destination unreachable, host administratively prohibited
  v4.icmp_code[0] = 10;
  v4.icmp_type[1] = 0;
  v6.proto = 58;
  v6.has_icmp[0] = true;
  v6.icmp_type[0] = 135;  // neighbour solicitation
  silent.has_icmp[1] = true;  // only the responder's message in this record's span
  silent.icmp_type[1] = 8;
  Encoder e(0);
  e.start(1, true);
  REQUIRE(e.add(v4));
  REQUIRE(e.add(v6));
  REQUIRE(e.add(silent));
  const Message m = read(e.finish());
  REQUIRE(m.records.size() == 3);
  CHECK(m.records[0].num(32) == 0x030A);
  CHECK(m.records[0].num(11) == 0);
  CHECK(m.records[1].template_id == 257);
  CHECK(m.records[1].num(139) == 0x8700);
  CHECK(m.records[1].f.count({0, 32}) == 0);
  CHECK(m.records[2].num(32) == 0);
}

TEST_CASE("ipfix: the sequence number counts the data records of earlier messages, templates only when asked",
          "[ipfix]") {
  Encoder e(7);
  std::map<uint16_t, std::vector<Spec>> known;
  uint32_t want_seq = 0;
  for (int msg = 0; msg < 4; ++msg) {
    e.start(100 + msg, msg == 0);
    const int n = msg + 1;
    for (int i = 0; i < n; ++i) REQUIRE(e.add(msg % 2 ? v6_record() : v4_record()));
    CHECK(e.records() == static_cast<size_t>(n));
    const Message m = read(e.finish(), known);
    if (msg == 0) known = m.templates;
    CHECK(m.sequence == want_seq);
    CHECK(m.export_time == static_cast<uint32_t>(100 + msg));
    CHECK(m.records.size() == static_cast<size_t>(n));
    CHECK((m.set_ids.front() == 2) == (msg == 0));
    want_seq += n;
  }
  CHECK(e.sequence() == 10u);
}

TEST_CASE("ipfix: applicationName is display text, short form below 255 bytes, cut at 255 in the long form",
          "[ipfix]") {
  auto name_of = [](const std::string& label) {
    Encoder e(0);
    e.start(1, true);
    auto r = v4_record();
    r.verdict.label = label;
    REQUIRE(e.add(r));
    const auto bytes = e.finish();
    const std::vector<uint8_t> m(bytes.begin(), bytes.end());
    const Message d = read(m);
    // The length prefix is the last field's: find it right before the name at the message's end.
    const std::string s = d.records.at(0).str(96);
    return std::make_pair(s, m);
  };
  {
    auto [s, m] = name_of(std::string(254, 'a'));
    CHECK(s.size() == 254);
    CHECK(m[m.size() - 255] == 254);  // one length byte
  }
  {
    auto [s, m] = name_of(std::string(300, 'b'));
    CHECK(s == std::string(255, 'b'));
    CHECK(m[m.size() - 258] == 255);  // 255, then the length in two bytes
    CHECK(be(&m[m.size() - 257], 2) == 255);
  }
  {
    // Two-byte characters: the cut does not split one (254 bytes = 127 characters).
    std::string ee;
    for (int i = 0; i < 200; ++i) ee += "\xc3\xa9";
    auto [s, m] = name_of(ee);
    CHECK(s.size() == 254);
    CHECK(s == ee.substr(0, 254));
  }
  {
    auto [s, m] = name_of("Evil\x1b[2J");
    CHECK(s == "Evil\\x1b[2J");
  }
  {
    auto [s, m] = name_of("");
    CHECK(s.empty());
    CHECK(m.back() == 0);
  }
}

TEST_CASE("ipfix: messages never exceed the size limit, add() says when one is full", "[ipfix]") {
  for (size_t limit : {Encoder::kMaxMessage, size_t{700}}) {
    Encoder e(0, limit);
    std::map<uint16_t, std::vector<Spec>> known;
    size_t total = 0, messages = 0;
    for (int i = 0; i < 200;) {
      e.start(1, messages == 0);
      size_t in_msg = 0;
      for (; i < 200; ++i) {
        auto r = i % 3 ? v4_record() : v6_record();
        r.verdict.label = std::string(static_cast<size_t>(i) * 7 % 400, 'x');
        if (!e.add(r)) break;
        ++in_msg;
      }
      REQUIRE(in_msg > 0);
      const auto bytes = e.finish();
      INFO("limit " << limit << " message " << messages);
      CHECK(bytes.size() <= limit);
      const Message m = read(bytes, known);
      if (messages == 0) known = m.templates;
      CHECK(m.records.size() == in_msg);
      CHECK(m.sequence == total);
      total += in_msg;
      ++messages;
    }
    CHECK(total == 200);
    CHECK(messages > 10);  // really filled: 200 records do not fit a few messages
  }
}

TEST_CASE("ipfix: flowEndReason of each end", "[ipfix]") {
  CHECK(Encoder::end_reason(flow::EndReason::Idle) == 1);
  CHECK(Encoder::end_reason(flow::EndReason::Active) == 2);
  CHECK(Encoder::end_reason(flow::EndReason::Fin) == 3);
  CHECK(Encoder::end_reason(flow::EndReason::Rst) == 3);
  CHECK(Encoder::end_reason(flow::EndReason::Eof) == 4);
  CHECK(Encoder::end_reason(flow::EndReason::Evicted) == 5);
  stats::FlowRecord none;
  CHECK_FALSE(Encoder::exportable(none));
  CHECK(Encoder::exportable(v4_record()));
}
