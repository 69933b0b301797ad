// libFuzzer target: STUN/TURN parsing (RFC 5389 padded and unpadded walks, classic RFC 3489, ChannelData,
// TCP framing plain and RFC 4571) and the STUN attribute → application rules of our detectors.
#include <vector>

#include "classify/detect_apps.hpp"
#include "classify/stun.hpp"

using namespace sealscope::classify;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::vector<uint8_t> s(data, data + size);  // exact heap copy: ASan sees over-reads
  if (auto st = parse_stun(s.data(), s.size())) (void)stun_app(*st);
  if (auto st = parse_stun_prefix(s.data(), s.size())) (void)stun_app(*st);
  (void)parse_turn_channel_data(s.data(), s.size());
  if (auto fr = stun_tcp_frames(s.data(), s.size())) (void)stun_app(fr->first);
  return 0;
}
