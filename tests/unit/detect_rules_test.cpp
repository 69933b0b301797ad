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

TEST_CASE("MGCP command lines (RFC 3435)", "[classify][detect]") {
  auto text = [](const std::string& s) { return Bytes(s.begin(), s.end()); };
  const Bytes crcx = text("CRCX 1204 aaln/1@rgw-2567.example.net MGCP 1.0\r\nC: A3C47F21456789F0\r\nM: recvonly\r\n");
  CHECK(rules::mgcp_command(crcx.data(), crcx.size()));
  const Bytes rqnt = text("RQNT 7 *@gw.example.org MGCP 0.1\nR: l/hd(n)\nX: 1\n");
  CHECK(rules::mgcp_command(rqnt.data(), rqnt.size()));
  const Bytes ext = text("XABC 99 ep@gw MGCP 1.0\r\n");
  CHECK(rules::mgcp_command(ext.data(), ext.size()));
  // Near misses: unknown verb, no endpoint domain, no protocol name, non-numeric transaction id, responses.
  for (const char* bad : {"HELO 1204 aaln/1@gw MGCP 1.0\r\n", "CRCX 1204 aaln/1 MGCP 1.0\r\n\r\n",
                          "CRCX 1204 aaln/1@gw SIP/2.0 x\r\n", "CRCX 12a4 aaln/1@gw MGCP 1.0\r\n",
                          "200 1204 OK\r\nI: FDE234C8\r\n\r\n", "CRCX 1204 aaln/1@gw MGCP x.0\r\n"}) {
    const Bytes b = text(bad);
    CHECK_FALSE(rules::mgcp_command(b.data(), b.size()));
  }
}

TEST_CASE("BFCP common header (RFC 8855)", "[classify][detect]") {
  Bytes req = {0x20, 0x01, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0};
  put32(req, 4, 77);       // conference id
  put16(req, 8, 5);        // transaction id
  put16(req, 10, 9);       // user id
  uint32_t conference = 0;
  uint16_t user = 0;
  CHECK(rules::bfcp_header(req.data(), req.size(), conference, user));
  CHECK(conference == 77);
  CHECK(user == 9);
  Bytes v2 = req;
  v2[0] = 0x40;  // version 2 (BFCP over UDP)
  CHECK(rules::bfcp_header(v2.data(), v2.size(), conference, user));
  Bytes bad = req;
  bad[0] = 0x60;  // version 3
  CHECK_FALSE(rules::bfcp_header(bad.data(), bad.size(), conference, user));
  bad = req;
  bad[1] = 18;  // primitive out of range
  CHECK_FALSE(rules::bfcp_header(bad.data(), bad.size(), conference, user));
  bad = req;
  bad[0] = 0x21;  // reserved bits set
  CHECK_FALSE(rules::bfcp_header(bad.data(), bad.size(), conference, user));
  bad = req;
  put32(bad, 4, 0);  // no conference
  CHECK_FALSE(rules::bfcp_header(bad.data(), bad.size(), conference, user));
  CHECK_FALSE(rules::bfcp_header(req.data(), 11, conference, user));
}

TEST_CASE("Cisco Skinny (SCCP) message walk", "[classify][detect]") {
  auto le32 = [](Bytes& b, uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  auto msg = [&](uint32_t version, uint32_t id, std::size_t data) {
    Bytes b;
    le32(b, static_cast<uint32_t>(4 + data));
    le32(b, version);
    le32(b, id);
    b.insert(b.end(), data, 0x01);
    return b;
  };
  Bytes keepalive = msg(0, 0x0000, 0);  // KeepAliveMessage: length 4, no data
  CHECK(rules::skinny_messages(keepalive.data(), keepalive.size()));
  Bytes two = msg(0x14, 0x0026, 12);
  const Bytes ack = msg(0x14, 0x0085, 16);
  two.insert(two.end(), ack.begin(), ack.end());
  CHECK(rules::skinny_messages(two.data(), two.size()));
  // MongoDB's header counts the whole message: the same bytes do not walk as Skinny.
  Bytes mongo;
  le32(mongo, 24);
  le32(mongo, 0x14);
  le32(mongo, 0x0026);
  mongo.insert(mongo.end(), 12, 0x01);
  CHECK_FALSE(rules::skinny_messages(mongo.data(), mongo.size()));
  Bytes partial = two;
  partial.pop_back();
  CHECK_FALSE(rules::skinny_messages(partial.data(), partial.size()));
  Bytes bad_id = msg(0x14, 0x4000, 4);
  CHECK_FALSE(rules::skinny_messages(bad_id.data(), bad_id.size()));
  Bytes bad_version = msg(0x300, 0x0026, 4);
  CHECK_FALSE(rules::skinny_messages(bad_version.data(), bad_version.size()));
}

TEST_CASE("TeamSpeak 3 weblist request and echoed answer", "[classify][detect]") {
  const Bytes req = {0x01, 0x83, 0x84, 0x01};
  CHECK(rules::ts3_weblist_request(req.data(), req.size()));
  const Bytes answer = {0x01, 0x83, 0x84, 0x01, 0x52, 0xb0, 0xa2, 0x59};
  CHECK(rules::ts3_weblist_answer(answer.data(), answer.size(), req.data()));
  Bytes other = answer;
  other[1] = 0x84;  // another sequence number
  CHECK_FALSE(rules::ts3_weblist_answer(other.data(), other.size(), req.data()));
  CHECK_FALSE(rules::ts3_weblist_answer(answer.data(), 7, req.data()));
  const Bytes not_req = {0x01, 0x03, 0x84, 0x01};
  CHECK_FALSE(rules::ts3_weblist_request(not_req.data(), not_req.size()));
  CHECK_FALSE(rules::ts3_weblist_request(answer.data(), answer.size()));
}
