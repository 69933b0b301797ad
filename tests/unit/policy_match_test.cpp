#include <catch2/catch.hpp>

#include <date/date.h>

#include "policy/decider.hpp"
#include "policy/policy.hpp"

using namespace sealscope;
using namespace sealscope::policy;

namespace {
IpAddr ip(const char* s) {
  IpAddr a;
  REQUIRE(parse_ip(s, a));
  return a;
}
Cidr cidr(const char* s) {
  Cidr c;
  REQUIRE(parse_cidr(s, c));
  return c;
}
/// µs since the epoch of a UTC date and time.
TimestampUs utc(int y, unsigned m, unsigned d, int hh, int mm) {
  const auto day = date::sys_days{date::year{y} / m / d};
  return (day.time_since_epoch().count() * 86400LL + hh * 3600LL + mm * 60LL) * 1000000LL;
}
std::unique_ptr<Policy> load(const std::string& text) {
  LoadResult r = load_policy_text(text, "t.yaml", false);
  for (const auto& d : r.diagnostics) INFO(d.format());
  REQUIRE(r.errors() == 0);
  return std::move(r.policy);
}
}  // namespace

TEST_CASE("policy: CIDR parsing and containment") {
  Cidr c;
  CHECK(parse_cidr("192.0.2.0/24", c));
  CHECK(c.len == 24);
  CHECK_FALSE(c.host_bits);
  CHECK(parse_cidr("192.0.2.7/24", c));
  CHECK(c.host_bits);
  CHECK(to_string(c) == "192.0.2.0/24");
  CHECK(parse_cidr("2001:db8::/32", c));
  CHECK(parse_cidr("10.0.0.1", c));
  CHECK(c.len == 32);
  CHECK_FALSE(parse_cidr("192.0.2.0/33", c));
  CHECK_FALSE(parse_cidr("192.0.2/24", c));
  CHECK_FALSE(parse_cidr("2001:db8::/129", c));
  CHECK_FALSE(parse_cidr("10.0.0.0/", c));
  CHECK(cidr_contains(cidr("10.0.0.0/8"), cidr("10.1.0.0/16")));
  CHECK_FALSE(cidr_contains(cidr("10.1.0.0/16"), cidr("10.0.0.0/8")));
  CHECK_FALSE(cidr_contains(cidr("10.0.0.0/8"), cidr("2001:db8::/32")));
}

TEST_CASE("policy: prefix trie for IPv4 and IPv6 ORs every containing prefix") {
  AddressMap m;
  RegionSet a, b, c;
  a.set(0);
  b.set(1);
  c.set(2);
  m.insert(cidr("10.0.0.0/8"), a);
  m.insert(cidr("10.1.0.0/16"), b);
  m.insert(cidr("2001:db8:100::/48"), c);
  CHECK(m.lookup(ip("10.1.2.3")) == (a | b));
  CHECK(m.lookup(ip("10.2.0.1")) == a);
  CHECK(m.lookup(ip("11.0.0.1")).none());
  CHECK(m.lookup(ip("2001:db8:100::5")) == c);
  CHECK(m.lookup(ip("2001:db8:101::5")).none());
  CHECK(m.lookup(IpAddr{}).none());
  AddressMap all;
  all.insert(cidr("0.0.0.0/0"), a);
  CHECK(all.lookup(ip("203.0.113.1")) == a);
  CHECK(all.lookup(ip("2001:db8::1")).none());
}

TEST_CASE("policy: regions with includes, GTP-U cell sites, TEIDs and VLANs place a flow") {
  auto p = load(R"(
regions:
  city: {include: [north, cells]}
  north: {subscribers: [192.0.2.0/24, "2001:db8:1::/48"]}
  cells: {cells: 10.200.0.0/25}  # base stations; the core (10.200.0.254) is outside
  tunnel-range: {teids: ["0x12340000-0x1234ffff"]}
  office: {vlans: [100]}
rules:
  - {name: r, region: city, action: block}
)");
  Decider dec(*p);
  FlowFacts f;
  f.initiator = ip("198.51.100.1");
  f.responder = ip("192.0.2.10");
  Placement w = dec.place(f);
  CHECK(w.regions.test(0));  // city, through north
  CHECK(w.regions.test(1));
  CHECK_FALSE(w.regions.test(2));
  CHECK(w.subscriber_side == 1);  // the responder is the subscriber
  CHECK(to_string(w.subscriber) == "192.0.2.10");
  CHECK(dec.decide(f, 0) == 0);

  FlowFacts g;  // GTP-U: subscriber 100.64.1.10 behind cell 10.200.0.1, uplink first
  g.initiator = ip("100.64.1.10");
  g.responder = ip("203.0.113.30");
  g.tunnel.type = decode::TunnelType::GtpU;
  g.tunnel.has_id = true;
  g.tunnel.id = 0x1234abcd;
  g.tunnel.outer_src = ip("10.200.0.1");
  g.tunnel.outer_dst = ip("10.200.0.254");
  w = dec.place(g);
  CHECK(w.regions.test(0));
  CHECK(w.regions.test(2));
  CHECK(w.regions.test(3));  // TEID range
  CHECK(w.subscriber_side == 0);
  std::swap(g.tunnel.outer_src, g.tunnel.outer_dst);  // first packet was downlink: the responder is the UE
  std::swap(g.initiator, g.responder);
  g.tunnel.id = 0x5678;
  w = dec.place(g);
  CHECK(w.subscriber_side == 1);
  CHECK(to_string(w.subscriber) == "100.64.1.10");
  CHECK_FALSE(w.regions.test(3));

  FlowFacts v;
  v.initiator = ip("198.51.100.1");
  v.responder = ip("198.51.100.2");
  v.vlan = 100;
  CHECK(dec.place(v).regions.test(4));
  CHECK(dec.decide(v, 0) == -1);  // office is not in city: default
}

TEST_CASE("policy: cells and TEIDs are GTP-U's: no other tunnel matches them by its outer address or identifier") {
  auto p = load(R"(
regions:
  cells: {cells: 10.200.0.0/24}
  tunnel-range: {teids: ["0-0xffffffff"]}
rules:
  - {name: r, region: [cells, tunnel-range], action: block}
)");
  Decider dec(*p);
  FlowFacts f;
  f.initiator = ip("100.64.1.10");
  f.responder = ip("203.0.113.30");
  f.tunnel.outer_src = ip("10.200.0.1");  // in the cell prefix
  f.tunnel.outer_dst = ip("10.200.0.254");
  f.tunnel.has_id = true;
  f.tunnel.id = 5001;  // in the TEID range
  for (auto t : {decode::TunnelType::Vxlan, decode::TunnelType::Geneve, decode::TunnelType::Gre,
                 decode::TunnelType::Erspan, decode::TunnelType::Tzsp, decode::TunnelType::Capwap,
                 decode::TunnelType::IpInIp}) {
    INFO(decode::tunnel_type_name(t));
    f.tunnel.type = t;
    f.tunnel.has_id = decode::tunnel_id_name(t) != nullptr;
    const Placement w = dec.place(f);
    CHECK(w.regions.none());
    CHECK(w.subscriber_side == -1);
    CHECK(dec.decide(f, 0) == -1);
  }
  // The same flow in GTP-U is in both regions, the initiator on the cell's side, and blocked.
  f.tunnel.type = decode::TunnelType::GtpU;
  f.tunnel.has_id = true;
  const Placement w = dec.place(f);
  CHECK(w.regions.test(0));
  CHECK(w.regions.test(1));
  CHECK(w.subscriber_side == 0);
  CHECK(dec.decide(f, 0) == 0);
}

TEST_CASE("policy: conditions AND across keys, OR within a list, first match wins") {
  auto p = load(R"(
rules:
  - name: wa-calls
    family: WhatsApp
    activity: call
    action: block
  - name: stun-app
    label: [WhatsAppCall, "STUN.*"]
    action: {throttle: 64}
  - name: chat-sni
    server_name: "*.example.org"
    l4: tcp
    ports: ["443", "8000-8100"]
    action: log
default: allow
)");
  Decider dec(*p);
  FlowFacts f;
  f.l4 = 17;
  f.has_ports = true;
  f.initiator_port = 50000;
  f.responder_port = 3478;
  f.label = "STUN.WhatsAppCall";
  f.family = "WhatsApp";
  f.activity = "call";
  CHECK(dec.decide(f, 0) == 0);
  f.family = "";
  f.activity = "call";
  CHECK(dec.decide(f, 0) == 1);  // app part WhatsAppCall
  f.label = "STUN.Zoom";
  CHECK(dec.decide(f, 0) == 1);  // glob STUN.*
  f.label = "SRTP";
  CHECK(dec.decide(f, 0) == -1);
  FlowFacts t;
  t.l4 = 6;
  t.has_ports = true;
  t.initiator_port = 51102;
  t.responder_port = 443;
  t.label = "TLS";
  t.server_name = "Chat.Example.ORG";
  CHECK(dec.decide(t, 0) == 2);
  t.responder_port = 8443;
  CHECK(dec.decide(t, 0) == -1);
  t.responder_port = 8050;
  CHECK(dec.decide(t, 0) == 2);
  t.server_name = "example.org";
  CHECK(dec.decide(t, 0) == -1);
}

TEST_CASE("policy: time windows cross midnight and follow the weekday they open on") {
  TimeWindow w;
  REQUIRE(parse_hhmm("18:00", w.start_min));
  REQUIRE(parse_hhmm("06:00", w.end_min));
  w.days = 1u << 4;  // Friday
  // 2024-03-01 is a Friday; UTC zone.
  CHECK_FALSE(w.contains(utc(2024, 3, 1, 17, 59)));
  CHECK(w.contains(utc(2024, 3, 1, 18, 0)));
  CHECK(w.contains(utc(2024, 3, 1, 23, 59)));
  CHECK(w.contains(utc(2024, 3, 2, 5, 59)));  // Saturday morning, opened Friday
  CHECK_FALSE(w.contains(utc(2024, 3, 2, 6, 0)));
  CHECK_FALSE(w.contains(utc(2024, 3, 2, 18, 30)));  // Saturday evening: not a listed day
  CHECK_FALSE(w.contains(utc(2024, 3, 1, 3, 0)));    // Friday early morning belongs to Thursday's window
  uint32_t m = 0;
  CHECK(parse_hhmm("24:00", m));
  CHECK(m == 1440);
  CHECK_FALSE(parse_hhmm("24:01", m));
  CHECK_FALSE(parse_hhmm("7:00", m));
  CHECK_FALSE(parse_hhmm("07:60", m));
}

TEST_CASE("policy: time windows are DST-correct in an IANA zone") {
  TimeWindow w;
  w.tz_name = "Europe/Berlin";
  w.tz = find_zone(w.tz_name);
  REQUIRE(w.tz != nullptr);
  w.start_min = 18 * 60;
  w.end_min = 6 * 60;
  w.days = 0x7F;
  // Winter (CET = UTC+1): 18:00 local is 17:00 UTC.
  CHECK_FALSE(w.contains(utc(2024, 3, 1, 16, 59)));
  CHECK(w.contains(utc(2024, 3, 1, 17, 0)));
  CHECK(w.contains(utc(2024, 3, 2, 4, 59)));
  CHECK_FALSE(w.contains(utc(2024, 3, 2, 5, 0)));
  // Summer (CEST = UTC+2): 18:00 local is 16:00 UTC.
  CHECK(w.contains(utc(2024, 7, 1, 16, 0)));
  CHECK_FALSE(w.contains(utc(2024, 7, 1, 15, 59)));
  CHECK_FALSE(w.contains(utc(2024, 7, 2, 4, 0)));  // 06:00 CEST
  // The night of the spring change (2024-03-31 02:00 CET -> 03:00 CEST): 06:00 local is 04:00 UTC.
  CHECK(w.contains(utc(2024, 3, 31, 3, 59)));
  CHECK_FALSE(w.contains(utc(2024, 3, 31, 4, 0)));
  // The night of the autumn change (2024-10-27 03:00 CEST -> 02:00 CET): 06:00 local is 05:00 UTC.
  CHECK(w.contains(utc(2024, 10, 27, 4, 59)));
  CHECK_FALSE(w.contains(utc(2024, 10, 27, 5, 0)));
  // A window inside the repeated hour (02:00-03:00 local) is open for two real hours that night.
  TimeWindow h = w;
  h.start_min = 2 * 60;
  h.end_min = 3 * 60;
  CHECK(h.contains(utc(2024, 10, 27, 0, 30)));  // 02:30 CEST
  CHECK(h.contains(utc(2024, 10, 27, 1, 30)));  // 02:30 CET
  CHECK_FALSE(h.contains(utc(2024, 10, 27, 2, 0)));
  // ... and does not exist on the spring night (02:00-03:00 CET is skipped).
  CHECK_FALSE(h.contains(utc(2024, 3, 31, 0, 59)));
  CHECK_FALSE(h.contains(utc(2024, 3, 31, 1, 0)));  // 03:00 CEST
  CHECK(find_zone("Mars/Olympus") == nullptr);
}

TEST_CASE("policy: a window opening mid-flow changes the acting rule per packet") {
  auto p = load(R"(
rules:
  - name: curfew
    activity: call
    window: {days: daily, start: "12:01", end: "13:00", tz: UTC}
    action: block
default: allow
)");
  Decider dec(*p);
  FlowFacts f;
  f.activity = "call";
  Candidates c;
  dec.candidates(f, dec.place(f), c);
  REQUIRE(c.n == 1);
  CHECK_FALSE(c.ends_in_rule);
  CHECK(dec.acting(c, utc(2024, 3, 1, 12, 0)) == -1);
  CHECK(dec.acting(c, utc(2024, 3, 1, 12, 1)) == 0);
  CHECK(dec.acting(c, utc(2024, 3, 1, 13, 0)) == -1);
}

TEST_CASE("policy: glob and label matching") {
  CHECK(glob_match("*.example.org", "chat.example.org"));
  CHECK_FALSE(glob_match("*.example.org", "example.org"));
  CHECK(glob_match("wa?.net", "WAx.net"));
  CHECK(glob_match("*", ""));
  CHECK(label_matches("WhatsAppCall", "SRTP.WhatsAppCall"));
  CHECK(label_matches("STUN.WhatsAppCall", "STUN.WhatsAppCall"));
  CHECK_FALSE(label_matches("STUN.WhatsAppCall", "SRTP.WhatsAppCall"));
  CHECK_FALSE(label_matches("STUN", "STUN.WhatsAppCall"));
  CHECK(label_matches("STUN", "STUN"));
}
