// STUN REALM / vendor-attribute naming, server-name table, call cache and the behavioural call rule.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "classify/detect_apps.hpp"
#include "classify/detect_call_cache.hpp"
#include "classify/detect_voice.hpp"
#include "classify/ndpi_adapter.hpp"
#include "classify/stun.hpp"

using namespace sealscope;
using namespace sealscope::classify;
using Bytes = std::vector<uint8_t>;

namespace {
/// An RFC 5389 message with the magic cookie and the given attributes (type, value), padded to 4.
Bytes stun_msg(uint16_t type, const std::vector<std::pair<uint16_t, std::string>>& attrs) {
  Bytes b = {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 0, 0x21, 0x12, 0xA4, 0x42};
  for (int i = 0; i < 12; ++i) b.push_back(static_cast<uint8_t>(i * 7));
  for (const auto& [t, v] : attrs) {
    b.push_back(static_cast<uint8_t>(t >> 8));
    b.push_back(static_cast<uint8_t>(t));
    b.push_back(static_cast<uint8_t>(v.size() >> 8));
    b.push_back(static_cast<uint8_t>(v.size()));
    b.insert(b.end(), v.begin(), v.end());
    while (b.size() % 4) b.push_back(0);
  }
  const std::size_t len = b.size() - 20;
  b[2] = static_cast<uint8_t>(len >> 8);
  b[3] = static_cast<uint8_t>(len);
  return b;
}
DetApp app_of_msg(const Bytes& b) {
  auto s = parse_stun(b.data(), b.size());
  REQUIRE(s);
  return stun_app(*s);
}
}  // namespace

TEST_CASE("STUN REALM names the messenger's TURN service", "[classify][detect]") {
  CHECK(app_of_msg(stun_msg(0x0003, {{0x0019, std::string("\x11\0\0\0", 4)}, {0x0014, "signal.org"}})) ==
        DetApp::SignalVoip);
  CHECK(app_of_msg(stun_msg(0x0113, {{0x0014, "turn.telegram.org"}})) == DetApp::TelegramVoip);
  CHECK(app_of_msg(stun_msg(0x0003, {{0x0014, "viber.com"}})) == DetApp::ViberVoip);
  CHECK(app_of_msg(stun_msg(0x0003, {{0x0014, "notsignal.org"}})) == DetApp::None);
  CHECK(app_of_msg(stun_msg(0x0001, {{0x0014, "example.org"}})) == DetApp::None);
}

TEST_CASE("STUN with Microsoft's MS-TURN / MS-ICE2 attributes is a Teams call", "[classify][detect]") {
  CHECK(app_of_msg(stun_msg(0x0003, {{0x8008, std::string("\0\0\0\6", 4)}})) == DetApp::TeamsCall);
  CHECK(app_of_msg(stun_msg(0x0001, {{0x8070, std::string("\0\0\0\2", 4)}})) == DetApp::TeamsCall);
  CHECK(app_of_msg(stun_msg(0x0001, {{0x8022, "libwebrtc"}})) == DetApp::None);
}

TEST_CASE("Server names of messaging services", "[classify][detect]") {
  CHECK(server_name_app("uts-front.line-apps.com") == DetApp::Line);
  CHECK(server_name_app("CHAT.google.com") == DetApp::GoogleChat);
  CHECK(server_name_app("media-fra5-1.cdn.whatsapp.net") == DetApp::WhatsAppFiles);
  CHECK(server_name_app("g.whatsapp.net") == DetApp::WhatsApp);
  CHECK(server_name_app("publist.mumble.info") == DetApp::Mumble);
  CHECK(server_name_app("evilline-apps.com") == DetApp::None);
  CHECK(server_name_app("www.google.com") == DetApp::None);
  CHECK(server_name_app("media.fmct2-1.fna.whatsapp.net") == DetApp::WhatsAppFiles);
  CHECK(server_name_app("media-ams4-1.cdn.whatsapp.net") == DetApp::WhatsAppFiles);
  CHECK(server_name_app("mediax.whatsapp.net") == DetApp::WhatsApp);
  CHECK(server_name_app("media.example.net") == DetApp::None);
  CHECK(server_name_app("telegram.me") == DetApp::Telegram);
  CHECK(server_name_app("t.me") == DetApp::Telegram);
  CHECK(server_name_app("at.me") == DetApp::None);
  CHECK(server_name_app("dl-obs.official.line.naver.jp") == DetApp::Line);
  CHECK(server_name_app("euno-1.api.microsoftstream.com") == DetApp::Teams);
  CHECK(server_name_app("gate.hockeyapp.net") == DetApp::Teams);
  CHECK(server_name_app("teams.microsoft.com") == DetApp::Teams);
  CHECK(server_name_app("www.microsoft.com") == DetApp::None);
  CHECK(detector_label(DetApp::Teams).app == "Skype_Teams");
  CHECK(detector_label(DetApp::GoogleCall).call);
  CHECK(detector_label(DetApp::TeamSpeak).call);
  CHECK(detector_label(DetApp::Skinny).app == "CiscoSkinny");
  CHECK(detector_label(DetApp::SealChatFiles).activity == "files");
  CHECK(detector_label(DetApp::SdRtn).app == "SD-RTN");
}

TEST_CASE("Call cache: endpoint + port within the call's lifetime", "[classify][detect]") {
  CallCache c;
  IpAddr a;
  REQUIRE(parse_ip("192.0.2.5", a));
  IpAddr b;
  REQUIRE(parse_ip("2001:db8::5", b));
  const TimestampUs s = 1000000;
  c.add(a, 40000, DetApp::SignalVoip, 10 * s, 20 * s);
  CHECK(c.find(a, 40000, 15 * s, 16 * s) == DetApp::SignalVoip);
  CHECK(c.find(a, 40000, 100 * s, 130 * s) == DetApp::SignalVoip);  // within the margin after
  CHECK(c.find(a, 40000, 200 * s, 300 * s) == DetApp::None);       // long after the call
  CHECK(c.find(a, 40001, 15 * s, 16 * s) == DetApp::None);
  CHECK(c.find(b, 40000, 15 * s, 16 * s) == DetApp::None);
  c.add(b, 40000, DetApp::Zoom, 10 * s, 11 * s);
  CHECK(c.find(b, 40000, 10 * s, 10 * s) == DetApp::Zoom);
  // Bounded: filling far past capacity keeps working and never grows.
  for (uint32_t i = 0; i < 3 * CallCache::kCapacity; ++i) {
    IpAddr x;
    x.version = 4;
    std::memcpy(x.bytes, &i, 4);
    c.add(x, 1, DetApp::Discord, i, i);
  }
  CHECK(c.size() <= CallCache::kCapacity);
}

namespace {
/// A 10 s UDP flow at 50 packets/s each way, ~120-byte datagrams: a voice call's shape.
void voice_flow(flow::Flow& f) {
  f.key.l4 = 17;
  f.first_seen = 0;
  f.last_seen = 10 * 1000000;
  f.packets[0] = 500;
  f.packets[1] = 480;
  for (uint64_t i = 1; i <= 50; ++i) {
    f.size_dir[0].add(120, i);
    f.size_dir[1].add(110, i);
  }
}
}  // namespace

TEST_CASE("Behavioural call rule on flow metadata", "[classify][detect]") {
  flow::Flow f;
  voice_flow(f);
  CHECK(voice_like(f));
  flow::Flow one_way;
  voice_flow(one_way);
  one_way.packets[1] = 3;
  CHECK_FALSE(voice_like(one_way));
  flow::Flow tcp;
  voice_flow(tcp);
  tcp.key.l4 = 6;
  CHECK_FALSE(voice_like(tcp));
  flow::Flow brief;
  voice_flow(brief);
  brief.last_seen = 1000000;
  CHECK_FALSE(voice_like(brief));
  flow::Flow bulk;
  voice_flow(bulk);
  bulk.size_dir[0] = {};
  for (uint64_t i = 1; i <= 50; ++i) bulk.size_dir[0].add(1400, i);
  CHECK_FALSE(voice_like(bulk));
}

TEST_CASE("nDPI's own network lists name a media server's owner", "[classify][detect]") {
  // The Google rule of Detectors::on_end asks nDPI's built-in address lists, never a list of ours.
  NdpiEngine engine(EngineOptions{});
  IpAddr google;
  REQUIRE(parse_ip("8.8.8.8", google));
  CHECK(std::string(engine.network_owner(google)) == "Google");
  IpAddr lan;
  REQUIRE(parse_ip("192.168.1.10", lan));
  CHECK(std::string(engine.network_owner(lan)).empty());
  IpAddr v6;
  REQUIRE(parse_ip("2001:4860:4860::8888", v6));
  CHECK(std::string(engine.network_owner(v6)).empty());  // 4.2 has IPv4 lists only
}
