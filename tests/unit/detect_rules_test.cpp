// Structural signatures of src/classify/detect_rules: each packet is built here from the protocol's
// documented layout, plus near misses that must be rejected.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "classify/detect_rules.hpp"

using namespace sealscope::classify;
using Bytes = std::vector<uint8_t>;

namespace {
void put16(Bytes& b, std::size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
void put32(Bytes& b, std::size_t at, uint32_t v) {
  put16(b, at, static_cast<uint16_t>(v >> 16));
  put16(b, at + 2, static_cast<uint16_t>(v));
}
void append(Bytes& b, const std::string& s) { b.insert(b.end(), s.begin(), s.end()); }
Bytes rtp_packet(uint8_t pt, std::size_t payload) {
  Bytes b(12 + payload, 0x55);
  b[0] = 0x80;
  b[1] = pt;
  put16(b, 2, 1000);
  put32(b, 4, 160000);
  put32(b, 8, 0xdeadbeef);
  return b;
}
}  // namespace

TEST_CASE("Discord IP discovery request and response", "[classify][detect]") {
  Bytes req(74, 0);
  put16(req, 0, 1);
  put16(req, 2, 70);
  put32(req, 4, 12345);
  CHECK(rules::discord_ip_discovery(req.data(), req.size()));
  Bytes resp = req;
  put16(resp, 0, 2);
  const std::string addr = "203.0.113.7";
  std::memcpy(resp.data() + 8, addr.data(), addr.size());
  put16(resp, 72, 50004);
  CHECK(rules::discord_ip_discovery(resp.data(), resp.size()));
  Bytes bad = resp;
  put16(bad, 2, 71);
  CHECK_FALSE(rules::discord_ip_discovery(bad.data(), bad.size()));
  bad = resp;
  bad[40] = 'x';  // text after the NUL padding started
  CHECK_FALSE(rules::discord_ip_discovery(bad.data(), bad.size()));
  CHECK_FALSE(rules::discord_ip_discovery(req.data(), 73));
}

TEST_CASE("Discord keepalive", "[classify][detect]") {
  Bytes k = {0x13, 0x37, 0xca, 0xfe, 0x05, 0, 0, 0};
  CHECK(rules::discord_keepalive(k.data(), k.size()));
  k[0] = 0x14;
  CHECK_FALSE(rules::discord_keepalive(k.data(), k.size()));
}

TEST_CASE("OICQ datagram: flag, command range, tail", "[classify][detect]") {
  Bytes b(40, 0x11);
  b[0] = 0x02;
  put16(b, 1, 0x1234);  // version
  put16(b, 3, 0x0022);  // command: login
  put16(b, 5, 7);
  b.back() = 0x03;
  CHECK(rules::oicq(b.data(), b.size()));
  put16(b, 3, 0x03f7);
  CHECK(rules::oicq(b.data(), b.size()));
  put16(b, 3, 0x0200);
  CHECK_FALSE(rules::oicq(b.data(), b.size()));
  put16(b, 3, 0x0022);
  b.back() = 0x04;
  CHECK_FALSE(rules::oicq(b.data(), b.size()));
}

TEST_CASE("Agora SD-RTN edge request with SNI TLV", "[classify][detect]") {
  Bytes b(19, 0);
  b[6] = 0x21;
  put32(b, 12, 0x04534e49);
  const std::string host = "198-51-100-1.edge.example.io";
  put16(b, 16, static_cast<uint16_t>(host.size()));
  append(b, host);
  b.resize(b.size() + 40, 0xAA);
  CHECK(rules::agora_sni(b.data(), b.size()));
  Bytes bad = b;
  put16(bad, 16, 500);
  CHECK_FALSE(rules::agora_sni(bad.data(), bad.size()));
  bad = b;
  bad[6] = 0x22;
  CHECK_FALSE(rules::agora_sni(bad.data(), bad.size()));
}

TEST_CASE("Zoom SFU type 5 with audio media header, and P2P hello", "[classify][detect]") {
  const Bytes rtp = rtp_packet(112, 60);
  Bytes media(19, 0);
  media[0] = 15;
  media.insert(media.end(), rtp.begin(), rtp.end());
  CHECK(rules::zoom_media(media.data(), media.size()));
  Bytes sfu(8, 0);
  sfu[0] = 0x05;
  sfu.insert(sfu.end(), media.begin(), media.end());
  CHECK(rules::zoom_sfu(sfu.data(), sfu.size()));
  sfu[8] = 16;  // video: RTP would have to start 24 bytes in
  CHECK_FALSE(rules::zoom_sfu(sfu.data(), sfu.size()));

  Bytes hello(24, 0);
  hello[0] = 0x1f;
  hello[1] = 0x02;
  hello[2] = 0x01;
  const std::string ip = "192.0.2.10", uuid = "0123456789ABCDEF0123456789ABCDEF";
  hello.resize(28);
  put32(hello, 24, static_cast<uint32_t>(ip.size()));
  append(hello, ip);
  hello.resize(hello.size() + 4);
  put32(hello, hello.size() - 4, static_cast<uint32_t>(uuid.size()));
  append(hello, uuid);
  hello.resize(hello.size() + 4, 0);
  CHECK(rules::zoom_p2p_hello(hello.data(), hello.size()));
  Bytes bad = hello;
  bad.push_back(0);
  CHECK_FALSE(rules::zoom_p2p_hello(bad.data(), bad.size()));
  bad = hello;
  bad[28] = 'z';
  CHECK_FALSE(rules::zoom_p2p_hello(bad.data(), bad.size()));
}

TEST_CASE("Mumble UDP ping and answer", "[classify][detect]") {
  Bytes req(12, 0);
  put32(req, 4, 0x01020304);
  put32(req, 8, 0x05060708);
  uint64_t ident = 0;
  REQUIRE(rules::mumble_ping_request(req.data(), req.size(), ident));
  Bytes ans(24, 0);
  put32(ans, 0, 0x00010204);
  std::memcpy(ans.data() + 4, req.data() + 4, 8);
  CHECK(rules::mumble_ping_answer(ans.data(), ans.size(), ident));
  CHECK_FALSE(rules::mumble_ping_answer(ans.data(), ans.size(), ident + 1));
  req[0] = 1;
  CHECK_FALSE(rules::mumble_ping_request(req.data(), req.size(), ident));
}

TEST_CASE("Threema frame, XMPP starts, LINE header", "[classify][detect]") {
  Bytes f = {0x03, 0x00, 1, 2, 3};
  CHECK(rules::threema_frame(f.data(), f.size()));
  f.push_back(4);
  CHECK_FALSE(rules::threema_frame(f.data(), f.size()));
  for (std::string s : {"<?xml version='1.0'?><stream:stream to='example.net'>", "<iq type='get' id='1'/>",
                        "<presence/>", "</stream:stream>", "<?xml version='1.0' ?>"}) {
    CHECK(rules::xmpp_start(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
  for (std::string s : {"<html><body>", "<?xml version='1.0'?><soap:Envelope xmlns:soap='x'> and more text here"}) {
    CHECK_FALSE(rules::xmpp_start(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
  Bytes l(40, 0);
  l[0] = 0xD2;
  put16(l, 2, 0x0380);
  uint16_t seq = 0;
  CHECK(rules::line_call_header(l.data(), l.size(), seq));
  CHECK(seq == 0x0380);
  l[0] = 0x80;
  CHECK_FALSE(rules::line_call_header(l.data(), l.size(), seq));
}

TEST_CASE("SealChat prologue and relay datagrams (src/e2ee/WIRE.md)", "[classify][detect]") {
  Bytes pro = {'S', 'L', 0x01, 0x01, 0x00, 0x20};
  pro.resize(38, 0x42);
  uint8_t channel = 9;
  REQUIRE(rules::sealchat_prologue(pro.data(), pro.size(), channel));
  CHECK(channel == 1);
  pro[3] = 2;
  CHECK_FALSE(rules::sealchat_prologue(pro.data(), pro.size(), channel));
  Bytes bind(20, 0x77);
  bind[0] = 0x5C;
  bind[1] = 0x01;
  bind[2] = 0x00;
  bind[3] = 0x00;
  CHECK(rules::sealchat_relay(bind.data(), bind.size()));
  Bytes media = bind;
  media[1] = 0x02;
  const Bytes rtp = rtp_packet(111, 50);
  media.insert(media.end(), rtp.begin(), rtp.end());
  CHECK(rules::sealchat_relay(media.data(), media.size()));
  media[20] = 0x40;  // RTP version 1
  CHECK_FALSE(rules::sealchat_relay(media.data(), media.size()));
  bind.push_back(0);
  CHECK_FALSE(rules::sealchat_relay(bind.data(), bind.size()));
}
