// libFuzzer target: the payload rules of our own detectors (Discord, LINE, OICQ, Agora, Zoom, Mumble,
// Threema, XMPP, SealChat) and the server-name → application table, on one payload.
#include <string_view>
#include <vector>

#include "classify/detect_apps.hpp"
#include "classify/detect_rules.hpp"

using namespace sealscope::classify;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::vector<uint8_t> s(data, data + size);  // exact heap copy: ASan sees over-reads
  const uint8_t* d = s.data();
  const std::size_t n = s.size();
  uint16_t seq = 0;
  uint64_t ident = 0;
  uint8_t channel = 0;
  (void)rules::discord_ip_discovery(d, n);
  (void)rules::discord_keepalive(d, n);
  (void)rules::line_call_header(d, n, seq);
  (void)rules::oicq(d, n);
  (void)rules::agora_sni(d, n);
  (void)rules::zoom_sfu(d, n);
  (void)rules::zoom_media(d, n);
  (void)rules::zoom_p2p_hello(d, n);
  if (rules::mumble_ping_request(d, n, ident)) (void)rules::mumble_ping_answer(d, n, ident);
  (void)rules::mumble_ping_answer(d, n, 0);
  (void)rules::threema_frame(d, n);
  (void)rules::xmpp_start(d, n);
  (void)rules::sealchat_prologue(d, n, channel);
  (void)rules::sealchat_relay(d, n);
  (void)server_name_app(std::string_view(reinterpret_cast<const char*>(d), n));
  return 0;
}
