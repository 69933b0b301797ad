// libFuzzer target: one frame through the link/network/transport decoder (VLAN, PPPoE, MPLS, IPv4/IPv6
// with extension headers and fragments, TCP/UDP/ICMP, and the tunnels: GTP-U, VXLAN, Geneve, GRE, ERSPAN, TZSP,
// CAPWAP, IP-in-IP, with the 802.11 frames the last two may carry), and the packet an ICMP error quotes. Input: link type selector byte, a byte
// saying how much shorter than the wire the capture is, then the frame.
#include <cstring>
#include <vector>

#include "decode/decoder.hpp"
#include "fuzz_input.hpp"

using namespace sealscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const int lt = fuzz::link_type(data[0]);
  const uint32_t extra_wire = data[1];
  // A heap copy of exactly the frame, so ASan sees any read past the captured bytes.
  const std::vector<uint8_t> frame(data + 2, data + size);
  const uint32_t caplen = static_cast<uint32_t>(frame.size());
  decode::AnomalyCounters anomalies;
  for (bool tunnels : {true, false}) {
    decode::DecoderOptions o;
    o.decode_tunnels = tunnels;
    decode::Decoder dec(o);
    decode::Packet p;
    const decode::DecodeResult r = dec.decode(lt, frame.data(), caplen, caplen + extra_wire, p, anomalies);
    if (r != decode::DecodeResult::Ok) continue;
    // Every view the decoder hands out must lie inside the frame: touch each byte.
    volatile uint8_t sink = 0;
    for (uint32_t i = 0; i < p.l3_caplen; ++i) sink = sink ^ p.l3[i];
    for (uint32_t i = 0; i < p.payload_caplen; ++i) sink = sink ^ p.payload[i];
    if (p.l3 != nullptr && (p.l3 < frame.data() || p.l3 + p.l3_caplen > frame.data() + caplen)) __builtin_trap();
    if (p.payload != nullptr &&
        (p.payload < frame.data() || p.payload + p.payload_caplen > frame.data() + caplen)) {
      __builtin_trap();
    }
    if (p.payload_caplen > p.payload_len) __builtin_trap();
    // An ICMP error's quote is read from the payload again (within it: ASan sees the rest).
    decode::Packet q;
    if (decode::quoted_packet(p, q)) {
      if (!decode::is_icmp_error(p.l4_proto, p.icmp_type) || q.ip_version != p.ip_version || q.vlan != p.vlan) {
        __builtin_trap();
      }
      if (q.has_ports != (q.l4_proto == 6 || q.l4_proto == 17)) __builtin_trap();
    }
  }
  return 0;
}
