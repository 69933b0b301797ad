// Detectors end to end on flows and payloads built here: the per-flow state machines (TeamSpeak weblist
// echo, BFCP request/answer), the GoogleCall rule on nDPI's own network list, and the payload-less
// ip-list demotion, as refine() writes them into a verdict.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "classify/classifier.hpp"
#include "classify/detectors.hpp"
#include "classify/ndpi_adapter.hpp"

using namespace sealscope;
using namespace sealscope::classify;
using Bytes = std::vector<uint8_t>;

namespace {
struct Rig {
  NdpiEngine engine{EngineOptions{}};
  Detectors det;
  flow::Flow f;
  TimestampUs now = 1'000'000;

  explicit Rig(uint8_t l4, const char* client = "10.0.0.2", const char* server = "10.0.0.1",
               uint16_t server_port = 5000) {
    // The key as the worker makes it from the client's first packet.
    decode::Packet first;
    REQUIRE(parse_ip(client, first.src));
    REQUIRE(parse_ip(server, first.dst));
    first.ip_version = first.src.version;
    first.l4_proto = l4;
    first.sport = 40000;
    first.dport = server_port;
    bool a_is_src = true;
    f.key = flow::make_key(first, a_is_src);
    f.a_is_initiator = a_is_src;
    REQUIRE(f.initiator() == first.src);
    REQUIRE(f.responder_port() == server_port);
    f.first_seen = f.last_seen = now;
  }
  void send(flow::Dir d, const Bytes& payload) {
    decode::Packet p;
    p.l4_proto = f.key.l4;
    p.payload = payload.data();
    p.payload_caplen = p.payload_len = static_cast<uint32_t>(payload.size());
    p.ts = now += 1000;
    ++f.packets[d];
    f.payload[d] += payload.size();
    f.last_seen = now;
    det.on_packet(f, p, d, engine);
  }
  Verdict verdict(const std::string& engine_label, const char* confidence) {
    det.on_end(f, engine);
    Verdict v;
    v.label = engine_label;
    v.confidence = confidence;
    det.refine(f, v);
    return v;
  }
};

Bytes bfcp(uint8_t primitive) {
  return {0x40, primitive, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x07, 0x00, 0x03};
}
}  // namespace

TEST_CASE("TeamSpeak 3 weblist: request, echoed answer", "[classify][detect]") {
  Rig r(17);
  r.send(flow::kUp, {0x01, 0x80, 0x84, 0x01});
  r.send(flow::kDown, {0x01, 0x80, 0x84, 0x01, 0x7c, 0x65, 0xd9, 0xa7});
  CHECK(r.verdict("Unknown", "unknown").label == "TeamSpeak");

  Rig other(17);  // an answer that does not echo the request
  other.send(flow::kUp, {0x01, 0x80, 0x84, 0x01});
  other.send(flow::kDown, {0x01, 0x81, 0x84, 0x01, 0x7c, 0x65, 0xd9, 0xa7});
  CHECK(other.verdict("Unknown", "unknown").label == "Unknown");
}

TEST_CASE("BFCP: a request and its answer, only where nDPI named nothing", "[classify][detect]") {
  Rig r(17);
  r.send(flow::kUp, bfcp(3));    // FloorRequestQuery
  r.send(flow::kDown, bfcp(4));  // FloorRequestStatus, same conference, user, transaction
  CHECK(r.verdict("Unknown", "unknown").label == "BFCP");

  Rig named(17);
  named.send(flow::kUp, bfcp(3));
  named.send(flow::kDown, bfcp(4));
  CHECK(named.verdict("DNS", "dpi").label == "DNS");

  Rig same(17);  // the same message twice (e.g. a retransmission, or a DNS-like echo) is no answer
  same.send(flow::kUp, bfcp(3));
  same.send(flow::kDown, bfcp(3));
  CHECK(same.verdict("Unknown", "unknown").label == "Unknown");
}

TEST_CASE("WebRTC STUN to a server in nDPI's Google network list is GoogleCall", "[classify][detect]") {
  // An ICE Binding request (RFC 8489: magic cookie, no attributes) from the client.
  const Bytes binding = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  Rig google(17, "192.168.1.5", "8.8.8.8");
  google.send(flow::kUp, binding);
  const Verdict v = google.verdict("STUN.FacebookVoip", "dpi");
  CHECK(v.label == "STUN.GoogleCall");

  Rig google6(17, "2001:b07::5", "2001:4860:4864:6::81");  // Google's IPv6, which nDPI 4.2's list lacks
  google6.send(flow::kUp, binding);
  CHECK(google6.verdict("STUN", "dpi").label == "STUN.GoogleCall");
  Rig cloud6(17, "2001:b07::5", "2600:1900::81");  // Google Cloud customers: not Google's own media
  cloud6.send(flow::kUp, binding);
  CHECK(cloud6.verdict("STUN", "dpi").label == "STUN");

  Rig elsewhere(17, "192.168.1.5", "192.168.1.1");
  elsewhere.send(flow::kUp, binding);
  CHECK(elsewhere.verdict("STUN.FacebookVoip", "dpi").label == "STUN.FacebookVoip");

  Rig tcp(6, "192.168.1.5", "8.8.8.8");  // not UDP media
  CHECK(tcp.verdict("TLS.Google", "dpi").label == "TLS.Google");
}

TEST_CASE("STUN to a Teams media relay (Microsoft's published ranges, UDP 3478-3481) is a Teams call",
          "[classify][detect]") {
  const Bytes binding = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  auto label = [&](uint8_t l4, const char* server, uint16_t port) {
    Rig r(l4, std::string_view(server).find(':') != std::string_view::npos ? "fd00::6" : "192.168.1.6", server, port);
    r.send(flow::kUp, binding);
    return r.verdict("STUN.Azure", "dpi").label;
  };
  CHECK(label(17, "52.114.77.136", 3478) == "STUN.Skype_TeamsCall");
  CHECK(label(17, "52.112.0.1", 3481) == "STUN.Skype_TeamsCall");
  CHECK(label(17, "13.107.64.9", 3479) == "STUN.Skype_TeamsCall");
  CHECK(label(17, "52.123.255.1", 3480) == "STUN.Skype_TeamsCall");
  CHECK(label(17, "2603:1063:3ff::1", 3478) == "STUN.Skype_TeamsCall");
  CHECK(label(17, "52.114.77.136", 3482) == "STUN.Azure");  // not a relay port
  CHECK(label(17, "52.116.0.1", 3478) == "STUN.Azure");     // past 52.112.0.0/14
  CHECK(label(17, "13.107.128.1", 3478) == "STUN.Azure");   // past 13.107.64.0/18
  CHECK(label(17, "2603:1063:400::1", 3478) == "STUN.Azure");  // past 2603:1063::/38
  CHECK(label(6, "52.114.77.136", 3478) == "STUN.Azure");   // not UDP media
}

TEST_CASE("A payload-less flow named by the IP list alone gets no messaging family", "[classify][detect]") {
  Rig empty(6);
  Verdict v = empty.verdict("TLS.WeChat", "ip-list");
  CHECK(v.label == "TLS");
  CHECK(std::string(v.confidence) == "port");
  Rig bare(6);
  v = bare.verdict("WeChat", "ip-list");
  CHECK(v.label == "Unknown");

  Rig data(6);
  data.send(flow::kUp, Bytes(40, 0x17));  // any payload: the list's answer stands
  CHECK(data.verdict("TLS.WeChat", "ip-list").label == "TLS.WeChat");
  Rig by_dpi(6);  // packet inspection, not the list: untouched
  CHECK(by_dpi.verdict("TLS.WeChat", "dpi").label == "TLS.WeChat");
}

TEST_CASE("Skinny framing overrides only nDPI's silence or its MongoDB false positive", "[classify][detect]") {
  // StationKeepAliveMessage-sized SCCP message: length 4 (message id only), header version 0x14, id 0x0000.
  const Bytes keepalive = {0x04, 0, 0, 0, 0x14, 0, 0, 0, 0x00, 0, 0, 0};
  Rig mongo(6);
  mongo.send(flow::kUp, keepalive);
  CHECK(mongo.verdict("MongoDB", "dpi").label == "CiscoSkinny");
  Rig unknown(6);
  unknown.send(flow::kUp, keepalive);
  CHECK(unknown.verdict("Unknown", "unknown").label == "CiscoSkinny");
  Rig tls(6);
  tls.send(flow::kUp, keepalive);
  CHECK(tls.verdict("TLS", "dpi").label == "TLS");
}

namespace {
/// An RTP datagram with one contributing source (first byte 0x81), payload type 111, SSRC 0xB80974D8.
Bytes rtp_csrc(uint16_t seq, uint32_t ts) {
  return {0x81, 0x6f, static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq), static_cast<uint8_t>(ts >> 24),
          static_cast<uint8_t>(ts >> 16), static_cast<uint8_t>(ts >> 8), static_cast<uint8_t>(ts),
          0xb8, 0x09, 0x74, 0xd8, 0x00, 0x00, 0x01, 0x1c, 0x48, 0x06, 0xe3, 0x79};
}
}  // namespace

TEST_CASE("RTP with a CSRC behind a probe datagram, which nDPI 4.2 rules out, is RTP after 5 in order",
          "[classify][detect]") {
  Rig r(17);
  r.send(flow::kUp, Bytes(16, 0x00));  // the probe: not RTP
  for (uint16_t i = 0; i < 4; ++i) r.send(flow::kUp, rtp_csrc(static_cast<uint16_t>(0xfffe + i), 960u * i));
  r.send(flow::kUp, rtp_csrc(0x0002, 960u * 4));  // the fifth, across the 16-bit wrap
  const Verdict v = r.verdict("Unknown", "unknown");
  CHECK(v.label == "RTP");
  CHECK(std::string(v.confidence) == "dpi");

  Rig only4(17);  // four in order are not enough
  for (uint16_t i = 0; i < 4; ++i) only4.send(flow::kUp, rtp_csrc(static_cast<uint16_t>(100 + i), 960u * i));
  CHECK(only4.verdict("Unknown", "unknown").label == "Unknown");

  Rig jumbled(17);  // the same SSRC, sequence numbers all over the place: not a stream
  for (uint16_t s : {100, 9000, 200, 40000, 300, 12, 7777, 5}) jumbled.send(flow::kUp, rtp_csrc(s, 0));
  CHECK(jumbled.verdict("Unknown", "unknown").label == "Unknown");

  Rig after_stun(17);  // RTP after bare STUN on one 5-tuple (classic SIP/ICE media): STUN.RTP, as current nDPI
  for (uint16_t i = 0; i < 5; ++i) after_stun.send(flow::kUp, rtp_csrc(static_cast<uint16_t>(7 + i), 160u * i));
  CHECK(after_stun.verdict("STUN", "dpi").label == "STUN.RTP");
  Rig stun_app(17);  // STUN with an application keeps it
  for (uint16_t i = 0; i < 5; ++i) stun_app.send(flow::kUp, rtp_csrc(static_cast<uint16_t>(7 + i), 160u * i));
  CHECK(stun_app.verdict("STUN.WhatsAppCall", "dpi").label == "STUN.WhatsAppCall");

  Rig named(17);  // nDPI's own answer stands
  for (uint16_t i = 0; i < 8; ++i) named.send(flow::kUp, rtp_csrc(static_cast<uint16_t>(100 + i), 960u * i));
  CHECK(named.verdict("WireGuard", "dpi").label == "WireGuard");
}
